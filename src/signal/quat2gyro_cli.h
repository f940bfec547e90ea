#pragma once
// Offline quaternion -> angular velocity over CSV files (`primusctl quat2gyro`), using the same
// converter as the daemon (QuatRate, centred by default).
//
// Input: a CSV file whose first line is a header; the delimiter is ',' (or ';' when the header
// holds ';' and no ','). Columns are found by header name: a time column in seconds and four
// quaternion columns given in `order`. Output: header `t,gx,gy,gz`, one row per input data row,
// body-frame angular velocity in rad/s; `t` is copied from the input verbatim. A row that cannot
// be used (wrong field count, not a number, NaN/inf/zero quaternion, time not after the previous
// good row) is written as `t,nan,nan,nan` (or `,nan,nan,nan` if its time is unreadable) and
// counted; the summary on `err` says how many rows were bad and why.
//
// Threads: none shared. Not for the hot path (reads the whole file).
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "src/core/device_enums.h"
#include "src/signal/quat_rate.h"

namespace primus::signal {

struct Quat2GyroOptions {
  std::string in_path;                   ///< input CSV; "-" = stdin
  std::string out_path;                  ///< output CSV; "-" = stdout
  std::string time_col = "t";            ///< time column, seconds
  std::vector<std::string> quat_cols{};  ///< 4 names in `order`; empty: qw,qx,qy,qz in `order`
  QuatOrder order = QuatOrder::kWxyz;
  QuatRateMethod method = QuatRateMethod::kCentred;
};

struct Quat2GyroReport {
  std::uint64_t rows = 0;          ///< data rows read
  std::uint64_t bad_parse = 0;     ///< wrong field count or a value that is not a number
  std::uint64_t bad_quat = 0;      ///< NaN/inf/zero quaternion
  std::uint64_t bad_time = 0;      ///< time NaN/inf or not after the previous good row
  std::uint64_t renormalised = 0;  ///< non-unit quaternions renormalised (rows still good)
  [[nodiscard]] std::uint64_t bad() const noexcept { return bad_parse + bad_quat + bad_time; }
};

/// Convert `in` to `out`. Returns false (with `error` set, nothing written) when the header lacks
/// a named column or the options are invalid; bad rows are not errors.
bool quat2gyro_stream(std::istream& in, std::ostream& out, const Quat2GyroOptions& opt,
                      Quat2GyroReport& report, std::string& error);

/// The CLI entry: opens the files, converts, prints the summary (or the error) on `err`.
/// Returns 0 on success (even with bad rows), 1 on a usage/IO error.
int run_quat2gyro(const Quat2GyroOptions& opt, std::ostream& err);

}  // namespace primus::signal
