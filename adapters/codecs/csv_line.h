#pragma once
// Text lines, one sample per line (Arduino `Serial.println`, HyperIMU-style UDP lines):
//   "12345,0.01,0.02,9.81,0.1,0.2,0.3\r\n"
// Fields are separated by one configured character (spaces around a field are ignored); lines
// end with '\n' (a preceding '\r' is ignored). Each field's meaning comes from the configured
// column list (CsvColumn); fields beyond the list are ignored. Empty lines and lines starting
// with '#' are skipped without counting. A line that is not numeric where a number is expected
// (e.g. a header row) or has fewer fields than columns is dropped as kBadValue; a line longer
// than kMaxLine bytes is dropped as kBadLength.
//
// Samples carry the columns present: acc / gyro / quat / mag only when all their components
// are listed; kFieldSeq with a `seq` column; kFieldTDevice with a t_s / t_ms / t_us column.
// Values are in the device's units; quaternion components land in w,x,y,z order.
#include <string>
#include <vector>

#include "adapters/codecs/codec.h"

namespace primus::adapters::codecs {

enum class CsvColumn : std::uint8_t {
  kSkip,
  kSeq,
  kTimeS,
  kTimeMs,
  kTimeUs,
  kDevice,
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

/// Parses a column name ("acc_x", "t_ms", "skip", ...); false if unknown.
bool parse_csv_column(const std::string& name, CsvColumn& out);
/// The names parse_csv_column accepts, comma-separated (for error messages).
const char* csv_column_names();

struct CsvOptions {
  std::vector<CsvColumn> columns;  ///< one per field, in line order
  char separator = ',';
};

class CsvLineDecoder final : public Decoder {
 public:
  static constexpr std::size_t kMaxLine = 1024;
  /// Throws std::invalid_argument when the columns name no complete accelerometer.
  explicit CsvLineDecoder(CsvOptions opt, Sync start = Sync::kHunt);
  void feed(std::span<const std::uint8_t> bytes, const FrameSink& sink) noexcept override;
  void finish(const FrameSink& sink) noexcept override;
  void reset(Sync sync) noexcept override;

 private:
  void parse_line(const char* line, std::size_t n, const FrameSink& sink) noexcept;

  CsvOptions opt_;
  std::uint8_t present_ = 0;  ///< SampleField bits the columns provide
  char buf_[kMaxLine];
  std::size_t len_ = 0;
  bool overlong_ = false;
  bool hunting_;
  bool garbage_run_ = false;
};

}  // namespace primus::adapters::codecs
