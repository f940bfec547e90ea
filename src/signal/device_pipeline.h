#pragma once
// The per-device signal path: raw Sample (device units, device clock) -> model-rate windows.
//
//   seq check -> clock map (device time -> host steady time) -> gap check -> units + axis map
//   -> angular velocity (measured gyro, or from quaternions, centred, one sample late)
//   -> resampler (uniform host-time grid at window.rate_hz, anti-aliased) -> frame ring
//   -> windower (length frames every hop frames) -> on_window
//
// Error policy: bad input is dropped and counted, never thrown and never logged here (logging is
// the caller's job, from counters()). Windows never contain NaN or infinity. A clock jump, a
// device restart or a gap longer than DeviceConfig::max_gap_s restarts the resampler and the
// windower, so no window spans a hole or mixes two clock epochs; shorter gaps are bridged by the
// resampler (linear across the hole) and flagged in Window::interpolated.
//
// Times (DeviceConfig::timing): Sample::t_host_ns is the arrival time. With timing = auto,
// Sample::t_device_us is used when kFieldTDevice is set; else sample k (the unwrapped sequence
// number with kFieldSeq, else a counter of samples) is placed at t0 + k·P by a SampleClock, with
// the period P estimated from the arrivals and t0 on their lower envelope, so that samples
// delivered in chunks (USB-serial latency timer, BLE connection intervals) keep their spacing.
// `device` drops samples without a device clock (missing_fields), `counter` ignores the device
// clock, `arrival` uses the arrival times as they are (samples of one chunk then collide and are
// dropped as out_of_order). Either time goes through the ClockMap. Window host times are on the
// grid of the mapped clock; Window::t_ready_ns is the arrival time of the sample that completed
// the window.
//
// Threads: NOT thread-safe; one instance per device, called only from that device's strand.
// ring() may be read from other threads concurrently (see RingBuffer).
// Allocation: none per sample; one Window::data vector per emitted window.
#include <cstdint>
#include <functional>

#include "src/config/config.h"
#include "src/core/clock_map.h"
#include "src/core/sample.h"
#include "src/core/sample_clock.h"
#include "src/core/seq_tracker.h"
#include "src/core/window.h"
#include "src/signal/quat_rate.h"
#include "src/signal/resampler.h"
#include "src/signal/units.h"
#include "src/signal/windower.h"

namespace primus::signal {

/// Per-device counters; monotonically increasing until reset() (which zeroes them too).
struct PipelineCounters {
  std::uint64_t samples_in = 0;         ///< push() calls
  std::uint64_t samples_used = 0;       ///< samples that reached the resampler
  std::uint64_t dropped_duplicate = 0;  ///< same sequence number seen again
  std::uint64_t out_of_order = 0;       ///< late sequence number, or device time not increasing
  std::uint64_t samples_lost = 0;       ///< numbers missing in the sequence
  std::uint64_t gaps_bridged = 0;       ///< holes <= max_gap_s bridged by the resampler
  std::uint64_t gaps_reset = 0;         ///< holes > max_gap_s: windows restarted
  std::uint64_t bad_quat = 0;           ///< NaN/inf/zero quaternion (sample dropped)
  std::uint64_t quat_renormalised = 0;  ///< non-unit quaternion renormalised and used
  std::uint64_t nan_dropped = 0;        ///< NaN/inf (or overflowing) acc/gyro: sample dropped
  std::uint64_t missing_fields = 0;     ///< no usable angular velocity source in the sample
  std::uint64_t clock_jumps = 0;        ///< device clock leapt (re-anchored, windows restarted)
  std::uint64_t restarts = 0;           ///< device restarted (seq reset / time far back)
  std::uint64_t ring_overflow = 0;      ///< frames dropped oldest-first from the full history ring
  std::uint64_t frames_out = 0;         ///< model-rate frames produced
  std::uint64_t frames_interpolated = 0;  ///< of which bridged a gap or were upsampled
  std::uint64_t windows_out = 0;          ///< windows emitted
  std::uint64_t timing_stalls = 0;   ///< no device clock: samples held back, then caught up (kept)
  std::uint64_t timing_resyncs = 0;  ///< no device clock or seq: arrivals fell behind for good,
                                     ///< samples counted lost (samples_lost) and skipped
};

struct PipelineOptions {
  double ring_seconds = 60.0;  ///< history kept in the frame ring (>= 2 windows are kept anyway)
  QuatRateMethod quat_method = QuatRateMethod::kCentred;
  ClockMapConfig clock{};
  SampleClockConfig sample_clock{};  ///< nominal_rate_hz and resync_lag_s come from the device
  double restart_back_s = 1.0;       ///< device time going back more than this is a restart
};

class DevicePipeline {
 public:
  /// Throws std::invalid_argument for a window config the windower refuses (length < 123, ...)
  /// or non-positive rates.
  DevicePipeline(const DeviceConfig& dev, const WindowConfig& win, std::uint32_t device_index,
                 const PipelineOptions& opt = {});

