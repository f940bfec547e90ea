#pragma once
// `primusctl captures export`: the capture store as CSV or NumPy .npz, for people who want their
// data in Python. Formats (docs/capture.md has the full description and a Python snippet):
//
// CSV  one header line, then one row per sample:
//        capture_id,label,device,i,t_s,t_device_us,t_host_ns,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,
//        labelled
//      i: sample index in its capture; t_s = i / rate_hz; t_device_us and t_host_ns interpolated
//      linearly between the capture's first and last sample times; acc in m/s², gyro in rad/s,
//      floats printed in the shortest form that reads back to the same float32. Text fields are
//      quoted (RFC 4180) when they contain a comma, a quote or a newline. labelled: 1 inside the
//      capture's labelled span, 0 in its context (src/training/dataset.h).
// NPZ  an uncompressed zip of .npy files (numpy.load(path) opens it, no pickle needed):
//        data            float32 [N, 6]  every sample of every capture, capture after capture
//        offsets         int64   [C + 1] capture k is data[offsets[k]:offsets[k + 1]]
//        ids             int64   [C]
//        labels, devices <U      [C]     unicode strings
//        rate_hz, source_rate_hz                       float64 [C]
//        t_start_device_us, t_end_device_us, t_start_host_ns, t_end_host_ns, created_wall_ns
//                                                      int64   [C]
//      Limited to 4 GiB per array and per file (no ZIP64): larger exports fail with a message.
//
// Both are written to a temporary file next to `out` and renamed into place when complete, so
// `out` is either the whole export or untouched. The store is read in one snapshot (a daemon may
// keep writing meanwhile).
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "src/capture/capture_store.h"

namespace primus::capture {

struct ExportOptions {
  std::filesystem::path db;
  std::string format;  ///< "csv" | "npz"
  std::filesystem::path out;
  std::optional<std::string> label;   ///< only this label
  std::optional<std::string> device;  ///< only this device
};

struct ExportSummary {
  std::int64_t captures = 0;
  std::int64_t samples = 0;
  std::int64_t bytes_written = 0;
};

/// Writes the matching captures of an open store to `out` in `format` ("csv" | "npz").
/// Throws CaptureError (out left untouched) on a bad format or an I/O failure.
ExportSummary export_captures(const CaptureStore& store, const CaptureFilter& filter,
                              const std::string& format, const std::filesystem::path& out);

/// The CLI entry: opens opt.db read-only and exports. Returns 0 on success (a one-line summary
/// goes to err), 2 for a bad format, 1 for any other failure (the message goes to err).
int run_captures_export(const ExportOptions& opt, std::ostream& err);

}  // namespace primus::capture
