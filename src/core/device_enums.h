#pragma once
// How a device reports a sample: acceleration and gyro units, quaternion order, where angular
// velocity and sample times come from, and the device-to-body axis map. Plain values, std only: the
// signal maths (src/signal/units.h) uses them without seeing the daemon's configuration, which
// embeds them (src/config/config.h, DeviceConfig) and parses them from TOML.
#include <array>

namespace primus {

enum class QuatOrder { kWxyz, kXyzw };
enum class AccUnit { kMps2, kG };                ///< m/s², or standard gravities
enum class GyroUnit { kRadPerSec, kDegPerSec };  ///< rad/s, or deg/s
enum class GyroSource { kAuto, kMeasured, kFromQuaternion };
/// Where a sample's time comes from: kAuto = the device clock when the sample carries one, else
/// its sequence number, else a sample counter (both at the rate estimated from the arrivals);
/// kDevice = the device clock only (samples without one are dropped); kCounter = sequence number
/// or counter even when a device clock is sent; kArrival = the raw arrival time (for comparison).
enum class TimingMode { kAuto, kDevice, kCounter, kArrival };

/// Maps device axes to body axes: out[i] = sign[i] * in[perm[i]].
struct AxisMap {
  std::array<int, 3> perm{0, 1, 2};
  std::array<int, 3> sign{1, 1, 1};
  [[nodiscard]] bool is_identity() const noexcept {
    return perm == std::array<int, 3>{0, 1, 2} && sign == std::array<int, 3>{1, 1, 1};
  }
  bool operator==(const AxisMap&) const = default;
};

}  // namespace primus
