#pragma once
// How primusctl reaches a primusd: endpoints as a client connects to them, and CURVE keys given
// on the command line. Pure functions; thread-safe.
#include <string>

namespace primus::ctl {

/// A bind endpoint as a client connects to it: tcp://*:5557 and tcp://0.0.0.0:5557 become
/// tcp://127.0.0.1:5557; others come back unchanged.
std::string connectable(std::string ep);

/// Whether `ep` (a connect endpoint) is on this host: ipc://, tcp://127.*, localhost, [::1].
/// Then the daemon's CLOCK_MONOTONIC is ours, and host timestamps can be shown as ages.
bool same_host(const std::string& ep);

/// A Z85 key given on the command line (40 characters, not an existing file), or the key in the
/// file `arg` names (bus::read_curve_key_file). Throws std::runtime_error when it cannot be read.
std::string curve_key_arg(const std::string& arg);

}  // namespace primus::ctl
