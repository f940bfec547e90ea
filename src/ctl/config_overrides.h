#pragma once
// A daemon config file as a TOML table, with KEY=VALUE overrides applied before the daemon's own
// loader checks it: what `captures import`, `evaluate` and `primus-model finetune` share for
// --config, --set, --events and --training.
#include <toml++/toml.h>
#include <filesystem>
#include <string>

namespace primus::ctl {

/// The table of `path` (checked first by load_config(), so a FIFO, an oversized or an invalid
/// file is refused with its error), and its directory in `base_dir`; an empty table for "".
[[nodiscard]] toml::table read_config_table(const std::string& path,
                                            std::filesystem::path& base_dir);

/// Sets KEY=VALUE in `t`: VALUE in TOML syntax, or a bare word taken as a string
/// (`acc_unit=g`). Throws std::runtime_error naming `flag` and the text.
void apply_override(toml::table& t, const std::string& kv, const char* flag);

}  // namespace primus::ctl
