#pragma once
// JSON payloads, one message per unit (an MQTT message): the ESP32 + MPU6050 / BNO055 style
//   {"seq": 17, "t_ms": 123456, "ax": 0.01, "ay": 0.02, "az": 1.0, "gx": 0.1, "gy": 0, "gz": 0}
// or an array of such objects (several samples in one message), or nested objects reached by a
// dotted path ("imu.acc.x"). Each field's JSON key comes from the field map: by default the
// csv column names ("acc_x", "t_ms", ...), renamed per column by JsonOptions::keys.
//
// Per object: acc_x..z are required; gyro, quat and mag are taken when all their components are
// present (a group present in part is a kBadValue drop); `seq` (a non-negative integer) gives
// kFieldSeq; the first of t_us, t_ms, t_s present gives kFieldTDevice. Values must be JSON
// numbers (finite by construction); a time that does not fit in int64 µs is kBadValue.
// A payload that is not valid JSON, not an object or array of objects, or an object without a
// complete accelerometer is dropped as kBadValue (each bad element of an array once); a
// payload longer than kMaxPayload bytes is dropped as kBadLength.
//
// Unlike the byte-stream codecs, a JSON payload is only decodable as a whole: feed() appends to a
// buffer of kMaxPayload bytes reserved at construction (no allocation), and finish() parses it
// (nlohmann-json, which allocates while parsing; MQTT messages are allocated by libmosquitto
// anyway). Bytes fed after the last finish() and then reset() are forgotten.
// Threads: not thread-safe, like every Decoder.
#include <array>
#include <string>
#include <vector>

#include "adapters/codecs/codec.h"

namespace primus::adapters::codecs {

/// Fields a JSON sample can carry, in the order of kJsonFieldNames.
enum class JsonField : std::uint8_t {
  kSeq,
  kTimeS,
  kTimeMs,
  kTimeUs,
  kAccX,
  kAccY,
  kAccZ,
  kGyroX,
  kGyroY,
  kGyroZ,
  kQuatW,
  kQuatX,
  kQuatY,
  kQuatZ,
  kMagX,
  kMagY,
  kMagZ,
};
inline constexpr std::size_t kJsonFieldCount = 17;
/// The default key of each field: the csv column names.
inline constexpr std::array<const char*, kJsonFieldCount> kJsonFieldNames{
    "seq",    "t_s",    "t_ms",   "t_us",   "acc_x",  "acc_y", "acc_z", "gyro_x", "gyro_y",
    "gyro_z", "quat_w", "quat_x", "quat_y", "quat_z", "mag_x", "mag_y", "mag_z"};

struct JsonOptions {
  /// The key (or dotted path) of each field; defaults to kJsonFieldNames.
  std::array<std::string, kJsonFieldCount> keys;
  JsonOptions();
  /// Applies "column=key" renames (DeviceConfig::json_fields); throws std::invalid_argument
  /// naming an entry that is not of that form or names an unknown column.
  void rename(const std::vector<std::string>& entries);
};

class JsonSampleDecoder final : public Decoder {
 public:
  static constexpr std::size_t kMaxPayload = 64 * 1024;
  /// Largest number of samples taken from one array payload; more are kBadLength drops.
  static constexpr std::size_t kMaxSamplesPerPayload = 1024;

  explicit JsonSampleDecoder(JsonOptions opt);
  void feed(std::span<const std::uint8_t> bytes, const FrameSink& sink) noexcept override;
  void finish(const FrameSink& sink) noexcept override;
  void reset(Sync sync) noexcept override;

 private:
  struct Path {
    std::vector<std::string> parts;  ///< "imu.acc.x" -> {"imu", "acc", "x"}
  };
  std::array<Path, kJsonFieldCount> paths_;
  std::string buf_;
  bool overlong_ = false;
};

}  // namespace primus::adapters::codecs
