// Sample timing for devices without a clock (SampleClock, and DevicePipeline with timing =
// auto/counter/arrival): constructed arrival sequences with known true sample times, and the
// phone recording's quaternions delivered in 16 ms chunks. The figures are printed ("[ timing ]")
// so that docs/signal.md can quote them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "src/core/sample_clock.h"
#include "src/signal/device_pipeline.h"
#include "tests/unit/signal/timing_scenarios.h"

namespace primus::signal {
namespace {

using test::Delivery;
using test::ErrorStats;
using test::TimedSample;
using test::TimingScenario;

constexpr std::int64_t kHostStartNs = 7'000'000'000'000;

std::int64_t to_ns(double s) { return kHostStartNs + std::llround(s * 1e9); }

TimingScenario sc(std::string name, Delivery d, double chunk_s) {
  TimingScenario s;
  s.name = std::move(name);
  s.delivery = d;
  s.chunk_s = chunk_s;
  return s;
}

std::vector<TimingScenario> scenarios() {
  std::vector<TimingScenario> v;
  v.push_back(sc("smooth", Delivery::kSmooth, 0.0));
  v.push_back(sc("chunks 16 ms", Delivery::kChunk, 0.016));
  v.push_back(sc("chunks 50 ms", Delivery::kChunk, 0.050));
  v.push_back(sc("random chunks 1-32 ms", Delivery::kRandomChunk, 0.016));
  {
    auto s = sc("stall 300 ms (16 ms chunks)", Delivery::kChunk, 0.016);
    s.stall_at_s = 10.0;
    s.stall_s = 0.3;
    s.expect_stall = true;
    v.push_back(s);
  }
  {
    auto s = sc("lost chunk (16 ms chunks)", Delivery::kChunk, 0.016);
    s.loss_at_s = 10.0;
    s.expect_gap = true;
    v.push_back(s);
  }
  {
    auto s = sc("lost chunk (50 ms chunks)", Delivery::kChunk, 0.050);
    s.loss_at_s = 10.0;
    s.expect_gap = true;
    v.push_back(s);
  }
  {
    auto s = sc("lost 200 ms (16 ms chunks)", Delivery::kChunk, 0.016);
    s.loss_at_s = 10.0;
    s.loss_chunks = 12;
    s.expect_gap = true;
    v.push_back(s);
  }
  {
    auto s = sc("rate +2 % of rate_hz (16 ms)", Delivery::kChunk, 0.016);
    s.rate_hz = 102.0;
    v.push_back(s);
  }
  {
    auto s = sc("rate 2x rate_hz (16 ms)", Delivery::kChunk, 0.016);
    s.rate_hz = 200.0;
    v.push_back(s);
  }
  {
    auto s = sc("rate 0.5x rate_hz (16 ms)", Delivery::kChunk, 0.016);
    s.rate_hz = 50.0;
    v.push_back(s);
  }
  {
    auto s = sc("rate 100 -> 200 Hz at 10 s (16 ms)", Delivery::kChunk, 0.016);
    s.rate_change_at_s = 10.0;
    s.rate_after_hz = 200.0;
    v.push_back(s);
  }
  {
    auto s = sc("rate 100 -> 50 Hz at 10 s (16 ms)", Delivery::kChunk, 0.016);
    s.rate_change_at_s = 10.0;
    s.rate_after_hz = 50.0;
    v.push_back(s);
  }
  for (double ci : {0.0075, 0.015, 0.030, 0.050}) {
    auto s =
        sc("BLE interval " + std::to_string(ci * 1e3).substr(0, 4) + " ms", Delivery::kBle, ci);
    s.ble_per_event = std::max(2, static_cast<int>(std::ceil(ci * 100.0)) + 1);
    v.push_back(s);
  }
  return v;
}

/// The least latency in force at true time t: the lower envelope of the arrivals, per segment of
/// constant rate (a new rate gives the chunks another phase, so another least latency).
struct Envelope {
  double before = 0.0, after = 0.0, change_s = -1.0;
  explicit Envelope(const TimingScenario& s, const std::vector<TimedSample>& v)
      : change_s(s.rate_change_at_s) {
    before = after = 1e9;
    for (const auto& x : v)
      (change_s >= 0 && x.t_true_s >= change_s ? after : before) = std::min(
          change_s >= 0 && x.t_true_s >= change_s ? after : before, x.t_arrival_s - x.t_true_s);
  }
  [[nodiscard]] double at(double t) const {
    return change_s >= 0 && t >= change_s ? after : before;
  }
};

/// Samples whose errors are judged: after 2 s of convergence, and not within 3 s after a rate
/// change or 0.5 s after a stall or loss (those are reported separately).
bool steady(const TimingScenario& s, double t) {
  if (t < 2.0) return false;
  if (s.rate_change_at_s >= 0 && t >= s.rate_change_at_s && t < s.rate_change_at_s + 3.0)
    return false;
  if (s.stall_at_s >= 0 && t >= s.stall_at_s - 0.1 && t < s.stall_at_s + s.stall_s + 0.5)
    return false;
  if (s.loss_at_s >= 0 && t >= s.loss_at_s - 0.1 &&
      t < s.loss_at_s + s.loss_chunks * s.chunk_s + 0.5)
    return false;
  return true;
}

struct Figures {
  ErrorStats steady{}, all{};  // all: after the first 2 s
  std::uint64_t in = 0, dropped = 0, gaps = 0, stalls = 0, resyncs = 0, lost = 0, rate_changes = 0;
  double rate_hz = 0.0;
};

void print(const char* what, const TimingScenario& s, const Figures& f) {
  std::printf(
      "[ timing ] %-9s %-36s err RMS %6.3f max %7.3f ms (incl. events: max %7.2f) | in %5llu "
      "dropped %4llu gaps %llu stalls %llu resyncs %llu lost %llu rate changes %llu | rate %.3f "
      "Hz\n",
      what, s.name.c_str(), f.steady.rms_ms, f.steady.max_ms, f.all.max_ms,
      static_cast<unsigned long long>(f.in), static_cast<unsigned long long>(f.dropped),
      static_cast<unsigned long long>(f.gaps), static_cast<unsigned long long>(f.stalls),
      static_cast<unsigned long long>(f.resyncs), static_cast<unsigned long long>(f.lost),
      static_cast<unsigned long long>(f.rate_changes), f.rate_hz);
}

Figures run_sample_clock(const TimingScenario& s, bool with_seq) {
  const auto arr = test::make_arrivals(s);
  const Envelope lat(s, arr);
  SampleClockConfig cfg;
  cfg.nominal_rate_hz = s.prior_hz;
  cfg.resync_on_lag = !with_seq;
  SampleClock clock(cfg);
  Figures f;
  std::int64_t counter = 0;
  std::int64_t prev = 0;
  for (const TimedSample& a : arr) {
    const std::int64_t k = with_seq ? a.index : counter++;
    const SampleTime st = clock.observe(k, to_ns(a.t_arrival_s));
    if (f.in > 0) {
      EXPECT_GT(st.t_ns, prev) << s.name;
    }
    if (steady(s, a.t_true_s)) {  // the first samples of a chunk share its arrival
      EXPECT_LE(st.t_ns, to_ns(a.t_arrival_s)) << s.name;
    }
    prev = st.t_ns;
    ++f.in;
    const double err = static_cast<double>(st.t_ns - to_ns(a.t_true_s + lat.at(a.t_true_s))) * 1e-9;
    if (a.t_true_s >= 2.0) f.all.add(err);
    if (steady(s, a.t_true_s)) f.steady.add(err);
  }
  f.steady.finish();
  f.all.finish();
  f.stalls = clock.stalls();
  f.resyncs = clock.resyncs();
  f.lost = clock.lost();
  f.rate_changes = clock.rate_changes();
  f.rate_hz = clock.rate_hz();
  return f;
}

DeviceConfig device(double rate_hz, TimingMode timing) {
  DeviceConfig d;
  d.id = "dev";
  d.rate_hz = rate_hz;
  d.timing = timing;
  return d;
}

WindowConfig window() {
  WindowConfig w;
  w.rate_hz = 50.0;
  w.length = 125;
  w.hop = 25;
  return w;
}

Figures run_pipeline(const TimingScenario& s, TimingMode timing, bool with_seq) {
  const auto arr = test::make_arrivals(s);
  const Envelope lat(s, arr);
  DevicePipeline p(device(s.prior_hz, timing), window(), 0);
  Figures f;
  std::uint64_t used = 0;
  for (const TimedSample& a : arr) {
    Sample smp;
    smp.fields = kFieldAcc | kFieldGyro | (with_seq ? kFieldSeq : 0);
    smp.seq = a.index;
    smp.t_host_ns = to_ns(a.t_arrival_s);
    smp.acc = {0.0f, 0.0f, 9.8f};
    smp.gyro = {0.1f, 0.2f, 0.3f};
    p.push(smp, [](Window&&) {});
    if (p.counters().samples_used == used) continue;  // dropped
    used = p.counters().samples_used;
    const double err =
        static_cast<double>(p.last_sample_ns() - to_ns(a.t_true_s + lat.at(a.t_true_s))) * 1e-9;
    if (a.t_true_s >= 2.0) f.all.add(err);
    if (steady(s, a.t_true_s)) f.steady.add(err);
  }
  f.steady.finish();
  f.all.finish();
  const auto& c = p.counters();
  f.in = c.samples_in;
  f.dropped = c.samples_in - c.samples_used;
  f.gaps = c.gaps_bridged + c.gaps_reset;
  f.stalls = c.timing_stalls;
  f.resyncs = c.timing_resyncs;
  f.lost = c.samples_lost;
  f.rate_changes = p.sample_clock().rate_changes();
  f.rate_hz = p.sample_clock().rate_hz();
  return f;
}

TEST(SampleClock, PlacesChunkedSamplesOnTheLowerEnvelopeAtTheEstimatedRate) {
  for (const auto& s : scenarios()) {
    const Figures f = run_sample_clock(s, false);
    print("clock", s, f);
    EXPECT_LT(f.steady.rms_ms, 1.0) << s.name;
    EXPECT_LT(f.steady.max_ms, 3.0) << s.name;
    const double want_hz = s.rate_change_at_s >= 0 ? s.rate_after_hz : s.rate_hz;
    EXPECT_NEAR(f.rate_hz, want_hz, want_hz * 2e-3) << s.name;
    EXPECT_EQ(f.resyncs > 0, s.expect_gap) << s.name;
    if (s.expect_stall) {
      EXPECT_GE(f.stalls, 1u) << s.name;
    }
    if (!s.expect_stall && s.delivery != Delivery::kBle) {  // BLE: missed events hold samples
      EXPECT_EQ(f.stalls, 0u) << s.name;
    }
  }
}

TEST(SampleClock, FindsHowManySamplesALostChunkHeld) {
  for (const auto& s : scenarios()) {
    if (!s.expect_gap) continue;
    const auto arr = test::make_arrivals(s);
    const std::uint64_t truly_lost = arr.back().index + 1 - arr.size();
    const Figures f = run_sample_clock(s, false);
    EXPECT_EQ(f.lost, truly_lost) << s.name;
  }
}

TEST(SampleClock, SequenceNumbersAtTheEstimatedPeriod) {
  for (const auto& s : scenarios()) {
    const Figures f = run_sample_clock(s, true);
    print("seq", s, f);
    EXPECT_LT(f.steady.rms_ms, 1.0) << s.name;
    EXPECT_LT(f.steady.max_ms, 3.0) << s.name;
    EXPECT_EQ(f.resyncs, 0u) << s.name;  // sequence numbers tell losses themselves
  }
}

TEST(SampleClock, RestartKeepsThePeriodAndResetForgetsIt) {
  SampleClockConfig cfg;
  cfg.nominal_rate_hz = 100.0;
  SampleClock c(cfg);
  for (int k = 0; k < 500; ++k) c.observe(k, to_ns(k / 125.0));
  EXPECT_NEAR(c.rate_hz(), 125.0, 0.01);
  c.restart();
  EXPECT_EQ(c.observe(0, to_ns(100.0)).t_ns, to_ns(100.0));
  EXPECT_NEAR(c.rate_hz(), 125.0, 0.01);
  c.reset();
  EXPECT_DOUBLE_EQ(c.rate_hz(), 100.0);
}

TEST(DevicePipeline, SamplesWithoutAClockKeepTheirSpacingInChunks) {
  for (const auto& s : scenarios()) {
    const Figures f = run_pipeline(s, TimingMode::kAuto, false);
    print("pipeline", s, f);
    EXPECT_LT(f.steady.rms_ms, 1.0) << s.name;
    EXPECT_LT(f.steady.max_ms, 3.0) << s.name;
    EXPECT_EQ(f.dropped, 0u) << s.name;
    EXPECT_EQ(f.gaps > 0, s.expect_gap) << s.name;
    EXPECT_EQ(f.resyncs > 0, s.expect_gap) << s.name;
    if (s.expect_stall) {
      EXPECT_GE(f.stalls, 1u) << s.name;
    }
  }
}

TEST(DevicePipeline, SequenceOnlySamplesAtTheEstimatedPeriod) {
  for (const auto& s : scenarios()) {
    const Figures f = run_pipeline(s, TimingMode::kAuto, true);
    print("pipe+seq", s, f);
    EXPECT_LT(f.steady.rms_ms, 1.0) << s.name;
    EXPECT_LT(f.steady.max_ms, 3.0) << s.name;
    EXPECT_EQ(f.dropped, 0u) << s.name;
    EXPECT_EQ(f.gaps > 0, s.expect_gap) << s.name;
    EXPECT_EQ(f.resyncs, 0u) << s.name;
    if (s.expect_gap) {
      EXPECT_GT(f.lost, 0u) << s.name;
    }
  }
}

TEST(DevicePipeline, ArrivalTimingDropsChunkedSamplesAsBefore) {
  // timing = "arrival" is the old behaviour, kept for comparison: samples of a chunk collide.
  for (const auto& s : scenarios()) {
    if (s.delivery == Delivery::kSmooth || s.name.find("rate") != std::string::npos) continue;
    const Figures f = run_pipeline(s, TimingMode::kArrival, false);
    print("arrival", s, f);
    if (s.delivery == Delivery::kBle) {  // notifications come apart: jitter, not collisions
      EXPECT_GT(f.steady.max_ms, 5.0) << s.name;
    } else {
      EXPECT_GT(f.dropped, f.in / 10) << s.name;
    }
  }
}

TEST(DevicePipeline, DeviceTimingDropsSamplesWithoutADeviceClock) {
  DevicePipeline p(device(100.0, TimingMode::kDevice), window(), 0);
  for (int i = 0; i < 100; ++i) {
    Sample s;
    s.fields = kFieldAcc | kFieldGyro;
    s.t_host_ns = to_ns(i * 0.01);
    p.push(s, [](Window&&) {});
  }
  EXPECT_EQ(p.counters().missing_fields, 100u);
  EXPECT_EQ(p.counters().samples_used, 0u);
}

TEST(DevicePipeline, CounterTimingIgnoresTheDeviceClock) {
  // A device clock that runs 10 % fast: counter timing follows the arrivals instead.
  DevicePipeline p(device(100.0, TimingMode::kCounter), window(), 0);
  for (int i = 0; i < 1000; ++i) {
    Sample s;
    s.fields = kFieldAcc | kFieldGyro | kFieldTDevice;
    s.t_device_us = std::llround(i * 1.1e4);
    s.t_host_ns = to_ns(i * 0.01 + 0.001);
    p.push(s, [](Window&&) {});
  }
  EXPECT_NEAR(p.sample_clock().rate_hz(), 100.0, 0.1);
  EXPECT_NEAR(static_cast<double>(p.last_sample_ns() - to_ns(9.991)) * 1e-6, 0.0, 0.5);
}

// ---- quaternion-derived angular velocity from the phone recording, delivered in chunks ----

struct Row {
  double t;
  std::array<float, 4> q;
  std::array<float, 3> gyro;
};

std::vector<Row> load_phone() {
  std::vector<Row> rows;
  std::ifstream in(std::string(PRIMUS_SHARED_DATA_DIR) + "/iphone-sensorlogger/merged_100hz.csv");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::string cell;
    std::istringstream ss(line);
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (f.size() < 9) continue;
    rows.push_back({std::stod(f[1]),
                    {std::stof(f[2]), std::stof(f[3]), std::stof(f[4]), std::stof(f[5])},
                    {std::stof(f[6]), std::stof(f[7]), std::stof(f[8])}});
  }
  return rows;
}

struct RateScore {
  double r = 0.0;
  double p995 = 0.0;  // 99.5th percentile of the 3-axis error norm, rad/s
  std::uint64_t dropped = 0;
};

/// Delivers the rows (no time, no sequence number) at the given arrivals, and compares the
/// pipeline's angular velocity, frame by frame, with the recorded gyro at the same true time.
RateScore score(const std::vector<Row>& rows, const std::vector<double>& arrival_s, GyroSource src,
                TimingMode timing) {
  DeviceConfig d = device(100.0, timing);
  d.gyro_source = src;
  WindowConfig w = window();
  w.hop = w.length;
  DevicePipeline p(d, w, 0);
  std::vector<Window> out;
  double lat = 1e9;
  for (std::size_t i = 0; i < rows.size(); ++i) lat = std::min(lat, arrival_s[i] - rows[i].t);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    Sample s;
    s.fields = kFieldAcc | kFieldQuat | kFieldGyro;
    s.t_host_ns = to_ns(arrival_s[i]);
    s.quat = rows[i].q;
    s.gyro = rows[i].gyro;
    s.acc = {0.0f, 0.0f, 9.8f};
    p.push(s, [&](Window&& win) { out.push_back(std::move(win)); });
  }
  // truth: the recorded gyro, linear between rows, at frame time − the least latency
  std::vector<double> a, b, err;
  for (const Window& win : out) {
    for (int i = 0; i < win.length; ++i) {
      const double t_host =
          static_cast<double>(win.t_start_host_ns - kHostStartNs) * 1e-9 + i * (1.0 / w.rate_hz);
      const double t = t_host - lat;
      if (t < 2.0 || t > rows.back().t - 0.1) continue;
      const auto it = std::lower_bound(rows.begin(), rows.end(), t,
                                       [](const Row& r, double x) { return r.t < x; });
      if (it == rows.begin() || it == rows.end()) continue;
      const Row& r1 = *it;
      const Row& r0 = *(it - 1);
      const double u = (t - r0.t) / (r1.t - r0.t);
      double e2 = 0.0;
      for (int c = 0; c < 3; ++c) {
        const double truth = r0.gyro[c] + u * (r1.gyro[c] - r0.gyro[c]);
        const double got = win.at(3 + c, i);
        a.push_back(truth);
        b.push_back(got);
        e2 += (got - truth) * (got - truth);
      }
      err.push_back(std::sqrt(e2));
    }
  }
  RateScore sc;
  const double n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  sc.r = sab / std::sqrt(saa * sbb);
  std::sort(err.begin(), err.end());
  sc.p995 = err.empty() ? 0.0 : err[static_cast<std::size_t>(0.995 * (err.size() - 1))];
  sc.dropped = p.counters().samples_in - p.counters().samples_used;
  return sc;
}

