#include "src/signal/windower.h"

#include <gtest/gtest.h>

#include <vector>

namespace primus::signal {
namespace {

ModelFrame frame(std::int64_t k) {
  ModelFrame f;
  for (std::size_t c = 0; c < 6; ++c)
    f.v[c] = static_cast<float>(k * 10 + static_cast<std::int64_t>(c));
  f.t_host_ns = 1'000'000'000 + k * 20'000'000;
  f.t_device_us = 5'000 + k * 20'000;
  f.flags = (k % 7 == 0) ? kFrameInterpolated : 0u;
  return f;
}

TEST(Windower, WindowsHoldTheNewestFramesChannelMajorAcrossManyWraps) {
  WindowConfig cfg;
  cfg.length = 123;
  cfg.hop = 7;
  Windower w(cfg, 3);
  std::vector<Window> out;
  for (std::int64_t k = 0; k < 1000; ++k) {
    Window win;
    if (w.push(frame(k), 42 + k, win)) {
      ASSERT_EQ(k >= 122 && (k - 122) % 7 == 0, true) << k;
      out.push_back(std::move(win));
    }
  }
  ASSERT_EQ(out.size(), (1000 - 123) / 7 + 1);
  for (std::size_t n = 0; n < out.size(); ++n) {
    const Window& win = out[n];
    const std::int64_t last = 122 + static_cast<std::int64_t>(n) * 7;
    const std::int64_t first = last - 122;
    EXPECT_EQ(win.device, 3u);
    EXPECT_EQ(win.seq, n);
    EXPECT_EQ(win.t_start_host_ns, frame(first).t_host_ns);
    EXPECT_EQ(win.t_end_host_ns, frame(last).t_host_ns);
    EXPECT_EQ(win.t_start_device_us, frame(first).t_device_us);
    EXPECT_EQ(win.t_end_device_us, frame(last).t_device_us);
    EXPECT_EQ(win.t_ready_ns, 42 + last);
    int flagged = 0;
    for (std::int64_t k = first; k <= last; ++k) flagged += k % 7 == 0 ? 1 : 0;
    EXPECT_EQ(win.interpolated, flagged);
    for (int c = 0; c < 6; ++c) {
      for (int i = 0; i < 123; ++i) {
        ASSERT_EQ(win.at(c, i), static_cast<float>((first + i) * 10 + c))
            << n << " " << c << " " << i;
      }
    }
  }
}

TEST(Windower, ResetNeedsAFullWindowAgainAndKeepsTheSequence) {
  WindowConfig cfg;
  cfg.length = 130;
  cfg.hop = 10;
  Windower w(cfg, 0);
  Window win;
  int emitted = 0;
  for (std::int64_t k = 0; k < 130; ++k) emitted += w.push(frame(k), 0, win) ? 1 : 0;
  EXPECT_EQ(emitted, 1);
  w.reset();
  for (std::int64_t k = 0; k < 129; ++k) ASSERT_FALSE(w.push(frame(1000 + k), 0, win));
  ASSERT_TRUE(w.push(frame(2000), 0, win));
  EXPECT_EQ(win.seq, 1u);
  EXPECT_EQ(win.t_start_host_ns, frame(1000).t_host_ns);
}

TEST(Windower, RefusesBadConfigs) {
  WindowConfig cfg;
  cfg.length = 122;
  EXPECT_THROW(Windower(cfg, 0), std::invalid_argument);
  cfg.length = 250;
  cfg.hop = 0;
  EXPECT_THROW(Windower(cfg, 0), std::invalid_argument);
  cfg.hop = 10;
  cfg.rate_hz = 0;
  EXPECT_THROW(Windower(cfg, 0), std::invalid_argument);
}

}  // namespace
}  // namespace primus::signal
