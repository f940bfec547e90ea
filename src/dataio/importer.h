#pragma once
// `primusctl captures import`: a labelled recording (src/dataio/recording.h) into the capture
// store, converted by the daemon's own signal path and cut by its labelling rule
// (src/dataio/stream.h), so that an imported capture is what a live sensor with the same
// [[devices]] keys would have produced. docs/training.md "Bring your own data".
//
// All or nothing: every capture of one file is appended in one SQLite transaction
// (CaptureStore::append_all); a failure, a full disk or a kill -9 at any moment leaves the store
// without any capture of that file. Safe next to a running daemon: the store is in WAL mode, each
// connection waits up to busy_timeout for the other's write lock, and the checksums and
// validation are the store's own. Each capture's conversion JSON records where it came from:
// {"import": {"file": absolute path, "format": "csv" | ...}}.
//
// Errors: ImportError naming the file and, for a bad row, its line and column.
// Threads: one call at a time per store path is not required (SQLite serialises writers).
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/config/config.h"
#include "src/dataio/recording.h"
#include "src/dataio/stream.h"

namespace primus::dataio {

class ImportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ImportOptions {
  Config cfg;        ///< window, capture limits, events.null_label (the daemon's config)
  DeviceConfig dev;  ///< device keys; dev.path = the recording, dev.id = the captures' device
  RecordingFormat format = RecordingFormat::kCsv;
  LabelOptions labels;
  bool include_null = true;  ///< store null segments of at least one window as null captures
  bool dry_run = false;      ///< cut and report, write nothing
  std::filesystem::path db;  ///< the capture store
};

struct ImportedCapture {
  std::int64_t id = 0;  ///< 0 in a dry run
  std::string label;
  std::int64_t samples = 0;        ///< stored, with context
  std::int64_t label_samples = 0;  ///< labelled
  double seconds = 0;              ///< labelled seconds
  std::int64_t windows = 0;        ///< training windows it gives (training.stride)
};

struct ImportReport {
  std::string file;
  std::string format;
  std::string device;
  std::int64_t rows = 0;      ///< samples read
  std::int64_t bad_rows = 0;  ///< skipped (not strict)
  std::int64_t frames = 0;    ///< model-rate frames produced
  CutCounts counts;
  std::vector<ImportedCapture> captures;
  bool dry_run = false;
  std::filesystem::path db;
};

/// Reads, converts, cuts and (unless dry_run) stores. Throws ImportError.
[[nodiscard]] ImportReport import_recording(const ImportOptions& opt);

[[nodiscard]] nlohmann::json to_json(const ImportReport& r);
/// A short table: one line per label (captures, labelled seconds, windows) and the totals.
[[nodiscard]] std::string to_text(const ImportReport& r);

}  // namespace primus::dataio
