#pragma once
// A labelled capture: one span of one device's resampled 6-channel data at the model rate, as the
// capture store keeps it.
//
// Data layout: kCaptureChannels x n_samples float32, channel-major
// ([acc x, acc y, acc z, gyro x, gyro y, gyro z], each n_samples floats), acc in m/s², gyro in
// rad/s (the same layout as primus::Window). On disk the blob is these floats little-endian.
//
// Validation (validate_capture): every rule below is checked and the first failure is reported
// with the field named, e.g. "data[3][17] = nan: must be finite".
//   device      1..64 bytes, no control characters
//   label       1..64 bytes, no control characters
//   data        size = 6 * n_samples, n_samples in 1..kMaxCaptureSamples, every value finite
//   rate_hz, source_rate_hz  finite and > 0
//   times       t_end >= t_start for device µs and host ns; the host span matches the samples:
//               |(t_end_host_ns - t_start_host_ns) - (n - 1) / rate_hz| <= one sample period
//   conversion  empty (stored as "{}") or a JSON object
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace primus::capture {

inline constexpr int kCaptureChannels = 6;
/// Largest capture accepted: 4 hours at 50 Hz (a 17.3 MB blob).
inline constexpr std::int64_t kMaxCaptureSamples = 4 * 3600 * 50;
inline constexpr std::size_t kMaxNameBytes = 64;

/// Every error the capture store reports; what() names the field or the SQLite call.
class CaptureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CaptureRecord {
  std::int64_t id = 0;  ///< assigned by the store (ignored by append)
  std::string device;   ///< DeviceConfig::id
  std::string label;
  std::int64_t t_start_device_us = 0;  ///< device time of the first sample
  std::int64_t t_end_device_us = 0;    ///< device time of the last sample
  std::int64_t t_start_host_ns = 0;    ///< host steady time of the first sample
  std::int64_t t_end_host_ns = 0;      ///< host steady time of the last sample
  double rate_hz = 0.0;                ///< model rate of the data (sample spacing)
  double source_rate_hz = 0.0;         ///< the device's own rate (measured or nominal)
  std::string conversion;  ///< JSON object: units, axis map, gyro source... ("{}" if empty)
  std::int64_t created_wall_ns = 0;  ///< wall (UTC) time the store wrote it; set by append
  std::vector<float> data;           ///< kCaptureChannels * n_samples(), channel-major

  [[nodiscard]] std::int64_t n_samples() const noexcept {
    return static_cast<std::int64_t>(data.size()) / kCaptureChannels;
  }
  [[nodiscard]] float at(int channel, std::int64_t i) const {
    return data[static_cast<std::size_t>(channel * n_samples() + i)];
  }
};

/// Throws CaptureError naming the first field that breaks a rule above. Pure; any thread.
void validate_capture(const CaptureRecord& r);

/// Where the label lies in a capture of n samples: [first, first + count) from the conversion
/// JSON's {"label_first", "label_count"}, clamped to the capture; the whole capture when they are
/// absent, unreadable or empty. Pure; any thread. (training::labelled_span, the export.)
[[nodiscard]] std::pair<std::int64_t, std::int64_t> label_span(const std::string& conversion,
                                                               std::int64_t n);

/// Context stored on each side of a labelled span, in seconds: a whole window for a gesture (so
/// that training can cut every window holding all of it, and the negatives holding part of it:
/// docs/training.md), none for the null label (its windows lie inside its span). The one rule of
/// app::Labeller (a live label) and dataio::captures_from_segments (an import). Pure.
[[nodiscard]] constexpr double context_seconds(bool is_null, double window_s) noexcept {
  return is_null ? 0.0 : window_s;
}

/// CRC-32 (IEEE 802.3, the polynomial of zlib.crc32 and zip), continuing from `crc`.
[[nodiscard]] std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept;

/// The blob of a record: data as little-endian float32 bytes (channel-major).
[[nodiscard]] std::vector<unsigned char> encode_capture_data(const std::vector<float>& data);
/// Inverse of encode_capture_data. Throws CaptureError if n_bytes is not a multiple of 4.
[[nodiscard]] std::vector<float> decode_capture_data(const void* bytes, std::size_t n_bytes);

}  // namespace primus::capture
