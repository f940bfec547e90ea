#pragma once
// A model-ready window: 6 channels x `length` samples at the model rate, channel-major
// ([acc x, acc y, acc z, gyro x, gyro y, gyro z] each `length` floats), in m/s² and rad/s.
// Produced by a device's pipeline on the io thread, moved into the batcher queue, consumed by the
// inference thread. Never contains NaN or infinity (the pipeline guarantees it).
#include <cstdint>
#include <vector>

namespace primus {

/// Input channels: acc x,y,z (m/s²), gyro x,y,z (rad/s).
inline constexpr int kChannels = 6;
/// Shortest window the PRIMUS encoder accepts: conv3 needs 9 inputs (PRIMUS.md §1).
inline constexpr int kMinWindowLength = 123;

struct Window {
  std::uint32_t device = 0;            ///< index into Config::devices
  std::uint64_t seq = 0;               ///< per-device window counter (0, 1, 2, ...)
  int length = 0;                      ///< samples per channel
  std::int64_t t_start_host_ns = 0;    ///< host steady time of the first sample
  std::int64_t t_end_host_ns = 0;      ///< host steady time of the last sample
  std::int64_t t_start_device_us = 0;  ///< device time of the first sample (mapped back)
  std::int64_t t_end_device_us = 0;    ///< device time of the last sample
  std::int64_t t_ready_ns = 0;  ///< host steady time the window was complete (latency origin)
  int interpolated = 0;         ///< samples of this window that bridged a gap or were upsampled
  std::vector<float> data;      ///< kChannels * length floats, channel-major

  [[nodiscard]] float at(int channel, int i) const { return data[channel * length + i]; }
};

}  // namespace primus
