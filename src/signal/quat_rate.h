#pragma once
// Streaming body-frame angular velocity from orientation quaternions.
//
// Maths: for consecutive unit quaternions q_a, q_b (scalar first, rotating body -> reference),
// the relative rotation dq = q_a⁻¹ ⊗ q_b is taken on its shortest path (negated when w < 0, since
// q and −q are the same rotation) and mapped with the exact logarithm,
// r = 2·atan2(|v|, w)·v/|v| (rad), so r / (t_b − t_a) is the mean body rate over the interval.
// The rotation vector of dq is the same in frame a and frame b, so the rates of the two intervals
// around sample i can be combined directly. Methods:
//  - kCentred (default): derivative at t_i of the quadratic through the rotation vectors of
//    q_{i-1}, q_i, q_{i+1} seen from frame i, i.e. ω_i = (h1·ω_f + h2·ω_b)/(h1 + h2) with
//    ω_b over (t_{i-1}, t_i) of length h1 and ω_f over (t_i, t_{i+1}) of length h2. Second-order
//    accurate for uneven steps; removes the half-sample lag of one-sided differences.
//  - kCentredChord: 2·log(q_{i-1}⁻¹ ⊗ q_{i+1}) / (t_{i+1} − t_{i-1}).
//  - kForward: ω_f (rate over the next interval, the naive loop); kBackward: ω_b.
// Every method delivers exactly one output per accepted input, one sample late (the output for
// sample i appears when sample i+1 is pushed, or on flush()). The first sample of a stream uses
// ω_f, the last (flush) ω_b; a stream of one sample gives zero.
//
// Bad input: a quaternion with a NaN/inf component or norm < kMinNorm is rejected (counted in
// bad_quat); a norm off 1 by more than kRenormTolerance is renormalised (counted); a time step
// <= kMinDtS or non-finite is rejected (counted in bad_dt). A rejected input changes nothing.
//
// Threads: not thread-safe; one instance per stream. No allocation.
#include <array>
#include <cstdint>

#include <Eigen/Core>

namespace primus::signal {

enum class QuatRateMethod { kCentred, kCentredChord, kForward, kBackward };

/// One output: angular velocity (rad/s, body frame) at the time of input sample `index`.
struct QuatRateOut {
  std::uint64_t index = 0;  ///< 0-based count of accepted inputs since reset
  double t_s = 0.0;         ///< that sample's time (the caller's seconds)
  Eigen::Vector3d w{0.0, 0.0, 0.0};
};

struct QuatRateCounters {
  std::uint64_t accepted = 0;
  std::uint64_t bad_quat = 0;      ///< NaN/inf or (near) zero norm: rejected
  std::uint64_t renormalised = 0;  ///< |norm − 1| > kRenormTolerance: fixed and used
  std::uint64_t bad_dt = 0;        ///< time step <= kMinDtS or not finite: rejected
};

enum class QuatPush { kOk, kBadQuat, kBadDt };

/// Exact log map of a unit quaternion (w, x, y, z) on its shortest path: rotation vector (rad).
Eigen::Vector3d quat_log_rotvec(double w, double x, double y, double z) noexcept;
/// Rotation vector of q_a⁻¹ ⊗ q_b (both unit, (w, x, y, z)), shortest path, in frame a.
Eigen::Vector3d relative_rotvec(const std::array<double, 4>& qa,
                                const std::array<double, 4>& qb) noexcept;

class QuatRate {
 public:
  static constexpr double kMinNorm = 1e-6;
  static constexpr double kRenormTolerance = 1e-3;
  static constexpr double kMinDtS = 1e-6;

  explicit QuatRate(QuatRateMethod method = QuatRateMethod::kCentred) noexcept : method_(method) {}

  /// Push quaternion q = (w, x, y, z) at time t_s (seconds, strictly increasing). When an output
  /// becomes available (for the previous accepted sample) it is written to `out` and
  /// `has_out` is set; otherwise has_out is false.
  QuatPush push(double t_s, const std::array<double, 4>& q, QuatRateOut& out,
                bool& has_out) noexcept;
  /// Emit the output of the last accepted sample, if one is pending. Then the stream is empty.
  bool flush(QuatRateOut& out) noexcept;
  /// Forget the stream (keeps counters).
  void reset() noexcept { n_ = 0; }

  [[nodiscard]] const QuatRateCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] QuatRateMethod method() const noexcept { return method_; }

 private:
  QuatRateMethod method_;
  QuatRateCounters counters_{};
  std::uint64_t n_ = 0;             ///< accepted inputs since reset
  std::array<double, 4> q_prev_{};  ///< q_{i-1}
  std::array<double, 4> q_cur_{};   ///< q_i (latest accepted)
  double t_prev_ = 0.0;
  double t_cur_ = 0.0;
  Eigen::Vector3d r_back_{0.0, 0.0, 0.0};  ///< rotation vector over (t_{i-1}, t_i)
};

}  // namespace primus::signal
