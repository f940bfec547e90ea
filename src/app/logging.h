#pragma once
// Logging setup for the executables. Under systemd (JOURNAL_STREAM set and matching stderr) logs go
// to the journal through spdlog's systemd sink (priorities kept, no duplicate timestamps);
// otherwise to stderr with timestamps and thread names.
#include <string>

namespace primus::app {

/// Install the default logger. `level` is one of trace|debug|info|warn|error|critical|off.
void setup_logging(const std::string& level);
/// Change the level of the default logger at run time (SIGHUP).
void set_log_level(const std::string& level);
/// True when stderr is connected to the journal.
bool stderr_is_journal();

}  // namespace primus::app
