#pragma once
// primusctl commands that talk to a running primusd over its control API (docs/control.md):
//   status, devices, reload, label start|stop|mark, labels, captures stats, finetune [status],
//   models list|activate|rollback, call METHOD [JSON]
// and the offline `captures export` (src/capture/export.h).
//
// Exit status (src/ctl/exit_status.h): 0 ok reply, 1 error reply ("error <code>: <message>" on
// stderr) or a failed export, 2 bad option, endpoint or unreadable config/key file, 3 no reply.
// With --json, stdout holds exactly one JSON document (one line) when the status is 0.
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace CLI {
class App;
}

namespace primus::ctl {

/// Options common to every control command.
struct ControlOptions {
  std::string
      endpoint;        ///< empty: the first of control_endpoints(config), else the default ipc one
  std::string config;  ///< config file to take the endpoint (and CURVE server key) from
  double timeout_s = 10;
  bool json = false;                ///< print the reply's result as one line of JSON
  std::string curve_server_key;     ///< server public key (Z85, or a file holding it): CURVE on
  std::string curve_client_secret;  ///< file with this client's secret key; empty: ephemeral
};

/// One call of `method`: prints the result (the human form for `method`, format_result of
/// src/ctl/format.h, or JSON with opt.json) to `out`, errors to `err`. Returns 0, 1, 2 or 3 as
/// above. Blocks up to opt.timeout_s.
int run_control(const ControlOptions& opt, const std::string& method, const nlohmann::json& params,
                std::ostream& out, std::ostream& err);

/// The control subcommands of primusctl. The constructor adds them to `app`; after app.parse(),
/// parsed() says whether one of them (or a group of them: label, captures, models) was chosen,
/// also after a parse error, and run() runs it (returns the exit status).
/// Not copyable: `app` keeps pointers into it, so it must outlive the parse.
class ControlCommands {
 public:
  explicit ControlCommands(CLI::App& app);
  ~ControlCommands();
  ControlCommands(const ControlCommands&) = delete;
  ControlCommands& operator=(const ControlCommands&) = delete;

  [[nodiscard]] bool parsed() const;
  int run(std::ostream& out, std::ostream& err);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace primus::ctl
