#pragma once
// Sample times for devices that send no clock: sample k (a counter, or an unwrapped sequence
// number) is placed at t0 + k·P, with the period P estimated from the arrivals and t0 on their
// lower envelope.
//
// Model: arrival_k = t0 + k·P + latency_k, latency >= 0 and bursty: a USB-serial bridge hands
// bytes over every ~16 ms, BLE delivers several notifications per connection interval, so the
// samples of one chunk share an arrival time. The last sample of a chunk is the least delayed, so
// the estimator works on minima, as ClockMap does for device clocks:
//  - arrivals are cut into blocks of block_s (host time); each keeps its sample of least
//    e = arrival − (c + P·k);
//  - P = the slope of the lower convex hull of the last `blocks` block minima at their mean index
//    (the linear-programming estimate of clock skew: the line below every minimum that is highest
//    on average; minima raised by a backlog or a stall lie above the hull and do not move it),
//    once they span min_fit_s (before that the prior 1/nominal_rate_hz); c = the line with that
//    slope through the lowest minimum;
//  - the residual of each new block minimum against the line fitted before it is the test
//    statistic; a minimum off the line (> max(0.6 P, 3 × the median residual)) is kept out of
//    the fit until the next rule explains it or `trend_blocks` such minima have passed. The last
//    `trend_blocks` residuals
//      * level and at least that far late: the arrivals fell behind by n periods and stayed
//        there, i.e. n samples were lost (a lost USB chunk, a BLE hiccup) -> k advances by n (a
//        resync) when resync_on_lag is set (counter devices; sequence numbers tell losses);
//      * rising, or falling below the line, by more than the noise at every step: the rate
//        changed (2×, a reconfigured unit) -> the period is re-estimated from the two newest
//        minima and the fit restarts (minima picked with the old period are biased);
//  - a lag above resync_lag_s in one sample (a silence far longer than any buffer holds) is a
//    resync at once: k advances by the lag in periods and the offset is re-learnt;
//  - a sample more than late_threshold_ns() behind the line that catches up again (samples held
//    back, then delivered in a burst, nothing lost) is a stall: counted, k kept.
// The threshold between jitter and a stall adapts to the delivery: the median over recent blocks
// of the largest lag in a block (about the chunk or connection interval).
//
// Output: a disciplined time, each one the previous + k step · P plus a correction towards the
// line limited to `slew` of the step (stepped at once above 3 periods), never after the sample's
// own arrival (a sample cannot arrive before it was taken) and strictly increasing (by at least
// 5 % of a period and 2 µs). Units: arrival and output in host steady-clock ns.
//
// Threads: not thread-safe, one per device (its strand). No allocation. Pure: std only.
#include <array>
#include <cstdint>

namespace primus {

struct SampleClockConfig {
  double nominal_rate_hz = 100.0;  ///< prior rate (the device's configured rate_hz), > 0
  double block_s = 0.1;            ///< host seconds per minimum block, > 0
  int blocks = 40;            ///< block minima in the fit (horizon blocks·block_s), 4..kMaxBlocks
  int trend_blocks = 3;       ///< recent residuals tested for a trend or a level step, 2..8
  double min_fit_s = 0.3;     ///< the slope is fitted once the minima span this much
  double slew = 0.05;         ///< max output correction per unit of step (s/s)
  bool resync_on_lag = true;  ///< a persistent lag of n periods means n samples were lost
  double resync_lag_s = 0.5;  ///< a single lag above this is a resync at once
  double initial_jitter_s = 0.05;  ///< delivery jitter assumed before it is measured
};

/// What one observe() saw besides the time.
struct SampleTime {
  std::int64_t t_ns = 0;      ///< the sample's time (host ns)
  std::uint32_t lost = 0;     ///< samples found missing just before this one (a resync)
  bool stall_ended = false;   ///< this sample ended a stall (a late burst caught up, k kept)
  bool rate_changed = false;  ///< the fit restarted on recent blocks (rate changed)
};

class SampleClock {
 public:
  static constexpr int kMaxBlocks = 64;

  explicit SampleClock(const SampleClockConfig& cfg = {}) noexcept;

