#pragma once
// The built-in simulator: a wrist-worn IMU performing gestures between idle stretches.
//
// SimDevice is the pure generator (no I/O, deterministic for a seed): sample k is at simulated
// time k / rate_hz. It integrates a body-frame angular-velocity profile into an orientation
// quaternion and reports specific force (gravity + motion) in the body frame, in the device's
// configured units and quaternion order, with sequence numbers and a device clock that has a
// fixed offset and a small drift (tens of ppm), as real sensors do. It sends no gyro: the
// pipeline derives angular velocity from the quaternions.
//
// SimSource wraps it in an Asio timer that emits samples in real time.
#include <Eigen/Geometry>
#include <boost/asio/steady_timer.hpp>
#include <random>
#include <string>
#include <vector>

#include "adapters/source.h"

namespace primus::adapters {

/// Gestures the simulator can perform (also the demo model's labels, plus "null").
const std::vector<std::string>& sim_gesture_names();

/// How long the simulated performances last.
struct SimTiming {
  /// 0: every gesture lasts its own length (1.0-2.0 s), performed once, between idle stretches of
  /// 1.5-3.5 s (what a `sim` device does). > 0: **activities**: each gesture is repeated for
  /// activity_s x U(0.75, 1.25) seconds (its motion continues periodically, ramped in and out over
  /// 0.4 s), between idle stretches of 2-5 s; the regime of a 10 s activity rather than a stroke.
  double activity_s = 0;
};

class SimDevice {
 public:
  SimDevice(const DeviceConfig& dev, std::uint32_t index, SimTiming timing = {});
  /// The next sample; `t_host_ns` is left 0 for the caller to set.
  Sample next();
  /// Label of what the device is doing at the last generated sample ("null" when idle).
  [[nodiscard]] const std::string& current_label() const { return label_; }
  [[nodiscard]] double sim_time_s() const { return static_cast<double>(k_) / rate_hz_; }

 private:
  void pick_next_segment();

  DeviceConfig dev_;
  std::uint32_t index_;
  SimTiming timing_;
  double rate_hz_;
  std::mt19937_64 rng_;
  std::vector<std::string> gestures_;
  std::uint64_t k_ = 0;
  Eigen::Quaterniond q_ = Eigen::Quaterniond::Identity();
  double seg_start_s_ = 0;
  double seg_end_s_ = 0;
  double seg_len_s_ = 0;  ///< length of the gesture being performed
  int gesture_ = -1;      ///< index into sim_gesture_names(), -1 idle
  std::size_t next_gesture_ = 0;
  std::string label_ = "null";
  double amp_ = 1.0;  ///< per-performance amplitude factor
  double clock_offset_us_ = 0;
  double clock_drift_ = 0;  ///< fractional (e.g. 3e-5)
  std::uint32_t seq0_ = 0;
};

class SimSource final : public Source {
 public:
  SimSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx);
  void start() override;
  void stop() override;
  [[nodiscard]] const SourceStats& stats() const override { return stats_; }

 private:
  void tick();

  SimDevice gen_;
  SourceContext ctx_;
  boost::asio::steady_timer timer_;
  std::int64_t start_ns_ = 0;
  std::int64_t period_ns_;
  std::int64_t phase_ns_;           ///< start offset in [0, 1 s), fixed per device
  std::string seg_label_;           ///< label of the segment being emitted
  std::int64_t seg_first_ns_ = -1;  ///< host time of its first sample
  std::int64_t last_ns_ = 0;        ///< host time of the last sample emitted
  bool running_ = false;
  SourceStats stats_;
};

}  // namespace primus::adapters
