#pragma once
// `primusctl keygen PREFIX`: a CURVE key pair for the bus and the control API (docs/events.md).
#include <ostream>
#include <string>

namespace primus::ctl {

/// Writes PREFIX.secret (0600) and PREFIX.public, overwriting them, and prints the public key to
/// `out`: two human lines, or with `json` one line {"secret_file", "public_file", "public_key"}.
/// Returns the exit status: 0, or 1 when a file cannot be written (message on `err`).
int run_keygen(const std::string& prefix, bool json, std::ostream& out, std::ostream& err);

}  // namespace primus::ctl