  /// Sample `index` (counter or unwrapped sequence number, increasing; a jump of n + 1 says n
  /// samples were lost) arrived at `arrival_ns`. Returns its time.
  SampleTime observe(std::int64_t index, std::int64_t arrival_ns) noexcept;
  /// Start a new epoch at the next sample (device restarted): keeps the period estimate.
  void restart() noexcept;
  /// Forget everything, the period included (back to the prior).
  void reset() noexcept;
  /// Whether a persistent lag is taken as lost samples (counters: yes; sequence numbers: no).
  void set_resync_on_lag(bool on) noexcept { cfg_.resync_on_lag = on; }

  [[nodiscard]] bool started() const noexcept { return started_; }
  /// Estimated period (ns) and rate (Hz).
  [[nodiscard]] double period_ns() const noexcept { return period_ns_; }
  [[nodiscard]] double rate_hz() const noexcept { return 1e9 / period_ns_; }
  /// Current lag threshold between delivery jitter and a stall (ns).
  [[nodiscard]] double late_threshold_ns() const noexcept;
  /// Measured delivery jitter: median over recent blocks of the largest lag in a block (ns).
  [[nodiscard]] double jitter_ns() const noexcept { return jitter_ns_; }
  /// Totals since reset(): stalls, resyncs, samples found lost by resyncs, fit restarts.
  [[nodiscard]] std::uint64_t stalls() const noexcept { return stalls_; }
  [[nodiscard]] std::uint64_t resyncs() const noexcept { return resyncs_; }
  [[nodiscard]] std::uint64_t lost() const noexcept { return lost_; }
  [[nodiscard]] std::uint64_t rate_changes() const noexcept { return rate_changes_; }

 private:
  struct Block {
    double x = 0.0;        ///< sample index since the origin (with the resync offset)
    double y = 0.0;        ///< its arrival, ns since the origin
    double r = 0.0;        ///< residual of this minimum against the line fitted before it (ns)
    double max_lag = 0.0;  ///< largest lag in the block (ns, clamped)
  };
  [[nodiscard]] double line(double x) const noexcept { return c_ns_ + period_ns_ * x; }
  [[nodiscard]] const Block& recent(int i) const noexcept;  ///< 0 = newest closed block
  void start(std::int64_t index, std::int64_t arrival_ns) noexcept;
  void close_block(double now_y) noexcept;
  void check_recent() noexcept;
  void refit(bool slope) noexcept;
  void resync(std::int64_t n, bool relearn) noexcept;
  void update_jitter() noexcept;
  [[nodiscard]] double noise_ns() const noexcept;           ///< typical |residual| of a minimum
  [[nodiscard]] double step_threshold_ns() const noexcept;  ///< a minimum this far off is news

  SampleClockConfig cfg_;
  double prior_period_ns_;
  double period_ns_;
  bool started_ = false;
  std::int64_t origin_index_ = 0;
  std::int64_t origin_ns_ = 0;
  std::int64_t offset_ = 0;  ///< added to the caller's index: samples found lost
  double c_ns_ = 0.0;
  double last_x_ = 0.0;
  double last_out_ = 0.0;
  bool warm_ = true;  ///< no block closed since the (re)start: offset = least e so far
  // current block
  bool block_has_ = false;
  double block_start_y_ = 0.0;
  Block block_{};
  // closed blocks (circular)
  std::array<Block, kMaxBlocks> blocks_{};
  int nblocks_ = 0;
  int next_ = 0;
  int since_check_ = 0;     ///< blocks closed since the last restart of the fit / resync
  int pending_blocks_ = 0;  ///< newest minima off the line, kept out of the fit so far
  double jitter_ns_;
  // stall episode
  bool late_ = false;
  std::uint64_t resyncs_at_late_ = 0;
  std::uint32_t pending_lost_ = 0;
  bool pending_rate_changed_ = false;
  std::uint64_t stalls_ = 0;
  std::uint64_t resyncs_ = 0;
  std::uint64_t lost_ = 0;
  std::uint64_t rate_changes_ = 0;
};

}  // namespace primus
