#pragma once
// The options `primusctl captures import` and `primusctl evaluate` (primus-model evaluate) share:
// which recording, in which format, with which device keys and labels (docs/training.md).
//
// Device keys: the [[devices]] entry of --config whose id is --device supplies them (units,
// quat_order, axis_map, gyro_source, columns, rate_hz, max_gap_s, timing...), so a recording of a
// configured sensor is converted exactly as the live sensor is; without such an entry a device
// with the defaults of config/primusd.toml is used. Each `--set KEY=VALUE` (a TOML value:
// --set acc_unit='"g"' or --set 'acc_columns=["ax","ay","az"]') sets one device key over those,
// and `--events KEY=VALUE` one [events] key. The result is validated by the daemon's own config
// loader, so errors name the key: `devices[0].acc_unit = "gee": must be one of ...`. The adapter
// is always "replay" with path = FILE.
//
// Threads: plain values; resolve() reads files and may throw.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "src/config/config.h"
#include "src/dataio/recording.h"

namespace primus::ctl {

struct RecordingOptions {
  std::string file;
  std::string config;  ///< daemon config file; empty: defaults
  std::string device = "import";
  std::string format;               ///< empty: guessed from the file name (.npz -> npz, else csv)
  std::vector<std::string> set;     ///< device KEY=VALUE
  std::vector<std::string> events;  ///< [events] KEY=VALUE
  std::string label_column;
  std::string phase_column;
  std::vector<std::string> phase_values;
  std::vector<std::string> null_values;
  bool skip_bad_rows = false;

  /// Registers FILE and the options above on `cmd`.
  void add_to(CLI::App& cmd);
};

struct ResolvedRecording {
  Config cfg;  ///< the whole config, cfg.devices[0] the recording's device
  DeviceConfig dev;
  dataio::RecordingFormat format = dataio::RecordingFormat::kCsv;
  dataio::LabelOptions labels;
};

/// Builds and validates the config. Throws std::runtime_error (ConfigError) naming the key.
[[nodiscard]] ResolvedRecording resolve(const RecordingOptions& o);

}  // namespace primus::ctl
