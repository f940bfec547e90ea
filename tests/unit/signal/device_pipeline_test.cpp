#include "src/signal/device_pipeline.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
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

// Checks that hold for every window of any stream: finite, uniform grid, no hole inside.
void expect_sane(const std::vector<Window>& ws) {
  for (const Window& w : ws) {
    expect_finite(w);
    EXPECT_EQ(w.t_end_host_ns - w.t_start_host_ns, std::int64_t{20'000'000} * (w.length - 1));
  }
}

Sample plain(std::uint32_t i, double rate_hz) {
  Sample s = at(i, rate_hz);
  s.acc = {0.0f, 0.0f, 9.81f};
  s.gyro = {0.1f, 0.2f, 0.3f};
  return s;
}

TEST(DevicePipeline, NanAndInfinityAreDroppedAndCounted) {
  DevicePipeline p(device(), window(), 0);
  Collector c;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (std::uint32_t i = 0; i < 1000; ++i) {
    Sample s = plain(i, 100.0);
    if (i % 50 == 7) s.acc[1] = nan;
    if (i % 50 == 9) s.gyro[2] = -inf;
    if (i % 50 == 11) s.acc[0] = 3e38f;  // finite, but overflows once g -> m/s² is applied below
    p.push(s, c.fn());
  }
  EXPECT_EQ(p.counters().nan_dropped, 40u);
  EXPECT_EQ(p.counters().gaps_bridged, 40u);  // each dropped sample leaves a bridged hole
  ASSERT_FALSE(c.windows.empty());
  expect_sane(c.windows);
}

TEST(DevicePipeline, BadQuaternionsAreDroppedCountedAndNeverReachAWindow) {
  DeviceConfig d = device();
  d.gyro_source = GyroSource::kFromQuaternion;
  DevicePipeline p(d, window(), 0);
  Collector c;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::uint32_t i = 0; i < 1000; ++i) {
    Sample s = plain(i, 100.0);
    s.fields = kFieldAcc | kFieldQuat | kFieldSeq | kFieldTDevice;
    const double a = 0.5 * i / 100.0;  // 1 rad/s about x
    s.quat = {static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a)), 0.0f, 0.0f};
    if (i % 100 == 10) s.quat = {0, 0, 0, 0};
    if (i % 100 == 20) s.quat[2] = nan;
    if (i % 100 == 30) s.quat = {-2 * s.quat[0], -2 * s.quat[1], 0, 0};  // sign flip, norm 2
    p.push(s, c.fn());
  }
  EXPECT_EQ(p.counters().bad_quat, 20u);
  EXPECT_EQ(p.counters().quat_renormalised, 10u);
  ASSERT_FALSE(c.windows.empty());
  expect_sane(c.windows);
  for (const Window& w : c.windows) {
    for (int i = 0; i < w.length; ++i) EXPECT_NEAR(w.at(3, i), 1.0, 0.01);
  }
}

TEST(DevicePipeline, DuplicatesLateAndSmallGapsAreCountedAndBridged) {
  DevicePipeline p(device(), window(), 0);
  Collector c;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    if (i >= 500 && i < 505) continue;  // 5 lost: 60 ms hole, bridged
    if (i % 100 == 60) {                // i+1 overtakes i: i arrives late and is dropped
      p.push(plain(i + 1, 100.0), c.fn());
      p.push(plain(i, 100.0), c.fn());
      ++i;
      continue;
    }
    p.push(plain(i, 100.0), c.fn());
    if (i % 100 == 3) p.push(plain(i, 100.0), c.fn());  // duplicate
  }
  const auto& k = p.counters();
  EXPECT_EQ(k.dropped_duplicate, 9u);  // 503 fell into the hole
  EXPECT_EQ(k.out_of_order, 10u);
  // the streaming path cannot go back in time: a late sample is a lost one
  EXPECT_EQ(k.samples_lost, 5u + 10u);
  EXPECT_EQ(k.gaps_bridged, 1u + 10u);
  EXPECT_EQ(k.gaps_reset, 0u);
  expect_sane(c.windows);
  int interpolated = 0;
  for (const Window& w : c.windows) interpolated = std::max(interpolated, w.interpolated);
  EXPECT_GE(interpolated, 2);
  EXPECT_LE(interpolated, 7);  // the 60 ms hole plus the 20 ms holes of late samples
  EXPECT_EQ(c.windows.size(), (k.frames_out - 125) / 10 + 1);  // no restart
}

TEST(DevicePipeline, LargeGapRestartsWindowsSoNoneSpansTheHole) {
  DevicePipeline p(device(), window(), 0);
  Collector c;
  for (std::uint32_t i = 0; i < 1500; ++i) {
    if (i >= 600 && i < 700) continue;  // 1 s hole > max_gap_s = 0.5
    p.push(plain(i, 100.0), c.fn());
  }
  EXPECT_EQ(p.counters().gaps_reset, 1u);
  EXPECT_EQ(p.counters().gaps_bridged, 0u);
  expect_sane(c.windows);
  const std::int64_t hole_start = kHostStartNs + 6'000'000'000;
  const std::int64_t hole_end = kHostStartNs + 7'000'000'000;
  for (const Window& w : c.windows) {
    EXPECT_TRUE(w.t_end_host_ns < hole_start || w.t_start_host_ns > hole_end);
    EXPECT_EQ(w.interpolated, 0);
  }
}

