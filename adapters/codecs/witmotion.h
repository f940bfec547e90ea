#pragma once
// WitMotion WT901 family, from the vendor's public protocol description.
//
// Serial (UART/USB) frames, 11 bytes: 0x55, TYPE, four int16 LE (D0..D3), SUM, where SUM is the
// low byte of the sum of the first ten bytes. Types used:
//   0x50 time   YY MM DD hh mm ss msL msH        -> Sample::t_device_us (µs since 2000-01-01)
//   0x51 acc    D0..D2 / 32768 * 16               -> g
//   0x52 gyro   D0..D2 / 32768 * 2000             -> deg/s
//   0x53 angle  roll, pitch, yaw / 32768 * 180    -> deg, turned into a quaternion (Z-Y-X)
//   0x54 mag    D0..D2 raw counts                 -> Sample::mag (device counts)
//   0x59 quat   D0..D3 / 32768 (w, x, y, z)       -> Sample::quat (preferred over angle)
// Other 0x5X types are valid frames and ignored. A device sends one frame of each enabled type
// per sample, in ascending type order; the decoder merges one cycle into one Sample: it emits
// at the cycle's last type once one whole cycle has been seen (before that, when the type order
// starts over). A cycle without acc is dropped as kBadValue.
//
// BLE (WT901BLE) frames, 20 bytes, no checksum: 0x55 0x61, then nine int16 LE: acc x,y,z, gyro
// x,y,z, roll, pitch, yaw (same scales): one Sample each. 0x55 0x71 (register replies, 20 bytes)
// are skipped.
//
// Samples: acc (g), gyro (deg/s), quat (w,x,y,z), optional mag; kFieldTDevice only with 0x50.
// No sequence numbers exist in this protocol.
#include "adapters/codecs/codec.h"

namespace primus::adapters::codecs {

class WitmotionDecoder final : public Decoder {
 public:
  WitmotionDecoder() = default;
  void feed(std::span<const std::uint8_t> bytes, const FrameSink& sink) noexcept override;
  void finish(const FrameSink& sink) noexcept override;
  void reset(Sync sync) noexcept override;

 private:
  void step(std::uint8_t b, const FrameSink& sink) noexcept;
  void frame11(const FrameSink& sink) noexcept;
  void frame20(const FrameSink& sink) noexcept;
  void emit_group(const FrameSink& sink) noexcept;
  void resync() noexcept;
  void end_garbage() noexcept;

  std::uint8_t buf_[20];
  std::size_t len_ = 0;
  std::size_t need_ = 0;
  bool garbage_run_ = false;
  // cycle assembly (11-byte frames)
  Sample group_{};
  std::uint32_t group_types_ = 0;  ///< bit (type - 0x50) of the types in group_
  bool group_angle_ = false;
  float angle_deg_[3] = {0, 0, 0};
  int prev_type_ = -1;
  int cycle_max_ = -1;    ///< highest type since the order last started over
  int learned_max_ = -1;  ///< last type of a whole cycle, once one was seen
};

}  // namespace primus::adapters::codecs
