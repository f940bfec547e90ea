#include "src/signal/quat_rate.h"

#include <cmath>

namespace primus::signal {

Eigen::Vector3d quat_log_rotvec(double w, double x, double y, double z) noexcept {
  if (w < 0.0) {  // shortest path: q and −q are the same rotation
    w = -w;
    x = -x;
    y = -y;
    z = -z;
  }
  const double n = std::sqrt(x * x + y * y + z * z);
  double k = 0.0;
  if (n < 0.1 * w) {
    // atan(r)/r as its Maclaurin series, r = n/w < 0.1 (rotations < 0.2 rad, the usual step):
    // the first omitted term is r^18/19 < 1e-19, below double rounding, so this is the exact log
    // at a fraction of the cost of atan2. Also covers n = 0 without 0/0.
    const double r2 = (n / w) * (n / w);
    double s = 1.0 / 17.0;
    for (int d = 15; d >= 1; d -= 2) s = 1.0 / d - r2 * s;
    k = 2.0 * s / w;
  } else {
    k = 2.0 * std::atan2(n, w) / n;  // n > 0 here since w >= 0 and n >= 0.1 w, w = 0 => n = 1
  }
  return {k * x, k * y, k * z};
}

Eigen::Vector3d relative_rotvec(const std::array<double, 4>& qa,
                                const std::array<double, 4>& qb) noexcept {
  // conj(qa) ⊗ qb, unit quaternions
  const double aw = qa[0], ax = -qa[1], ay = -qa[2], az = -qa[3];
  const double bw = qb[0], bx = qb[1], by = qb[2], bz = qb[3];
  const double w = aw * bw - ax * bx - ay * by - az * bz;
  const double x = aw * bx + ax * bw + ay * bz - az * by;
  const double y = aw * by - ax * bz + ay * bw + az * bx;
  const double z = aw * bz + ax * by - ay * bx + az * bw;
  return quat_log_rotvec(w, x, y, z);
}

QuatPush QuatRate::push(double t_s, const std::array<double, 4>& q_in, QuatRateOut& out,
                        bool& has_out) noexcept {
  has_out = false;
  const double n2 = q_in[0] * q_in[0] + q_in[1] * q_in[1] + q_in[2] * q_in[2] + q_in[3] * q_in[3];
  if (!std::isfinite(n2) || n2 < kMinNorm * kMinNorm) {
    ++counters_.bad_quat;
    return QuatPush::kBadQuat;
  }
  if (!std::isfinite(t_s) || (n_ > 0 && !(t_s - t_cur_ > kMinDtS))) {
    ++counters_.bad_dt;
    return QuatPush::kBadDt;
  }
  const double norm = std::sqrt(n2);
  if (std::abs(norm - 1.0) > kRenormTolerance) ++counters_.renormalised;
  const double inv = 1.0 / norm;
  const std::array<double, 4> q{q_in[0] * inv, q_in[1] * inv, q_in[2] * inv, q_in[3] * inv};
  ++counters_.accepted;

  if (n_ == 0) {
    q_cur_ = q;
    t_cur_ = t_s;
    n_ = 1;
    return QuatPush::kOk;
  }

  const double h2 = t_s - t_cur_;
  const Eigen::Vector3d r_fwd = relative_rotvec(q_cur_, q);
  out.index = n_ - 1;
  out.t_s = t_cur_;
  if (n_ == 1) {
    out.w = r_fwd / h2;  // first sample: only the forward interval exists
  } else {
    const double h1 = t_cur_ - t_prev_;
    switch (method_) {
      case QuatRateMethod::kCentred:
        out.w = (r_fwd * (h1 / h2) + r_back_ * (h2 / h1)) / (h1 + h2);
        break;
      case QuatRateMethod::kCentredChord:
        out.w = relative_rotvec(q_prev_, q) / (h1 + h2);
        break;
      case QuatRateMethod::kForward:
        out.w = r_fwd / h2;
        break;
      case QuatRateMethod::kBackward:
        out.w = r_back_ / h1;
        break;
    }
  }
  has_out = true;
  q_prev_ = q_cur_;
  t_prev_ = t_cur_;
  q_cur_ = q;
  t_cur_ = t_s;
  r_back_ = r_fwd;
  ++n_;
  return QuatPush::kOk;
}

bool QuatRate::flush(QuatRateOut& out) noexcept {
  if (n_ == 0) return false;
  out.index = n_ - 1;
  out.t_s = t_cur_;
  out.w = n_ == 1 ? Eigen::Vector3d::Zero() : Eigen::Vector3d(r_back_ / (t_cur_ - t_prev_));
  n_ = 0;
  return true;
}

}  // namespace primus::signal
