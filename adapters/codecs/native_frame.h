#pragma once
// The native primusd frame (docs/protocol.md is the byte-by-byte specification):
//
//   wire   = COBS(payload) 0x00
//   payload (little-endian):
//     0  u8   version (1)
//     1  u8   fields: bit0 acc (3 f32), bit1 gyro (3 f32), bit2 quat (4 f32: w,x,y,z),
//             bit3 mag (3 f32); bits 4-7 reserved, 0
//     2  u16  device id
//     4  u32  sequence number (wraps)
//     8  u64  device timestamp, µs (< 2^63)
//     16 f32  values of the present fields, in the order acc, gyro, quat, mag
//     .. u32  CRC-32C of every payload byte before it
//
// NativeDecoder delivers Samples with kFieldSeq | kFieldTDevice and the present fields (their
// bits equal SampleField's), in the device's units (DeviceConfig::acc_unit, gyro_unit), the
// quaternion as w,x,y,z. Decoded::device_id is the frame's device id.
#include <cstddef>
#include <cstdint>

#include "adapters/codecs/codec.h"

namespace primus::adapters::codecs {

namespace native {
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::uint8_t kFieldAcc = 1u << 0;
inline constexpr std::uint8_t kFieldGyro = 1u << 1;
inline constexpr std::uint8_t kFieldQuat = 1u << 2;
inline constexpr std::uint8_t kFieldMag = 1u << 3;
inline constexpr std::size_t kHeaderBytes = 16;
inline constexpr std::size_t kCrcBytes = 4;
inline constexpr std::size_t kMaxPayload = kHeaderBytes + 13 * 4 + kCrcBytes;  ///< 72
inline constexpr std::size_t kMaxEncoded = kMaxPayload + 1;  ///< COBS adds one byte below 254
inline constexpr std::size_t kMaxWire = kMaxEncoded + 1;     ///< with the 0x00 delimiter

/// Payload bytes for a field mask (header + values + CRC).
constexpr std::size_t payload_bytes(std::uint8_t fields) noexcept {
  std::size_t n = kHeaderBytes + kCrcBytes;
  if (fields & kFieldAcc) n += 12;
  if (fields & kFieldGyro) n += 12;
  if (fields & kFieldQuat) n += 16;
  if (fields & kFieldMag) n += 12;
  return n;
}

/// One frame's content, for encoders (tests, benchmarks, the load generator).
struct Frame {
  std::uint8_t fields = kFieldAcc | kFieldGyro;
  std::uint16_t device_id = 0;
  std::uint32_t seq = 0;
  std::uint64_t t_device_us = 0;
  float acc[3] = {0, 0, 0};
  float gyro[3] = {0, 0, 0};
  float quat[4] = {1, 0, 0, 0};  ///< w, x, y, z
  float mag[3] = {0, 0, 0};
};

/// Writes the payload (unencoded) into out[kMaxPayload]; returns its length.
std::size_t build_payload(const Frame& f, std::uint8_t* out) noexcept;
/// COBS-encodes n bytes (n < 254 * 255) into out (n + n / 254 + 1 bytes); returns bytes written.
std::size_t cobs_encode(const std::uint8_t* in, std::size_t n, std::uint8_t* out) noexcept;
/// The whole wire frame (COBS + 0x00) into out[kMaxWire]; returns bytes written.
std::size_t encode(const Frame& f, std::uint8_t* out) noexcept;
}  // namespace native

class NativeDecoder final : public Decoder {
 public:
  /// A new decoder hunts for the first 0x00 (Sync::kHunt) unless told it starts aligned.
  explicit NativeDecoder(Sync start = Sync::kHunt) noexcept : hunting_(start == Sync::kHunt) {}
  void feed(std::span<const std::uint8_t> bytes, const FrameSink& sink) noexcept override;
  void finish(const FrameSink& sink) noexcept override;
  void reset(Sync sync) noexcept override;

 private:
  void decode(const std::uint8_t* enc, std::size_t n, const FrameSink& sink) noexcept;

  std::uint8_t buf_[native::kMaxEncoded];
  std::size_t len_ = 0;
  bool overlong_ = false;
  bool hunting_;
  bool garbage_run_ = false;
};

}  // namespace primus::adapters::codecs
