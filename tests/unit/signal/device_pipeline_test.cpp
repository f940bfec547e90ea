#include "src/signal/device_pipeline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Geometry>

namespace primus::signal {
namespace {

constexpr std::int64_t kHostStartNs = 5'000'000'000'000;  // arbitrary steady-clock origin

DeviceConfig device(double rate_hz = 100.0) {
  DeviceConfig d;
  d.id = "dev";
  d.rate_hz = rate_hz;
  return d;
}

WindowConfig window(int length = 125, int hop = 10) {
  WindowConfig w;
  w.rate_hz = 50.0;
  w.length = length;
  w.hop = hop;
  return w;
}

// A device sample at index i of a stream at rate_hz; arrival = send time + latency_ns.
Sample at(std::uint32_t i, double rate_hz, std::int64_t latency_ns = 2'000'000) {
  Sample s;
  s.fields = kFieldAcc | kFieldGyro | kFieldSeq | kFieldTDevice;
  s.seq = i;
  s.t_device_us = 1'000'000 + std::llround(i * 1e6 / rate_hz);
  s.t_host_ns = kHostStartNs + std::llround(i * 1e9 / rate_hz) + latency_ns;
  return s;
}

struct Collector {
  std::vector<Window> windows;
  std::function<void(Window&&)> fn() {
    return [this](Window&& w) { windows.push_back(std::move(w)); };
  }
};

void expect_finite(const Window& w) {
  ASSERT_EQ(w.data.size(), static_cast<std::size_t>(kChannels * w.length));
  for (float v : w.data) ASSERT_TRUE(std::isfinite(v));
}

TEST(DevicePipeline, ConvertsUnitsAndAxesAndEmitsWindowsEveryHop) {
  DeviceConfig d = device();
  d.acc_unit = AccUnit::kG;
  d.gyro_unit = GyroUnit::kDegPerSec;
  d.axis_map.perm = {2, 1, 0};
  d.axis_map.sign = {1, -1, 1};
  DevicePipeline p(d, window(), 0);
  Collector c;
  for (std::uint32_t i = 0; i < 600; ++i) {  // 6 s at 100 Hz
    Sample s = at(i, 100.0);
    s.acc = {0.1f, 0.2f, 1.0f};
    s.gyro = {10.0f, 20.0f, 30.0f};
    p.push(s, c.fn());
  }
  ASSERT_GE(c.windows.size(), 10u);
  // 6 s -> ~300 frames; first window after 125, then every 10
  const auto& cnt = p.counters();
  EXPECT_EQ(cnt.samples_in, 600u);
  EXPECT_EQ(cnt.windows_out, c.windows.size());
  EXPECT_EQ(c.windows.size(), (cnt.frames_out - 125) / 10 + 1);
  for (std::size_t k = 0; k < c.windows.size(); ++k) {
    const Window& w = c.windows[k];
    expect_finite(w);
    EXPECT_EQ(w.seq, k);
    EXPECT_EQ(w.length, 125);
    EXPECT_EQ(w.interpolated, 0);
    EXPECT_EQ(w.t_end_host_ns - w.t_start_host_ns, std::int64_t{124} * 20'000'000);
    EXPECT_GE(w.t_ready_ns, w.t_end_host_ns);
    for (int i = 0; i < w.length; ++i) {
      EXPECT_NEAR(w.at(0, i), 1.0 * 9.80665, 1e-4);
      EXPECT_NEAR(w.at(1, i), -0.2 * 9.80665, 1e-4);
      EXPECT_NEAR(w.at(2, i), 0.1 * 9.80665, 1e-4);
      EXPECT_NEAR(w.at(3, i), 30.0 * M_PI / 180, 1e-5);
      EXPECT_NEAR(w.at(4, i), -20.0 * M_PI / 180, 1e-5);
      EXPECT_NEAR(w.at(5, i), 10.0 * M_PI / 180, 1e-5);
    }
    if (k > 0) {
      EXPECT_EQ(w.t_start_host_ns - c.windows[k - 1].t_start_host_ns,
                std::int64_t{10} * 20'000'000);
    }
    // device times map back consistently (device clock = host clock shifted here)
    EXPECT_NEAR(static_cast<double>(w.t_end_device_us - w.t_start_device_us), 124 * 20'000.0, 5.0);
  }
}

TEST(DevicePipeline, GyroFromQuaternionMatchesTheRotationAndAxisMap) {
  DeviceConfig d = device();
  d.gyro_source = GyroSource::kAuto;
  d.quat_order = QuatOrder::kXyzw;
  d.axis_map.perm = {1, 0, 2};  // a reflection: swap x and y
  DevicePipeline p(d, window(), 0);
  Collector c;
  const Eigen::Vector3d w(0.5, -1.5, 0.25);  // device-frame body rate, rad/s
  for (std::uint32_t i = 0; i < 500; ++i) {
    Sample s = at(i, 100.0);
    s.fields = kFieldAcc | kFieldQuat | kFieldSeq | kFieldTDevice;
    const double t = i / 100.0;
    const Eigen::Quaterniond q(Eigen::AngleAxisd(w.norm() * t, w.normalized()));
    s.quat = {static_cast<float>(q.x()), static_cast<float>(q.y()), static_cast<float>(q.z()),
              static_cast<float>(q.w())};
    s.acc = {0, 0, 9.8f};
    p.push(s, c.fn());
  }
  ASSERT_FALSE(c.windows.empty());
  for (const Window& win : c.windows) {
    expect_finite(win);
    for (int i = 0; i < win.length; ++i) {
      EXPECT_NEAR(win.at(3, i), -1.5, 2e-3);
      EXPECT_NEAR(win.at(4, i), 0.5, 2e-3);
      EXPECT_NEAR(win.at(5, i), 0.25, 2e-3);
    }
  }
}

TEST(DevicePipeline, RefusesWindowsShorterThanTheEncoderMinimum) {
  EXPECT_THROW(DevicePipeline(device(), window(122, 10), 0), std::invalid_argument);
  EXPECT_THROW(DevicePipeline(device(), window(250, 0), 0), std::invalid_argument);
  EXPECT_THROW(DevicePipeline(device(), window(250, 251), 0), std::invalid_argument);
  EXPECT_NO_THROW(DevicePipeline(device(), window(123, 123), 0));
}

}  // namespace
}  // namespace primus::signal
