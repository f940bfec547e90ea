#pragma once
// Maps one device's clock (µs) onto the host steady clock (ns).
//
// Model: arrival = device_time·(1 + drift) + offset + latency, latency >= 0 and jittery (BLE
// delivers bursts of several packets at once). The lower envelope of (arrival − device time) is
// the latency-free mapping, so the estimator works on minima:
//  - device time is cut into blocks of block_s; each block keeps its sample of least
//    d = (arrival − device time), i.e. the least delayed packet;
//  - offset and drift are the least-squares line through the last `blocks` block minima, lowered
//    so that no block minimum lies below it (a lower bound, not an average);
//  - before the first block closes: drift = 0 (or the previous estimate after a re-anchor) and
//    offset = least d so far.
// The applied mapping is a disciplined clock: each sample's mapped time advances from the
// previous one by its device-time step scaled by (1 + drift), plus a correction towards the
// estimate limited to `slew` (2 % of the step by default). Mapped times therefore strictly
// increase with device time and a new estimate never makes the time axis jump.
//
// Jumps and restarts (observe() tells which, the caller resets what depends on time):
//  - kBackwards: device time did not increase. Nothing is updated; the caller drops the sample
//    (out of order) or calls reanchor() (restart).
//  - kJumpForward: the sample arrived more than early_tolerance_s before the model says it was
//    sent, which is impossible unless the device clock leapt forward; re-anchored on it.
//    Not checked until the first block has closed (start-up latency can be large).
//  - kJumpLate: arrivals stayed more than late_tolerance_s behind the model for late_persist_s of
//    device time (the device clock went back by less than the step, or stalled); re-anchored.
// Re-anchoring keeps the drift estimate (a property of the crystal) and drops the minima.
//
// Threads: not thread-safe, one per device (its strand). No allocation.
#include <array>
#include <cstdint>

namespace primus {

struct ClockMapConfig {
  double block_s = 1.0;             ///< device seconds per minimum block, > 0
  int blocks = 32;                  ///< block minima in the fit, 2..kMaxBlocks
  double slew = 0.02;               ///< max correction per unit of device time (s/s)
  double early_tolerance_s = 0.05;  ///< arrival this much before the model: forward jump
  double late_tolerance_s = 1.0;    ///< arrival this much after the model ...
  double late_persist_s = 2.0;      ///< ... for this long (device s): re-anchor
  double max_drift_ppm = 5000.0;    ///< fitted drift is clamped to ±this
};

enum class ClockEvent { kAnchored, kOk, kBackwards, kJumpForward, kJumpLate };

class ClockMap {
 public:
  static constexpr int kMaxBlocks = 64;

  explicit ClockMap(const ClockMapConfig& cfg = {}) noexcept;

  /// Observe one sample (device time µs, host arrival ns). On kAnchored/kOk/kJump* the sample is
  /// mapped: mapped_ns() is its host time. On kBackwards nothing changes.
  ClockEvent observe(std::int64_t t_device_us, std::int64_t t_host_ns) noexcept;
  /// Start a new epoch at this sample (its mapped time = its arrival time). Keeps the drift.
  void reanchor(std::int64_t t_device_us, std::int64_t t_host_ns) noexcept;
  /// Forget everything, drift included.
  void reset() noexcept;

  [[nodiscard]] bool anchored() const noexcept { return anchored_; }
  /// Host time (ns) of the last mapped sample.
  [[nodiscard]] std::int64_t mapped_ns() const noexcept { return mapped_ns_; }
  /// Device time (µs) of the last mapped sample.
  [[nodiscard]] std::int64_t last_device_us() const noexcept { return last_dev_us_; }
  /// Device time (µs) for a host time near the last mapped sample.
  [[nodiscard]] std::int64_t to_device_us(std::int64_t t_host_ns) const noexcept;
  /// Host − device time at the last sample (s).
  [[nodiscard]] double offset_s() const noexcept;
  /// Device clock rate error: positive when the device clock runs slow (ppm).
  [[nodiscard]] double drift_ppm() const noexcept { return drift_ns_per_s_ * 1e-3; }
  /// Samples per device second: running value in the first block, then the mean of the last
  /// block and the previous estimate (halves an old rate's weight every block_s).
  [[nodiscard]] double rate_hz() const noexcept { return rate_hz_; }
  /// Blocks currently in the fit.
  [[nodiscard]] int blocks_in_fit() const noexcept { return nblocks_; }

 private:
  struct Block {
    double x = 0.0;  ///< device s since origin of the least delayed sample
    double d = 0.0;  ///< its (arrival − device time) in ns since origin
  };
  void close_block() noexcept;
  void refit() noexcept;

  ClockMapConfig cfg_;
  bool anchored_ = false;
  std::int64_t origin_dev_us_ = 0;
  std::int64_t origin_host_ns_ = 0;
  std::int64_t last_dev_us_ = 0;
  std::int64_t mapped_ns_ = 0;
  // estimate: d(x) = a + b·x (ns, x in s)
  double a_ns_ = 0.0;
  double drift_ns_per_s_ = 0.0;
  // current block
  bool block_open_ = false;
  double block_start_x_ = 0.0;
  double block_first_x_ = 0.0;
  double block_last_x_ = 0.0;
  std::uint64_t block_n_ = 0;
  Block block_min_{};
  double warm_min_d_ = 0.0;
  // closed blocks (circular)
  std::array<Block, kMaxBlocks> blocks_{};
  int nblocks_ = 0;
  int next_block_ = 0;
  // late streak
  bool late_ = false;
  double late_since_x_ = 0.0;
  double rate_hz_ = 0.0;
  std::uint64_t n_since_anchor_ = 0;
};

}  // namespace primus
