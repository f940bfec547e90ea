#pragma once
// Labelled recordings, as users bring them, read into raw samples with one label per sample, for
// `primusctl captures import` and `primusctl evaluate` (docs/training.md "Bring your own data").
//
// Formats (RecordingFormat):
//   csv      a header row, one row per sample (adapters/csv_recording.h: time, acc, gyro and/or
//            quaternion columns named by the device keys), plus a label column (default "label")
//   cmi      the Kaggle CMI layout: sequence_id, sequence_counter, acc_x..z, rot_w..z and a label
//            column (default "gesture"); with phase_column (e.g. "behavior") only rows whose phase
//            is one of phase_values (default "Performs gesture") keep the label
//   capture  `primusctl captures export --format csv`: each capture a sequence, its rows labelled
//            inside the labelled span (the `labelled` column), null outside
//   npz      either the capture export layout (data [N,6], offsets [C+1], labels [C], optional
//            rate_hz [C] and conversions [C], whose label_first/label_count mark the labelled
//            span), or a raw layout: acc [N,3], gyro [N,3] and/or
//            quat [N,4] (in quat_order), label [N] (text or integers), optional t [N] (seconds;
//            else sample k is at k / rate_hz) and sequence [N] (sequences placed apart like CMI)
// Captured data (format capture, the export layout of npz) is already in m/s² and rad/s at the
// capture's rate, so its device keys are forced to SI units, the identity axis map and measured
// gyro, and rate_hz to the capture rate.
//
// Labels: a label equal to one of null_values (by default the empty string), or to null_label, is
// null. Sample times: t_device_us from the file's clock; t_host_ns = kHostBaseNs + 1000 *
// t_device_us, so that offline runs are deterministic.
//
// Errors: std::runtime_error naming the file and, for a bad row, its line and column (strict) or
// counting it (not strict: Recording::bad_rows).
// Threads: pure functions; any thread.
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/csv_recording.h"
#include "src/config/config.h"

namespace primus::dataio {

enum class RecordingFormat { kCsv, kCmi, kCapture, kNpz };

/// "csv" | "cmi" | "capture" | "npz"; parse throws std::invalid_argument naming the value.
[[nodiscard]] const char* to_string(RecordingFormat f) noexcept;
[[nodiscard]] RecordingFormat parse_recording_format(const std::string& s);
/// The format a path suggests: .npz -> npz, otherwise csv.
[[nodiscard]] RecordingFormat guess_format(const std::string& path);

/// Host time the first sample of an offline recording is placed at (1000 s: positive, and far
/// from 0 so that nothing treats it as "unset").
inline constexpr std::int64_t kHostBaseNs = 1'000'000'000'000;

struct LabelOptions {
  std::string label_column;  ///< empty: the format's default ("label"; cmi: "gesture")
  std::string phase_column;  ///< empty: none
  std::vector<std::string> phase_values{};  ///< empty with a phase column: {"Performs gesture"}
  std::vector<std::string> null_values{""};
  std::string null_label = "null";  ///< events.null_label
  bool strict = true;               ///< a bad row is an error (else skipped and counted)
};

struct LabelledRecording {
  adapters::Recording rec;  ///< samples; rec.labels per sample, "" = null; rec.lines per sample
  DeviceConfig dev;         ///< the device keys used (forced ones applied)
  RecordingFormat format = RecordingFormat::kCsv;
  std::vector<std::string> classes;  ///< distinct non-null labels, in first-seen order
};

/// Reads dev.path as `format`. dev holds the device keys (units, quat_order, axis_map,
/// gyro_source, columns, rate_hz, max_gap_s, sequence_id...).
[[nodiscard]] LabelledRecording read_labelled_recording(const DeviceConfig& dev,
                                                        RecordingFormat format,
                                                        const LabelOptions& opt);

}  // namespace primus::dataio
