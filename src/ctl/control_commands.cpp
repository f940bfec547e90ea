#include "src/ctl/control_commands.h"

#include <time.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <stdexcept>
#include <vector>
#include <zmq.hpp>

#include "src/bus/control_client.h"
#include "src/bus/curve.h"
#include "src/capture/export.h"
#include "src/config/config.h"
#include "src/ctl/endpoint.h"
#include "src/ctl/exit_status.h"
#include "src/ctl/format.h"
#include "src/ctl/json_fields.h"

namespace primus::ctl {
namespace {

using nlohmann::json;

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// Where and how one call goes.
struct Target {
  std::string endpoint;  ///< a connect endpoint
  std::optional<bus::CurveClientKeys> keys;
};

/// The endpoint and CURVE keys from the options and, where they leave them open, the config.
/// Throws std::runtime_error (unreadable config or key file).
Target resolve_target(const ControlOptions& opt) {
  Target t{opt.endpoint, std::nullopt};
  Config cfg;
  if (!opt.config.empty()) cfg = load_config(opt.config);
  if (t.endpoint.empty()) t.endpoint = control_endpoints(cfg).front();
  t.endpoint = connectable(t.endpoint);
  if (!opt.curve_server_key.empty()) {
    t.keys = bus::CurveClientKeys{curve_key_arg(opt.curve_server_key), {}};
  } else if (!cfg.bus.curve_secret_key.empty()) {
    // The daemon's sockets are CURVE servers: its public key follows from its secret key file,
    // when this user may read it.
    try {
      t.keys = bus::CurveClientKeys{
          bus::curve_public_from_secret(bus::read_curve_key_file(cfg.bus.curve_secret_key)), {}};
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("the daemon uses CURVE (bus.curve_secret_key): ") +
                               e.what() + "; pass --curve-server-key");
    }
  }
  if (!opt.curve_client_secret.empty()) {
    if (!t.keys) throw std::runtime_error("--curve-secret needs --curve-server-key");
    t.keys->client_secret_z85 = bus::read_curve_key_file(opt.curve_client_secret);
  }
  return t;
}

/// Throws zmq::error_t when `endpoint` is not one a socket can connect to (bad transport or
/// address): a usage error, told apart from a daemon that does not answer.
void check_endpoint(zmq::context_t& ctx, const std::string& endpoint) {
  zmq::socket_t probe(ctx, zmq::socket_type::dealer);
  probe.set(zmq::sockopt::linger, 0);
  probe.connect(endpoint);
}

/// Prints an ok reply's result to `out` (returns 0) or an error reply to `err` (returns 1).
int print_reply(const ControlOptions& opt, const std::string& method, const std::string& endpoint,
                const json& reply, std::ostream& out, std::ostream& err) {
  const json* ok = field(reply, "ok");
  if (ok && ok->is_boolean() && ok->get<bool>()) {
    const json* result = field(reply, "result");
    const json r = result ? *result : json();
    if (opt.json) {
      out << dump(r) << "\n";
    } else {
      out << format_result(method, r, same_host(endpoint) ? monotonic_ns() : 0) << "\n";
    }
    return kExitOk;
  }
  const json& e = sub(reply, "error");
  err << "error " << text(e, "code", "internal") << ": "
      << text(e, "message", "malformed reply: " + dump(reply)) << "\n";
  return kExitFailed;
}

}  // namespace

int run_control(const ControlOptions& opt, const std::string& method, const json& params,
                std::ostream& out, std::ostream& err) {
  Target target;
  try {
    target = resolve_target(opt);
  } catch (const std::exception& e) {
    err << "primusctl: " << e.what() << "\n";
    return kExitUsage;
  }

  zmq::context_t ctx(1);
  try {
    check_endpoint(ctx, target.endpoint);
  } catch (const zmq::error_t& e) {
    err << "primusctl: cannot connect to " << target.endpoint << ": " << e.what() << "\n";
    return kExitUsage;
  }
  json reply;
  try {
    reply = bus::control_call(ctx, target.endpoint, method, params, opt.timeout_s,
                              target.keys ? &*target.keys : nullptr);
  } catch (const std::exception& e) {
    err << "primusctl: " << e.what() << "\n";
    return kExitNoDaemon;
  }
  return print_reply(opt, method, target.endpoint, reply, out, err);
}

// ---- the subcommands ---------------------------------------------------------------------------

struct ControlCommands::Impl {
  using Run = std::function<int(std::ostream&, std::ostream&)>;
  struct Leaf {
    CLI::App* app;
    Run run;
  };

  ControlOptions opt;
  double timeout_s = -1;  ///< < 0: the command's default
  std::vector<Leaf> leaves;
  std::vector<CLI::App*> groups;  ///< label, captures, models: parents of leaves

