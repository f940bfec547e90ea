// primusctl: talk to a running primusd (events, control API) and work offline on files.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string_view>
#include <vector>

#include "src/core/version.h"
#include "src/ctl/control_commands.h"
#include "src/ctl/events_command.h"
#include "src/ctl/exit_status.h"
#include "src/ctl/import_command.h"
#include "src/ctl/keygen_command.h"
#include "src/signal/quat2gyro_cli.h"

namespace {

/// `primusctl embed ...` / `primusctl model ...`: replace this process by primus-model with the
/// same arguments, looked up next to this executable first, then on PATH. Returns only on error.
int exec_model_tool(char** argv) {
  std::vector<char*> args(argv, argv + 1);
  for (char** a = argv + 1; *a != nullptr; ++a) args.push_back(*a);
  args.push_back(nullptr);
  std::string tool = "primus-model";
  args[0] = tool.data();
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::string beside = (self.parent_path() / "primus-model").string();
    ::execv(beside.c_str(), args.data());
  }
  ::execvp("primus-model", args.data());
  std::cerr << "primusctl " << argv[1] << ": cannot run primus-model (not next to primusctl, "
            << "not on PATH): " << std::strerror(errno) << "\n";
  return primus::ctl::kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::string_view(argv[1]) == "embed" || std::string_view(argv[1]) == "model" ||
                   std::string_view(argv[1]) == "evaluate"))
    return exec_model_tool(argv);
  // stdout carries only what was asked for (data, JSON, tables): every log line goes to stderr.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "primusctl", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  spdlog::set_pattern("primusctl: %l: %v");
  CLI::App app{"primusctl: client and offline tools for primusd"};
  app.set_version_flag("-V,--version", std::string("primusctl ") + std::string(primus::version()));
  app.require_subcommand(1);

  primus::ctl::EventsOptions ev;
  auto* events = app.add_subcommand("events", "print the messages primusd publishes");
  events->add_option("-e,--endpoint", ev.endpoints, "ZeroMQ endpoint(s) to connect to");
  events->add_option("-c,--config", ev.config, "take the endpoints from this config file");
  events->add_option("-d,--device", ev.devices, "only this device (repeatable)");
  events->add_option("-t,--topic", ev.topics,
                     "topic prefix: gesture, score, status, device, training (repeatable)");
  events->add_flag("--json", ev.json, "print the raw JSON, one message per line");
  events->add_option("-n,--count", ev.count, "exit after this many messages (0 = never)");
  events->add_option("--timeout", ev.timeout_s,
                     "exit with status 3 after this many seconds without a message (0 = never)");
  events->add_option("--curve-server-key", ev.curve_server_key,
                     "server public key (Z85, or a file): connect with CURVE");
  events->add_option("--curve-secret", ev.curve_client_secret,
                     "file with this client's CURVE secret key (default: a fresh key)");

  std::string keygen_prefix;
  auto* keygen =
      app.add_subcommand("keygen", "make a CURVE key pair: PREFIX.secret and PREFIX.public");
  keygen->add_option("PREFIX", keygen_prefix, "path prefix of the two files")->required();
  bool keygen_json = false;
  keygen->add_flag("--json", keygen_json, "print the file names and public key as one JSON line");

  primus::signal::Quat2GyroOptions qg;
  std::string qg_order = "wxyz";
  std::string qg_method = "centred";
  auto* quat2gyro = app.add_subcommand(
      "quat2gyro", "CSV of time + quaternion -> CSV of body angular velocity (rad/s)");
  quat2gyro->add_option("--in", qg.in_path, "input CSV (- = stdin)")->required();
  quat2gyro->add_option("--out", qg.out_path, "output CSV t,gx,gy,gz (- = stdout)")->required();
  quat2gyro->add_option("--time-col", qg.time_col, "time column, seconds")->capture_default_str();
  quat2gyro
      ->add_option("--quat-cols", qg.quat_cols,
                   "4 quaternion columns in --order (default qw,qx,qy,qz)")
      ->delimiter(',')
      ->expected(4);
  quat2gyro->add_option("--order", qg_order, "quaternion component order")
      ->check(CLI::IsMember({"wxyz", "xyzw"}))
      ->capture_default_str();
  quat2gyro
      ->add_option("--method", qg_method, "rate estimate: centred, forward or backward difference")
      ->check(CLI::IsMember({"centred", "forward", "backward"}))
      ->capture_default_str();

  // The model tools need LibTorch: they live in primus-model, run only when asked for.
  app.add_subcommand("embed", "run the PRIMUS encoder on one window CSV (runs primus-model)")
      ->allow_extras()
      ->prefix_command();
  app.add_subcommand("model", "inspect model files: model info FILE (runs primus-model)")
      ->allow_extras()
      ->prefix_command();
  app.add_subcommand("evaluate",
                     "replay a labelled recording through a model: window and event figures "
                     "(runs primus-model)")
      ->allow_extras()
      ->prefix_command();

  primus::ctl::ControlCommands control(app);
  primus::ctl::ImportCommandOptions imp;
  auto* import_cmd =
      app.get_subcommand("captures")
          ->add_subcommand(
              "import", "store a labelled recording as captures (offline: writes the SQLite file)");
  imp.add_to(*import_cmd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, whatever CLI11's own code.
    return app.exit(e) == 0 ? primus::ctl::kExitOk : primus::ctl::kExitUsage;
  }
  if (import_cmd->parsed()) return primus::ctl::run_import(imp, std::cout, std::cerr);
  if (control.parsed()) return control.run(std::cout, std::cerr);
  if (events->parsed()) return primus::ctl::run_events(ev, std::cout, std::cerr);
  if (keygen->parsed())
    return primus::ctl::run_keygen(keygen_prefix, keygen_json, std::cout, std::cerr);
  if (quat2gyro->parsed()) {
    qg.order = qg_order == "xyzw" ? primus::QuatOrder::kXyzw : primus::QuatOrder::kWxyz;
    qg.method = qg_method == "forward"    ? primus::signal::QuatRateMethod::kForward
                : qg_method == "backward" ? primus::signal::QuatRateMethod::kBackward
                                          : primus::signal::QuatRateMethod::kCentred;
    return primus::signal::run_quat2gyro(qg, std::cerr);
  }
  return primus::ctl::kExitOk;
}
