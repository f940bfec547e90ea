#pragma once
// `primusctl captures import FILE`: a labelled recording into the capture store
// (src/dataio/importer.h; docs/training.md "Bring your own data"). Works offline on the SQLite
// file, next to a running daemon or without one.
#include <iosfwd>
#include <string>

#include "src/ctl/recording_options.h"

namespace primus::ctl {

struct ImportCommandOptions {
  RecordingOptions rec;
  std::string db;        ///< capture store; empty: capture.database of --config
  bool dry_run = false;  ///< print what would be stored, store nothing
  bool json = false;     ///< the report as one JSON document on stdout
  bool no_null = false;  ///< do not store null segments as null captures

  void add_to(CLI::App& cmd);
};

/// Exit status (src/ctl/exit_status.h): 0 stored (or would store), 1 the file was refused or the
/// store failed (nothing stored), 2 a bad option or config.
int run_import(const ImportCommandOptions& o, std::ostream& out, std::ostream& err);

}  // namespace primus::ctl
