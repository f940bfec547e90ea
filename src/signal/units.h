#pragma once
// Unit conversion and axis mapping of one raw sample, per device configuration.
//
// Contract: pure functions on values; no allocation, no state beyond the constants captured at
// construction. Output units: acceleration m/s², angular velocity rad/s, quaternion (w, x, y, z).
// Axis map: out[i] = sign[i] * in[perm[i]] (see AxisMap), applied to acceleration and angular
// velocity. Angular velocity derived from a quaternion is computed in the device frame first and
// then mapped like a measured gyro, which stays correct when the map is a reflection (a mapped
// quaternion would not be).
#include <array>
#include <cmath>

#include <Eigen/Core>

#include "src/core/device_enums.h"

namespace primus::signal {

inline constexpr double kStandardGravity = 9.80665;  ///< m/s² per g
inline constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

class UnitConverter {
 public:
  /// The units, quaternion order and axis map a device reports in (DeviceConfig's fields).
  UnitConverter(AccUnit acc_unit, GyroUnit gyro_unit, QuatOrder quat_order,
                const AxisMap& axis_map) noexcept
      : acc_scale_(acc_unit == AccUnit::kG ? static_cast<float>(kStandardGravity) : 1.0f),
        gyro_scale_(gyro_unit == GyroUnit::kDegPerSec ? static_cast<float>(kDegToRad) : 1.0f),
        xyzw_(quat_order == QuatOrder::kXyzw) {
    for (int i = 0; i < 3; ++i) {
      const int p = axis_map.perm[static_cast<std::size_t>(i)];
      perm_[static_cast<std::size_t>(i)] = (p >= 0 && p < 3) ? p : i;
      sign_[static_cast<std::size_t>(i)] =
          axis_map.sign[static_cast<std::size_t>(i)] < 0 ? -1.0f : 1.0f;
    }
  }

  /// Device acceleration (g or m/s²) -> body m/s².
  [[nodiscard]] Eigen::Vector3f acc(const std::array<float, 3>& a) const noexcept {
    return map(a) * acc_scale_;
  }
  /// Device gyro (deg/s or rad/s) -> body rad/s.
  [[nodiscard]] Eigen::Vector3f gyro(const std::array<float, 3>& g) const noexcept {
    return map(g) * gyro_scale_;
  }
  /// Angular velocity already in rad/s in the device frame -> body frame.
  [[nodiscard]] Eigen::Vector3f map_rate(const Eigen::Vector3f& w) const noexcept {
    return map({w.x(), w.y(), w.z()});
  }
  /// Device quaternion in its configured order -> (w, x, y, z), device frame, not normalised.
  [[nodiscard]] std::array<double, 4> quat_wxyz(const std::array<float, 4>& q) const noexcept {
    if (xyzw_) return {q[3], q[0], q[1], q[2]};
    return {q[0], q[1], q[2], q[3]};
  }

 private:
  [[nodiscard]] Eigen::Vector3f map(const std::array<float, 3>& v) const noexcept {
    return {sign_[0] * v[static_cast<std::size_t>(perm_[0])],
            sign_[1] * v[static_cast<std::size_t>(perm_[1])],
            sign_[2] * v[static_cast<std::size_t>(perm_[2])]};
  }

  float acc_scale_;
  float gyro_scale_;
  bool xyzw_;
  std::array<int, 3> perm_{0, 1, 2};
  std::array<float, 3> sign_{1.0f, 1.0f, 1.0f};
};

}  // namespace primus::signal
