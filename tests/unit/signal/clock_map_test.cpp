#include "src/core/clock_map.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace primus {
namespace {

constexpr std::int64_t kHost0 = 123'456'789'000'000;  // host ns at device time 0

// A device at 100 Hz whose clock runs (1 − drift) fast relative to the host; packets arrive after
// a latency of base + exponential jitter, and in bursts of `burst` packets (BLE connection events).
struct Device {
  double drift_ppm = 0.0;
  double base_latency_s = 0.004;
  double jitter_mean_s = 0.003;
  int burst = 1;
  std::mt19937 rng{11};

  // true host send time of device sample i
  std::int64_t send_ns(std::int64_t i) const {
    return kHost0 + std::llround(static_cast<double>(i) * 1e7 * (1.0 + drift_ppm * 1e-6));
  }
  std::int64_t dev_us(std::int64_t i) const { return i * 10'000; }
  std::int64_t arrive_ns(std::int64_t i) {
    std::exponential_distribution<double> e(1.0 / jitter_mean_s);
    // a burst leaves with its last packet
    const std::int64_t last = (i / burst) * burst + burst - 1;
    return send_ns(last) + std::llround((base_latency_s + e(rng)) * 1e9);
  }
};

TEST(ClockMap, EstimatesDriftAndLatencyFreeOffsetUnderJitterAndBursts) {
  for (double drift : {-300.0, 0.0, 150.0, 1000.0}) {
    for (int burst : {1, 4}) {
      Device d;
      d.drift_ppm = drift;
      d.burst = burst;
      ClockMap m;
      std::int64_t prev = 0;
      double max_err_ms = 0;
      for (std::int64_t i = 0; i < 6000; ++i) {  // 60 s
        const auto ev = m.observe(d.dev_us(i), d.arrive_ns(i));
        ASSERT_TRUE(ev == ClockEvent::kOk || (i == 0 && ev == ClockEvent::kAnchored));
        if (i > 0) {
          ASSERT_GT(m.mapped_ns(), prev) << "mapped time must increase";
        }
        prev = m.mapped_ns();
        if (i > 3000) {
          // mapped = send time + the least latency (base) + a little; burst wait is removed
          const double err_ms =
              static_cast<double>(m.mapped_ns() - d.send_ns(i)) * 1e-6 - d.base_latency_s * 1e3;
          max_err_ms = std::max(max_err_ms, std::abs(err_ms));
        }
      }
      EXPECT_NEAR(m.drift_ppm(), drift, 20.0) << "drift " << drift << " burst " << burst;
      EXPECT_LT(max_err_ms, 1.5) << "drift " << drift << " burst " << burst;
      EXPECT_NEAR(m.rate_hz(), 100.0 / (1.0 + drift * 1e-6), 0.5);
    }
  }
}

TEST(ClockMap, StartupLatencySpikeIsSlewedAwayWithoutBreakingMonotonicity) {
  Device d;
  ClockMap m;
  m.observe(d.dev_us(0), d.send_ns(0) + 300'000'000);  // first packet 300 ms late
  std::int64_t prev = m.mapped_ns();
  for (std::int64_t i = 1; i < 3000; ++i) {
    m.observe(d.dev_us(i), d.arrive_ns(i));
    ASSERT_GT(m.mapped_ns(), prev);
    prev = m.mapped_ns();
  }
  EXPECT_NEAR(static_cast<double>(m.mapped_ns() - d.send_ns(2999)) * 1e-6, 4.0, 1.5);
}

TEST(ClockMap, ForwardJumpOfHoursIsDetectedAndReanchored) {
  Device d;
  ClockMap m;
  for (std::int64_t i = 0; i < 500; ++i) m.observe(d.dev_us(i), d.arrive_ns(i));
  const std::int64_t hours = 3LL * 3600 * 1'000'000;
  const std::int64_t arrival = d.arrive_ns(500);
  EXPECT_EQ(m.observe(d.dev_us(500) + hours, arrival), ClockEvent::kJumpForward);
  EXPECT_EQ(m.mapped_ns(), arrival);  // re-anchored on this sample
  for (std::int64_t i = 501; i < 1500; ++i) {
    EXPECT_EQ(m.observe(d.dev_us(i) + hours, d.arrive_ns(i)), ClockEvent::kOk);
  }
  EXPECT_NEAR(static_cast<double>(m.mapped_ns() - d.send_ns(1499)) * 1e-6, 4.0, 1.5);
  EXPECT_NEAR(m.offset_s(), (kHost0 * 1e-9) - hours * 1e-6, 0.01);
}

TEST(ClockMap, BackwardsTimeIsReportedAndChangesNothing) {
  Device d;
  ClockMap m;
  for (std::int64_t i = 0; i < 200; ++i) m.observe(d.dev_us(i), d.arrive_ns(i));
  const std::int64_t mapped = m.mapped_ns();
  EXPECT_EQ(m.observe(d.dev_us(199), d.arrive_ns(200)), ClockEvent::kBackwards);
  EXPECT_EQ(m.observe(d.dev_us(10), d.arrive_ns(200)), ClockEvent::kBackwards);
  EXPECT_EQ(m.mapped_ns(), mapped);
  EXPECT_EQ(m.observe(d.dev_us(200), d.arrive_ns(200)), ClockEvent::kOk);
}

TEST(ClockMap, ClockThatStallsIsReanchoredAfterPersistentLateness) {
  ClockMap m;
  std::int64_t host = kHost0;
  std::int64_t dev = 0;
  for (int i = 0; i < 1000; ++i) {
    m.observe(dev, host);
    dev += 10'000;
    host += 10'000'000;
  }
  // the device clock now advances at a tenth of the speed: arrivals fall behind the model
  ClockEvent ev = ClockEvent::kOk;
  int n = 0;
  while (ev == ClockEvent::kOk && n < 10000) {
    dev += 1'000;
    host += 10'000'000;
    ev = m.observe(dev, host);
    ++n;
  }
  EXPECT_EQ(ev, ClockEvent::kJumpLate);
  // late_tolerance 1 s is reached after ~111 samples, then 2 device seconds (2000 samples) pass
  EXPECT_GT(n, 1500);
  EXPECT_LT(n, 2500);
}

TEST(ClockMap, ToDeviceInvertsTheMapping) {
  Device d;
  d.drift_ppm = 500;
  ClockMap m;
  for (std::int64_t i = 0; i < 4000; ++i) m.observe(d.dev_us(i), d.arrive_ns(i));
  const std::int64_t back = m.to_device_us(m.mapped_ns() - 2'000'000'000);
  // 2 s of host time are 2 s / (1 + 500 ppm) of device time
  EXPECT_NEAR(static_cast<double>(back), static_cast<double>(d.dev_us(3999)) - 2e6 / 1.0005, 25.0);
}

}  // namespace
}  // namespace primus
