#pragma once
// One IMU sample as an adapter delivers it, before any conversion.
//
// Units are the device's own (see DeviceConfig: acc in g or m/s², gyro in deg/s or rad/s,
// quaternion in the device's component order); the per-device pipeline normalises them.
// A Sample is a plain value (no heap), cheap to copy; adapters fill one per decoded frame.
#include <array>
#include <cstdint>

namespace primus {

/// Bit flags saying which optional fields of a Sample are present.
enum SampleField : std::uint8_t {
  kFieldAcc = 1u << 0,
  kFieldGyro = 1u << 1,
  kFieldQuat = 1u << 2,
  kFieldMag = 1u << 3,
  kFieldSeq = 1u << 4,      ///< `seq` is valid
  kFieldTDevice = 1u << 5,  ///< `t_device_us` is valid
};

struct Sample {
  std::uint32_t device = 0;      ///< index of the device in Config::devices
  std::uint8_t fields = 0;       ///< OR of SampleField
  std::uint32_t seq = 0;         ///< device sequence number (wraps), valid with kFieldSeq
  std::int64_t t_device_us = 0;  ///< device timestamp in µs, valid with kFieldTDevice
  std::int64_t t_host_ns = 0;    ///< host steady-clock arrival time in ns (always set)
  std::array<float, 3> acc{};    ///< device units, valid with kFieldAcc
  std::array<float, 3> gyro{};   ///< device units, valid with kFieldGyro
  std::array<float, 4> quat{};   ///< device component order, valid with kFieldQuat
  std::array<float, 3> mag{};    ///< device units, valid with kFieldMag

  [[nodiscard]] bool has(SampleField f) const noexcept { return (fields & f) != 0; }
};

}  // namespace primus