TEST(DevicePipeline, RestartAndClockJumpsRestartWindowsAndAreCounted) {
  DevicePipeline p(device(), window(), 0);
  Collector c;
  std::uint32_t i = 0;
  for (; i < 700; ++i) p.push(plain(i, 100.0), c.fn());
  // device restarts: seq and device time back to zero, host time continues
  for (std::uint32_t j = 0; j < 700; ++j, ++i) {
    Sample s = plain(i, 100.0);
    s.seq = j;
    s.t_device_us = std::llround(j * 1e4);
    p.push(s, c.fn());
  }
  EXPECT_EQ(p.counters().restarts, 1u);
  // device clock leaps 5 hours ahead, sequence continues
  for (std::uint32_t j = 700; j < 1400; ++j, ++i) {
    Sample s = plain(i, 100.0);
    s.seq = j;
    s.t_device_us = std::llround(j * 1e4) + 5LL * 3600 * 1'000'000;
    p.push(s, c.fn());
  }
  EXPECT_EQ(p.counters().clock_jumps, 1u);
  // and then goes back by an hour without a seq reset (time backwards far): a restart
  for (std::uint32_t j = 1400; j < 2100; ++j, ++i) {
    Sample s = plain(i, 100.0);
    s.seq = j;
    s.t_device_us = std::llround(j * 1e4) + 4LL * 3600 * 1'000'000;
    p.push(s, c.fn());
  }
  EXPECT_EQ(p.counters().restarts, 2u);
  expect_sane(c.windows);
  // windows keep coming in every epoch and host times never go back
  EXPECT_GT(c.windows.size(), 4u * ((700 / 2 - 125) / 10));
  for (std::size_t k = 1; k < c.windows.size(); ++k) {
    EXPECT_GT(c.windows[k].t_end_host_ns, c.windows[k - 1].t_end_host_ns);
    EXPECT_EQ(c.windows[k].seq, c.windows[k - 1].seq + 1);
  }
}

TEST(DevicePipeline, RateChangeMidStreamKeepsWindowsCleanAndTracksTheRate) {
  DevicePipeline p(device(100.0), window(), 0);
  Collector c;
  std::int64_t t_dev = 0;
  std::uint32_t seq = 0;
  auto push = [&](double rate) {
    Sample s;
    s.fields = kFieldAcc | kFieldGyro | kFieldSeq | kFieldTDevice;
    s.seq = seq++;
    s.t_device_us = t_dev;
    s.t_host_ns = kHostStartNs + t_dev * 1000 + 3'000'000;
    s.acc = {1, 2, 3};
    s.gyro = {0.5f, 0.5f, 0.5f};
    p.push(s, c.fn());
    t_dev += std::llround(1e6 / rate);
  };
  for (int i = 0; i < 1000; ++i) push(100.0);
  EXPECT_NEAR(p.input_rate_hz(), 100.0, 1.0);
  const std::size_t before = c.windows.size();
  for (int i = 0; i < 300; ++i) push(25.0);  // 12 s at 25 Hz: upsampled now
  EXPECT_NEAR(p.input_rate_hz(), 25.0, 1.0);
  EXPECT_GT(c.windows.size(), before + 50);
  expect_sane(c.windows);
  for (const Window& w : c.windows) {
    for (int i = 0; i < w.length; ++i) EXPECT_NEAR(w.at(1, i), 2.0f, 1e-4);
  }
  EXPECT_GT(c.windows.back().interpolated, 50);  // half the frames fall between 40 ms inputs
  EXPECT_EQ(p.counters().gaps_reset, 0u);
}

TEST(DevicePipeline, DevicesWithoutTimestampsUseSequenceOrArrival) {
  for (bool with_seq : {true, false}) {
    DevicePipeline p(device(), window(), 0);
    Collector c;
    std::mt19937 rng(5);
    std::uniform_int_distribution<std::int64_t> jitter(0, 8'000'000);
    for (std::uint32_t i = 0; i < 1200; ++i) {
      Sample s = plain(i, 100.0);
      s.fields = kFieldAcc | kFieldGyro | (with_seq ? kFieldSeq : 0);
      s.t_host_ns = kHostStartNs + std::int64_t{i} * 10'000'000 + jitter(rng);
      p.push(s, c.fn());
    }
    EXPECT_GT(c.windows.size(), 40u) << with_seq;
    expect_sane(c.windows);
    EXPECT_NEAR(p.input_rate_hz(), 100.0, 3.0) << with_seq;
    EXPECT_EQ(p.counters().gaps_reset, 0u);
  }
}

TEST(DevicePipeline, ResetForgetsStateAndCounters) {
  DevicePipeline p(device(), window(), 0);
  Collector c;
  for (std::uint32_t i = 0; i < 400; ++i) p.push(plain(i, 100.0), c.fn());
  EXPECT_GT(p.counters().windows_out, 0u);
  p.reset();
  EXPECT_EQ(p.counters().samples_in, 0u);
  EXPECT_EQ(p.counters().windows_out, 0u);
  c.windows.clear();
  // the same device reconnects with its clock and sequence from zero: no restart counted
  for (std::uint32_t i = 0; i < 400; ++i) p.push(plain(i, 100.0), c.fn());
  EXPECT_EQ(p.counters().restarts, 0u);
  EXPECT_EQ(p.counters().clock_jumps, 0u);
  EXPECT_FALSE(c.windows.empty());
  expect_sane(c.windows);
}

}  // namespace
}  // namespace primus::signal
