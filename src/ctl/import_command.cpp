#include "src/ctl/import_command.h"

#include <ostream>

#include "src/ctl/exit_status.h"
#include "src/dataio/importer.h"

namespace primus::ctl {

void ImportCommandOptions::add_to(CLI::App& cmd) {
  rec.add_to(cmd);
  cmd.add_option("--db", db, "capture database (default: capture.database of --config)");
  cmd.add_flag("--dry-run", dry_run, "convert and cut, print what would be stored, store nothing");
  cmd.add_flag("--no-null", no_null, "do not store null segments as null captures");
  cmd.add_flag("--json", json, "print the report as one JSON document");
}

int run_import(const ImportCommandOptions& o, std::ostream& out, std::ostream& err) {
  dataio::ImportOptions io;
  try {
    auto r = resolve(o.rec);
    io.cfg = std::move(r.cfg);
    io.dev = std::move(r.dev);
    io.format = r.format;
    io.labels = std::move(r.labels);
  } catch (const std::exception& e) {
    err << "primusctl captures import: " << e.what() << "\n";
    return kExitUsage;
  }
  io.include_null = !o.no_null;
  io.dry_run = o.dry_run;
  io.db = o.db.empty() ? capture_database(io.cfg) : std::filesystem::path(o.db);
  try {
    const auto report = dataio::import_recording(io);
    if (o.json)
      out << dataio::to_json(report).dump() << "\n";
    else
      out << dataio::to_text(report);
    return kExitOk;
  } catch (const std::exception& e) {
    err << "primusctl captures import: " << e.what() << "\n";
    return kExitFailed;
  }
}

}  // namespace primus::ctl
