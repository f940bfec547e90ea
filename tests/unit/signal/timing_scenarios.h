#pragma once
// Arrival sequences of a device without a clock, with the true sample times known: how a
// USB-serial bridge (latency timer), a BLE link (connection intervals, several notifications per
// event) or a plain socket deliver samples, with stalls, lost chunks and rate errors. Shared by the
// unit tests (SampleClock, DevicePipeline) and the pty integration test. std only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace primus::test {

enum class Delivery {
  kSmooth,       ///< each sample alone, 1 ms + exponential jitter (mean 0.3 ms)
  kChunk,        ///< a bridge flushing every chunk_s (±0.2 ms), e.g. the FTDI latency timer
  kRandomChunk,  ///< flush intervals uniform in [1 ms, 2·chunk_s]
  kBle,          ///< connection events every chunk_s, up to ble_per_event notifications each,
                 ///< 0.3 ms apart, 3 % of events missed (their samples wait for the next)
};

struct TimingScenario {
  std::string name;
  Delivery delivery = Delivery::kSmooth;
  double chunk_s = 0.016;
  int ble_per_event = 6;
  double rate_hz = 100.0;          ///< the device's true rate
  double prior_hz = 100.0;         ///< the configured rate_hz
  double rate_change_at_s = -1.0;  ///< the device switches to rate_after_hz here
  double rate_after_hz = 0.0;
  double stall_at_s = -1.0;  ///< arrivals in [at, at + stall_s) held, then delivered at once
  double stall_s = 0.0;
  double loss_at_s = -1.0;  ///< the first chunk flushed at or after this is never delivered
  int loss_chunks = 1;      ///< ... and this many chunks in all
  double duration_s = 30.0;
  std::uint32_t seed = 1;
  // expectations
  bool expect_gap = false;    ///< a gap (lost samples) must be detected
  bool expect_stall = false;  ///< a stall must be counted
};

struct TimedSample {
  double t_true_s = 0.0;     ///< when the device took it (s from the start)
  double t_arrival_s = 0.0;  ///< when the host got it
  std::uint32_t index = 0;   ///< number the device gave it (0, 1, ...), lost ones included
};

/// The delivered samples, in order (lost ones absent).
inline std::vector<TimedSample> make_arrivals(const TimingScenario& sc) {
  std::mt19937 rng(sc.seed);
  std::exponential_distribution<double> jit(1.0 / 0.3e-3);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  // true sample times (with a 40 ppm crystal error)
  std::vector<double> t;
  double rate = sc.rate_hz * (1.0 + 40e-6);
  for (double x = 0.0023; x < sc.duration_s;) {
    t.push_back(x);
    if (sc.rate_change_at_s >= 0 && x >= sc.rate_change_at_s) rate = sc.rate_after_hz;
    x += 1.0 / rate;
  }
  std::vector<TimedSample> out;
  out.reserve(t.size());
  const double ready = 0.1e-3;  // bytes on the wire before the bridge can hand them over
  if (sc.delivery == Delivery::kSmooth) {
    for (std::size_t i = 0; i < t.size(); ++i)
      out.push_back({t[i], t[i] + 1e-3 + jit(rng), static_cast<std::uint32_t>(i)});
  } else {
    const double phase = uni(rng) * sc.chunk_s;  // of the bridge's timer / the connection events
    double flush = phase;
    std::size_t i = 0;
    std::size_t j = 0;
    bool losing = false;
    int lost_chunks = 0;
    while (i < t.size()) {
      // a latency timer runs on the host's clock: periodic, each flush ±0.2 ms
      ++j;
      double next = phase + static_cast<double>(j) * sc.chunk_s;
      if (sc.delivery == Delivery::kChunk)
        next += (uni(rng) - 0.5) * 0.4e-3;
      else if (sc.delivery == Delivery::kRandomChunk)
        next = flush + 1e-3 + uni(rng) * (2.0 * sc.chunk_s - 1e-3);
      const bool missed = sc.delivery == Delivery::kBle && uni(rng) < 0.03;
      if (sc.loss_at_s >= 0 && flush >= sc.loss_at_s && lost_chunks < sc.loss_chunks) losing = true;
      int in_event = 0;
      while (i < t.size() && t[i] + ready <= flush && !missed) {
        if (sc.delivery == Delivery::kBle && in_event >= sc.ble_per_event) break;
        // one read hands a USB chunk over at once; BLE notifications come 0.3 ms apart
        const double a = flush + 0.5e-3 + (sc.delivery == Delivery::kBle ? 0.3e-3 * in_event : 0.0);
        if (!losing) out.push_back({t[i], a, static_cast<std::uint32_t>(i)});
        ++i;
        ++in_event;
      }
      if (losing && in_event > 0 && ++lost_chunks >= sc.loss_chunks) {
        losing = false;
        lost_chunks = sc.loss_chunks + 1000000;  // once
      }
      flush = next;
    }
  }
  if (sc.stall_at_s >= 0) {
    const double end = sc.stall_at_s + sc.stall_s;
    int k = 0;
    for (auto& s : out)
      if (s.t_arrival_s >= sc.stall_at_s && s.t_arrival_s < end) s.t_arrival_s = end + 2e-5 * k++;
  }
  for (std::size_t i = 1; i < out.size(); ++i)
    out[i].t_arrival_s = std::max(out[i].t_arrival_s, out[i - 1].t_arrival_s);
  return out;
}

/// The least latency of the run: where the lower envelope of the arrivals lies above the truth.
inline double min_latency_s(const std::vector<TimedSample>& v) {
  double m = 1e9;
  for (const auto& s : v) m = std::min(m, s.t_arrival_s - s.t_true_s);
  return m;
}

/// RMS and max of |error|.
struct ErrorStats {
  double rms_ms = 0.0;
  double max_ms = 0.0;
  std::size_t n = 0;
  void add(double e_s) {
    const double ms = std::abs(e_s) * 1e3;
    rms_ms += ms * ms;
    max_ms = std::max(max_ms, ms);
    ++n;
  }
  void finish() { rms_ms = n ? std::sqrt(rms_ms / static_cast<double>(n)) : 0.0; }
};

}  // namespace primus::test