  std::string device, label, method, params_text;
  double last_s = 0;
  std::int64_t from_ns = 0, to_ns = 0;
  CLI::Option* last_opt = nullptr;
  CLI::Option* from_opt = nullptr;
  CLI::Option* to_opt = nullptr;
  std::string mode;
  bool wait = false;
  std::int64_t version = 0;
  CLI::Option* version_opt = nullptr;
  bool force = false;
  capture::ExportOptions exp;
  std::string exp_config, exp_label, exp_device;
  CLI::Option* exp_label_opt = nullptr;
  CLI::Option* exp_device_opt = nullptr;
  bool exp_json = false;
  std::string cap_label, cap_device;
  std::int64_t cap_id = 0, cap_limit = 200;
  CLI::Option* cap_label_opt = nullptr;
  CLI::Option* cap_device_opt = nullptr;
  CLI::Option* cap_id_opt = nullptr;

  /// captures list/delete: --id, --label, --device as given (the service refuses a delete that
  /// names nothing).
  [[nodiscard]] json capture_selector_params() const {
    json p = json::object();
    if (cap_id_opt && cap_id_opt->count()) p["id"] = cap_id;
    if (!cap_label.empty()) p["label"] = cap_label;
    if (!cap_device.empty()) p["device"] = cap_device;
    return p;
  }

  // One per command group; the order of the calls is the order of `primusctl --help` and of
  // `leaves` (the first parsed leaf runs).
  void add_daemon_commands(CLI::App& app);    ///< status, devices, reload, labels
  void add_label_commands(CLI::App& app);     ///< label start|stop|mark
  void add_captures_commands(CLI::App& app);  ///< captures stats|list|delete|export
  void add_finetune_commands(CLI::App& app);  ///< finetune [status]
  void add_models_commands(CLI::App& app);    ///< models list|activate|rollback
  void add_call_command(CLI::App& app);       ///< call METHOD [PARAMS]

  void common(CLI::App* s,
              const char* timeout_help = "seconds to wait for the reply (default 10)") {
    s->add_option(
        "-e,--endpoint", opt.endpoint,
        "control endpoint (default: from --config, else ipc:///run/primusd/control.sock)");
    s->add_option("-c,--config", opt.config, "take the endpoint from this config file");
    s->add_option("--timeout", timeout_s, timeout_help)->check(CLI::NonNegativeNumber);
    s->add_flag("--json", opt.json, "print the result as one line of JSON");
    s->add_option("--curve-server-key", opt.curve_server_key,
                  "server public key (Z85, or a file): connect with CURVE");
    s->add_option("--curve-secret", opt.curve_client_secret,
                  "file with this client's CURVE secret key (default: a fresh key)");
  }

  /// The parsed options, with --timeout or else `default_timeout`.
  [[nodiscard]] ControlOptions options(double default_timeout) const {
    ControlOptions o = opt;
    o.timeout_s = timeout_s >= 0 ? timeout_s : default_timeout;
    return o;
  }

  /// A leaf that makes one call; `params` is evaluated after parsing.
  void call_leaf(CLI::App* s, std::string m, std::function<json()> params,
                 double default_timeout = 10) {
    leaves.push_back({s, [this, m = std::move(m), params = std::move(params), default_timeout](
                             std::ostream& out, std::ostream& err) {
                        return run_control(options(default_timeout), m,
                                           params ? params() : json::object(), out, err);
                      }});
  }

  /// A leaf that calls `method` with no params.
  void add_simple(CLI::App& app, const char* name, const char* help, const char* m) {
    auto* s = app.add_subcommand(name, help);
    common(s);
    call_leaf(s, m, nullptr);
  }

  int run_mark(std::ostream& out, std::ostream& err);
  int run_export(std::ostream& out, std::ostream& err);
  int run_finetune(std::ostream& out, std::ostream& err);
  int run_call(std::ostream& out, std::ostream& err);
};

void ControlCommands::Impl::add_daemon_commands(CLI::App& app) {
  add_simple(app, "status", "summary of the running daemon (control method status)", "status");
  add_simple(app, "devices", "the devices, their state and labelling (devices.list)",
             "devices.list");
  add_simple(app, "reload",
             "re-read the config file, like SIGHUP, and list the changes (config.reload)",
             "config.reload");
  add_simple(app, "labels", "the model's labels and what has been captured per label (labels.list)",
             "labels.list");
}

