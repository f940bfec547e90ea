#pragma once
// `primusctl events`: subscribe to the bus (docs/events.md) and print what arrives.
//
// Exit status (src/ctl/exit_status.h): 0 after `count` messages or SIGINT/SIGTERM, 2 on a bad
// argument, an unreadable config or key file or an endpoint it cannot connect to, 3 on timeout.
// With --json every line of stdout is one JSON document (the message body; bodies that are not
// a JSON object are reported on stderr instead).
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace primus::ctl {

struct EventsOptions {
  std::vector<std::string> endpoints;  ///< empty: from `config`, else the default ipc endpoint
  std::string config;
  std::vector<std::string> devices;  ///< empty: all
  std::vector<std::string> topics;   ///< empty: all (gesture, score, status, device)
  bool json = false;
  std::uint64_t count = 0;          ///< 0: run until interrupted
  double timeout_s = 0;             ///< 0: wait forever
  std::string curve_server_key;     ///< server public key (Z85 or a file holding it): CURVE on
  std::string curve_client_secret;  ///< file with this client's secret key; empty: ephemeral
};

/// Runs on the calling thread until it returns (status as above); installs SIGINT and SIGTERM
/// handlers that end it. Prints one line per message to `out` (flushed), errors to `err`.
int run_events(const EventsOptions& opt, std::ostream& out, std::ostream& err);
/// The one-line human form of a bus message (exposed for tests).
std::string format_message(const std::string& topic, const std::string& json);

}  // namespace primus::ctl