  /// Feed one raw sample. Calls on_window (synchronously) for every window that became complete.
  void push(const Sample& s, const std::function<void(Window&&)>& on_window);

  [[nodiscard]] const PipelineCounters& counters() const noexcept;
  /// Host − device clock offset at the last sample (s); 0 when the sample clock places samples
  /// (its times are host times).
  [[nodiscard]] double clock_offset_s() const noexcept {
    return synthetic_ ? 0.0 : clock_.offset_s();
  }
  /// Device clock drift estimate (ppm, positive: device clock slow); with the sample clock, the
  /// estimated rate's deviation from rate_hz.
  [[nodiscard]] double clock_drift_ppm() const noexcept {
    return synthetic_ ? (nominal_rate_hz_ / sample_clock_.rate_hz() - 1.0) * 1e6
                      : clock_.drift_ppm();
  }
  /// Measured input rate in samples per device second.
  [[nodiscard]] double input_rate_hz() const noexcept {
    return synthetic_ ? sample_clock_.rate_hz() : clock_.rate_hz();
  }
  /// Host time (ns) the last sample that got a time was placed at.
  [[nodiscard]] std::int64_t last_sample_ns() const noexcept { return last_t_ns_; }
  /// The sample clock of devices without a device clock (period estimate, jitter, events).
  [[nodiscard]] const SampleClock& sample_clock() const noexcept { return sample_clock_; }
  /// Forget all state and counters (device reconnected). The ring keeps its storage.
  void reset();

  /// The model-rate history ring (other threads may read it concurrently).
  [[nodiscard]] const FrameRing& ring() const noexcept { return ring_; }
  [[nodiscard]] std::uint32_t device_index() const noexcept { return device_; }

 private:
  enum class GyroPath { kNone, kMeasured, kQuat };
  enum class TimeFrom { kDevice, kSequence, kCounter, kArrival };
  void restart_chain() noexcept;
  void feed(std::int64_t t_ns, const Eigen::Vector3f& acc, const Eigen::Vector3f& gyro,
            std::int64_t t_arrival_ns, const std::function<void(Window&&)>& on_window);

  std::uint32_t device_;
  GyroSource gyro_source_;
  TimingMode timing_;
  double nominal_rate_hz_;
  std::int64_t max_gap_ns_;
  std::int64_t restart_back_us_;
  UnitConverter units_;
  SeqTracker seq_;
  SampleClock sample_clock_;
  ClockMap clock_;
  QuatRate quat_;
  Resampler resampler_;
  FrameRing ring_;
  Windower windower_;
  mutable PipelineCounters counters_{};

  // chain state (since the last restart_chain)
  bool chain_started_ = false;
  std::int64_t chain_anchor_ns_ = 0;
  std::int64_t prev_t_ns_ = 0;
  GyroPath path_ = GyroPath::kNone;
  bool pending_ = false;  ///< a quaternion sample waits for its (centred) rate
  std::int64_t pending_t_ns_ = 0;
  Eigen::Vector3f pending_acc_{0.0f, 0.0f, 0.0f};
  Eigen::Vector3f last_acc_{0.0f, 0.0f, 0.0f};
  // devices without timestamps
  std::int64_t sample_counter_ = 0;  ///< samples seen (counter timing)
  std::uint64_t seq_unwrapped_ = 0;
  TimeFrom time_from_ = TimeFrom::kDevice;  ///< of the previous timed sample
  bool synthetic_ = false;                  ///< the previous one was placed by the sample clock
  std::int64_t last_t_ns_ = 0;
  bool time_from_set_ = false;
  std::uint64_t ring_dropped_base_ = 0;
};

}  // namespace primus::signal