void ControlCommands::Impl::add_label_commands(CLI::App& app) {
  auto* group = app.add_subcommand("label", "record labelled captures of a device");
  group->require_subcommand(1);
  groups.push_back(group);
  auto* start = group->add_subcommand("start", "start labelling DEVICE's motion as LABEL");
  start->add_option("DEVICE", device, "device id")->required();
  start->add_option("LABEL", label, "gesture label")->required();
  common(start);
  call_leaf(start, "label.start", [this] { return json{{"device", device}, {"label", label}}; });
  auto* stop = group->add_subcommand("stop", "end the labelled span and store it as a capture");
  stop->add_option("DEVICE", device, "device id")->required();
  common(stop);
  call_leaf(stop, "label.stop", [this] { return json{{"device", device}}; });
  auto* mark = group->add_subcommand(
      "mark", "store a past span of DEVICE as a capture: --last S, or --from NS --to NS");
  mark->add_option("DEVICE", device, "device id")->required();
  mark->add_option("LABEL", label, "gesture label")->required();
  last_opt = mark->add_option("--last", last_s, "the last S seconds")->check(CLI::PositiveNumber);
  from_opt = mark->add_option("--from", from_ns, "span start, CLOCK_MONOTONIC ns of the host");
  to_opt = mark->add_option("--to", to_ns, "span end, CLOCK_MONOTONIC ns of the host");
  last_opt->excludes(from_opt)->excludes(to_opt);
  from_opt->needs(to_opt);
  to_opt->needs(from_opt);
  common(mark);
  leaves.push_back(
      {mark, [this](std::ostream& out, std::ostream& err) { return run_mark(out, err); }});
}

int ControlCommands::Impl::run_mark(std::ostream& out, std::ostream& err) {
  json p = {{"device", device}, {"label", label}};
  if (last_opt->count()) {
    p["last_s"] = last_s;
  } else if (from_opt->count() && to_opt->count()) {
    p["from_host_ns"] = from_ns;
    p["to_host_ns"] = to_ns;
  } else {
    err << "primusctl label mark: give --last S, or --from NS and --to NS\n";
    return kExitUsage;
  }
  return run_control(options(10), "label.mark", p, out, err);
}

void ControlCommands::Impl::add_captures_commands(CLI::App& app) {
  auto* group = app.add_subcommand("captures", "the capture store");
  group->require_subcommand(1);
  groups.push_back(group);
  auto* cstats = group->add_subcommand("stats", "size and contents of the store (captures.stats)");
  common(cstats);
  call_leaf(cstats, "captures.stats", nullptr);
  auto* clist =
      group->add_subcommand("list", "the newest captures, without samples (captures.list)");
  cap_label_opt = clist->add_option("--label", cap_label, "only this label");
  cap_device_opt = clist->add_option("--device", cap_device, "only this device");
  clist->add_option("--limit", cap_limit, "at most this many (1..10000, default 200)")
      ->check(CLI::Range(1, 10000));
  common(clist);
  call_leaf(clist, "captures.list", [this] {
    json p = capture_selector_params();
    p["limit"] = cap_limit;
    return p;
  });
  auto* cdel = group->add_subcommand(
      "delete",
      "delete capture --id N, or every capture of --label L [--device D] (captures.delete)");
  cap_id_opt = cdel->add_option("--id", cap_id, "one capture")->check(CLI::PositiveNumber);
  cdel->add_option("--label", cap_label, "every capture of this label")->excludes(cap_id_opt);
  cdel->add_option("--device", cap_device, "only this device's (with --label)")
      ->excludes(cap_id_opt);
  common(cdel);
  call_leaf(cdel, "captures.delete", [this] { return capture_selector_params(); });
  auto* e = group->add_subcommand(
      "export", "write the store as CSV or NumPy .npz (offline: reads the SQLite file)");
  e->add_option("--db", exp.db, "capture database (default: capture.database of --config)");
  e->add_option("-c,--config", exp_config, "take the database from this config file");
  e->add_option("--format", exp.format, "csv or npz")
      ->required()
      ->check(CLI::IsMember({"csv", "npz"}));
  e->add_option("--out", exp.out, "output file")->required();
  exp_label_opt = e->add_option("--label", exp_label, "only this label");
  exp_device_opt = e->add_option("--device", exp_device, "only this device");
  e->add_flag("--json", exp_json, "print the summary on stdout as one line of JSON");
  leaves.push_back(
      {e, [this](std::ostream& out, std::ostream& err) { return run_export(out, err); }});
}