TEST(RealData, QuaternionRateUnderSixteenMillisecondChunksMatchesSmoothDelivery) {
  const auto rows = load_phone();
  ASSERT_GT(rows.size(), 2000u);
  std::vector<double> smooth(rows.size()), chunked(rows.size());
  std::mt19937 rng(3);
  std::exponential_distribution<double> jit(1.0 / 0.3e-3);
  double flush = 0.0101;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    smooth[i] = rows[i].t + 1e-3 + jit(rng);
    while (flush < rows[i].t + 1e-4) flush += 0.016;
    chunked[i] = flush + 0.5e-3;
  }
  struct Case {
    const char* name;
    const std::vector<double>* arr;
    GyroSource src;
    TimingMode timing;
  };
  const Case cases[] = {
      {"smooth, arrival times (old)", &smooth, GyroSource::kFromQuaternion, TimingMode::kArrival},
      {"smooth, sample clock", &smooth, GyroSource::kFromQuaternion, TimingMode::kAuto},
      {"16 ms chunks, arrival times (old)", &chunked, GyroSource::kFromQuaternion,
       TimingMode::kArrival},
      {"16 ms chunks, sample clock", &chunked, GyroSource::kFromQuaternion, TimingMode::kAuto},
      {"16 ms chunks, measured gyro, sample clock", &chunked, GyroSource::kMeasured,
       TimingMode::kAuto},
      {"smooth, measured gyro, sample clock", &smooth, GyroSource::kMeasured, TimingMode::kAuto},
  };
  for (const Case& c : cases) {
    const RateScore s = score(rows, *c.arr, c.src, c.timing);
    std::printf("[ timing ] phone 100 Hz -> 50 Hz, %-42s r %.5f  p99.5 %.3f rad/s  dropped %llu\n",
                c.name, s.r, s.p995, static_cast<unsigned long long>(s.dropped));
    if (c.timing == TimingMode::kAuto) {
      EXPECT_LE(s.dropped, 1u) << c.name;  // the quaternion path holds the last one back
      if (c.src == GyroSource::kMeasured) {
        EXPECT_GE(s.r, 0.9995) << c.name;
      } else {
        EXPECT_GE(s.r, 0.99) << c.name;
        EXPECT_LE(s.p995, 2.0) << c.name;
      }
    }
  }
}

}  // namespace
}  // namespace primus::signal
