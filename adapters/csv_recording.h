#pragma once
// Reads a recorded CSV into samples, for the replay source and offline tools.
//
// Format: a header row naming the columns, then one row per sample, separated by ',' or ';'
// (detected from the header). The time column holds seconds. Columns for acc (3), gyro (3) and
// quaternion (4, in the device's quat_order) are named in the DeviceConfig; when none are named,
// the defaults are tried: acc_x,acc_y,acc_z / gyr_x,gyr_y,gyr_z (or gyro_x..) / qw,qx,qy,qz.
// Rows with a missing or non-numeric value in a used column are skipped and counted.
#include <cstdint>
#include <string>
#include <vector>

#include "src/config/config.h"
#include "src/core/sample.h"

namespace primus::adapters {

struct Recording {
  std::vector<Sample> samples;  ///< t_device_us = time column in µs, seq = row number
  std::uint64_t bad_rows = 0;
  std::string first_bad_row;    ///< "line N: reason" of the first bad row, for the log
};

/// Throws std::runtime_error naming the file and, for a bad header, the missing column.
Recording read_csv_recording(const DeviceConfig& dev, std::uint32_t index);

}  // namespace primus::adapters
