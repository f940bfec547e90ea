#pragma once
// Reads a recorded CSV into samples, for the replay source and offline tools.
//
// Format csv: a header row naming the columns, then one row per sample, separated by ',' or ';'
// (detected from the header). The time column (time_column) holds time_unit (s, ms, us, ns).
// Columns for acc (3), gyro (3) and quaternion (4, in the device's quat_order) are named in the
// DeviceConfig; when none are named, the defaults are tried: acc_x,acc_y,acc_z /
// gyr_x,gyr_y,gyr_z (or gyro_x..) / qw,qx,qy,qz.
//
// Format cmi (the Kaggle CMI "Detect Behavior with Sensor Data" layout): columns sequence_id,
// sequence_counter, acc_x..acc_z (m/s²), rot_w..rot_z (quaternion, scalar first); every other
// column is ignored. There is no time column: sample k of a sequence is at k / rate_hz. With
// sequence_id set only that sequence is read; otherwise all, in file order, each starting
// max_gap_s + 1 s after the previous one ends, so the pipeline never forms a window across two.
//
// Format capture (what `primusctl captures export --format csv` writes, src/capture/export.h):
// capture_id,label,device,i,t_s,t_device_us,t_host_ns,acc_x..z (m/s²),gyro_x..z (rad/s). Each
// capture is a sequence timed by t_s, placed like CMI sequences; sequence_id picks one
// capture_id. Set rate_hz to the capture rate (the model rate, 50 Hz by default).
//
// Fields may be quoted (RFC 4180): a separator inside quotes does not split.
// Rows with a missing or non-numeric value in a used column (CMI has empty rot_* cells) are
// skipped and counted (LabelColumns::strict: refused, the line and column named).
//
// Labels (LabelColumns, for `primusctl captures import` and `evaluate`, src/dataio/): each row's
// text in label_column is kept per sample; with phase_column set, rows whose phase is not one of
// phase_values get the empty label. For format capture, a `labelled` column (written by the
// export since it marks the labelled span) of 0 also gives the empty label.
#include <cstdint>
#include <string>
#include <vector>

#include "src/config/config.h"
#include "src/core/sample.h"

namespace primus::adapters {

/// Which columns carry labels (see the top of this file).
struct LabelColumns {
  std::string label_column;  ///< required when LabelColumns are given
  std::string phase_column;  ///< optional
  std::vector<std::string> phase_values{};
  bool strict = false;  ///< a bad row throws std::runtime_error naming line and column
};

struct Recording {
  std::vector<Sample> samples;       ///< t_device_us = time column in µs, seq = row number
  std::vector<std::string> labels;   ///< per sample, when LabelColumns were given
  std::vector<std::uint32_t> lines;  ///< per sample, its line in the file (1 = header), with labels
  std::uint64_t bad_rows = 0;
  std::string first_bad_row;  ///< "line N: reason" of the first bad row, for the log
};

/// Throws std::runtime_error naming the file and, for a bad header, the missing column.
/// With `labels`, also reads each row's label (a missing label column throws, naming it).
Recording read_csv_recording(const DeviceConfig& dev, std::uint32_t index,
                             const LabelColumns* labels = nullptr);

}  // namespace primus::adapters