int ControlCommands::Impl::run_export(std::ostream& out, std::ostream& err) {
  if (exp.db.empty()) {
    if (exp_config.empty()) {
      err << "primusctl captures export: give --db FILE or --config FILE\n";
      return kExitUsage;
    }
    try {
      exp.db = capture_database(load_config(exp_config));
    } catch (const std::exception& e) {
      err << "primusctl captures export: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  if (exp_label_opt->count()) exp.label = exp_label;
  if (exp_device_opt->count()) exp.device = exp_device;
  if (!exp_json) return capture::run_captures_export(exp, err);
  try {
    capture::StoreOptions so;
    so.read_only = true;
    const capture::CaptureStore store(exp.db, so);
    capture::CaptureFilter filter;
    filter.label = exp.label;
    filter.device = exp.device;
    const capture::ExportSummary s = capture::export_captures(store, filter, exp.format, exp.out);
    out << dump(json{{"captures", s.captures},
                     {"samples", s.samples},
                     {"bytes", s.bytes_written},
                     {"format", exp.format},
                     {"db", exp.db.string()},
                     {"out", exp.out.string()}})
        << "\n";
    return kExitOk;
  } catch (const std::exception& e) {
    err << "primusctl captures export: " << e.what() << "\n";
    return kExitFailed;
  }
}

void ControlCommands::Impl::add_finetune_commands(CLI::App& app) {
  auto* finetune =
      app.add_subcommand("finetune", "fine-tune the model on the captures (finetune.run)");
  finetune->add_option("--mode", mode, "head, full or staged (default: training.mode)")
      ->check(CLI::IsMember({"head", "full", "staged"}));
  finetune->add_flag("--wait", wait, "wait for the job to finish and print its outcome");
  common(finetune, "seconds to wait for the reply (default 10; with --wait 3600)");
  auto* fstatus = finetune->add_subcommand("status", "the running and last job (finetune.status)");
  common(fstatus);
  call_leaf(fstatus, "finetune.status", nullptr);  // before finetune: it is parsed with it
  leaves.push_back(
      {finetune, [this](std::ostream& out, std::ostream& err) { return run_finetune(out, err); }});
}

int ControlCommands::Impl::run_finetune(std::ostream& out, std::ostream& err) {
  json p = {{"wait", wait}};
  if (!mode.empty()) p["mode"] = mode;
  return run_control(options(wait ? 3600 : 10), "finetune.run", p, out, err);
}

void ControlCommands::Impl::add_models_commands(CLI::App& app) {
  auto* group = app.add_subcommand("models", "the model registry");
  group->require_subcommand(1);
  groups.push_back(group);
  auto* mlist = group->add_subcommand("list", "model versions, * = active (models.list)");
  common(mlist);
  call_leaf(mlist, "models.list", nullptr);
  auto* activate = group->add_subcommand("activate", "make version N the live model");
  activate->add_option("N", version, "model version")->required();
  activate->add_flag("--force", force, "also a version the gate rejected");
  common(activate);
  call_leaf(activate, "models.activate", [this] {
    json p = {{"version", version}};
    if (force) p["force"] = true;
    return p;
  });
  auto* rollback = group->add_subcommand(
      "rollback", "activate version N, or the accepted version active before the current one");
  version_opt = rollback->add_option("N", version, "model version");
  common(rollback);
  call_leaf(rollback, "models.rollback", [this] {
    json p = json::object();
    if (version_opt->count()) p["version"] = version;
    return p;
  });
}

void ControlCommands::Impl::add_call_command(CLI::App& app) {
  auto* call = app.add_subcommand("call", "call any control method (docs/control.md)");
  call->add_option("METHOD", method, "method name")->required();
  call->add_option("PARAMS", params_text, "params as a JSON object (default {})");
  common(call);
  leaves.push_back(
      {call, [this](std::ostream& out, std::ostream& err) { return run_call(out, err); }});
}

int ControlCommands::Impl::run_call(std::ostream& out, std::ostream& err) {
  json p = json::object();
  if (!params_text.empty()) {
    p = json::parse(params_text, nullptr, false);
    if (p.is_discarded() || !p.is_object()) {
      err << "primusctl call: PARAMS must be a JSON object\n";
      return kExitUsage;
    }
  }
  return run_control(options(10), method, p, out, err);
}

ControlCommands::ControlCommands(CLI::App& app) : impl_(std::make_unique<Impl>()) {
  impl_->add_daemon_commands(app);
  impl_->add_label_commands(app);
  impl_->add_captures_commands(app);
  impl_->add_finetune_commands(app);
  impl_->add_models_commands(app);
  impl_->add_call_command(app);
}

ControlCommands::~ControlCommands() = default;

bool ControlCommands::parsed() const {
  for (const auto& l : impl_->leaves)
    if (l.app->parsed()) return true;
  for (const auto* g : impl_->groups)
    if (g->parsed()) return true;
  return false;
}

int ControlCommands::run(std::ostream& out, std::ostream& err) {
  for (const auto& l : impl_->leaves)
    if (l.app->parsed()) return l.run(out, err);
  return kExitUsage;
}

}  // namespace primus::ctl
