#include "src/app/ctl_control.h"

#include <fmt/format.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <vector>
#include <zmq.hpp>

#include "src/bus/control_client.h"
#include "src/bus/curve.h"
#include "src/capture/export.h"
#include "src/config/config.h"

namespace primus::app {
namespace {

using nlohmann::json;

std::string dump(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

/// A bind endpoint as a client connects to it: tcp://*:5557 -> tcp://127.0.0.1:5557.
std::string connectable(std::string ep) {
  for (const char* any : {"tcp://*:", "tcp://0.0.0.0:"}) {
    const std::string a = any;
    if (ep.rfind(a, 0) == 0) ep = "tcp://127.0.0.1:" + ep.substr(a.size());
  }
  return ep;
}

bool same_host(const std::string& ep) {
  return ep.rfind("ipc://", 0) == 0 || ep.rfind("tcp://127.", 0) == 0 ||
         ep.rfind("tcp://localhost:", 0) == 0 || ep.rfind("tcp://[::1]:", 0) == 0;
}

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// A Z85 key given on the command line, or a file holding one.
std::string key_arg(const std::string& arg) {
  if (arg.size() == 40 && !std::filesystem::exists(arg)) return arg;
  return bus::read_curve_key_file(arg);
}

// ---- reading results defensively: a field of another type reads as missing -------------------

const json* field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

double num(const json& j, const char* key, double def = 0) {
  const json* f = field(j, key);
  return f && f->is_number() ? f->get<double>() : def;
}

std::int64_t integer(const json& j, const char* key, std::int64_t def = 0) {
  const json* f = field(j, key);
  if (!f || !f->is_number()) return def;
  return f->is_number_float() ? static_cast<std::int64_t>(f->get<double>())
                              : f->get<std::int64_t>();
}

/// A field as text: strings as they are, numbers and others as JSON, missing as `def`.
std::string text(const json& j, const char* key, const std::string& def = "-") {
  const json* f = field(j, key);
  if (!f) return def;
  return f->is_string() ? f->get<std::string>() : dump(*f);
}

const json& sub(const json& j, const char* key) {
  static const json empty = json::object();
  const json* f = field(j, key);
  return f && f->is_object() ? *f : empty;
}

const json& list(const json& j, const char* key) {
  static const json empty = json::array();
  const json* f = field(j, key);
  return f && f->is_array() ? *f : empty;
}

std::string duration(double s) {
  if (s < 0) s = 0;
  const auto t = static_cast<std::int64_t>(s);
  if (t < 60) return fmt::format("{:.1f} s", s);
  if (t < 3600) return fmt::format("{}m {:02}s", t / 60, t % 60);
  if (t < 86400) return fmt::format("{}h {:02}m {:02}s", t / 3600, t / 60 % 60, t % 60);
  return fmt::format("{}d {:02}h {:02}m", t / 86400, t / 3600 % 24, t / 60 % 60);
}

std::string bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string wall_time(std::int64_t wall_ns) {
  if (wall_ns <= 0) return "-";
  const auto secs = static_cast<std::time_t>(wall_ns / 1'000'000'000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min);
}

std::string join_strings(const json& arr, const char* sep = ", ") {
  std::string s;
  for (const auto& e : arr) {
    if (!s.empty()) s += sep;
    s += e.is_string() ? e.get<std::string>() : dump(e);
  }
  return s;
}

/// Columns padded to their widest cell; `right[i]` right-aligns column i (numbers).
std::string table(const std::vector<std::string>& head, const std::vector<bool>& right,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(head.size());
  for (std::size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  std::string out;
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string& c = i < cells.size() ? cells[i] : std::string();
      const std::string pad(w[i] - std::min(w[i], c.size()), ' ');
      l += i ? "  " : "";
      l += right[i] ? pad + c : (i + 1 < w.size() ? c + pad : c);
    }
    out += l + "\n";
  };
  line(head);
  for (const auto& r : rows) line(r);
  return out;
}

std::string f3(double v) { return fmt::format("{:.3f}", v); }

// ---- one formatter per method ------------------------------------------------------------------

std::string fmt_status(const json& r) {
  std::size_t connected = 0, total = 0;
  double rate = 0;
  for (const auto& d : list(r, "devices")) {
    ++total;
    if (text(d, "state") == "connected") ++connected;
    rate += num(d, "rate_hz");
  }
  const json& inf = sub(r, "inference");
  const json& model = sub(r, "model");
  std::string s =
      fmt::format("primusd {}, up {}\n", text(r, "version"), duration(num(r, "uptime_s")));
  s += fmt::format("model:     {} ({})\n", text(model, "version"), text(model, "device"));
  s += fmt::format("devices:   {}/{} connected, {:.0f} samples/s\n", connected, total, rate);
  s += fmt::format("inference: {:.1f} windows/s, p99 {:.1f} ms, {} events",
                   num(inf, "windows_per_s"), num(sub(inf, "latency_ms"), "p99"),
                   integer(inf, "events"));
  return s;
}

std::string fmt_devices(const json& r, std::int64_t now_ns) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : list(r, "devices")) {
    std::string labelling = "-";
    if (const json* l = field(d, "labelling"); l && l->is_object()) {
      labelling = text(*l, "label");
      const std::int64_t since = integer(*l, "since_host_ns");
      if (now_ns > 0 && since > 0 && now_ns >= since)
        labelling += " (" + duration(static_cast<double>(now_ns - since) / 1e9) + ")";
    }
    rows.push_back({text(d, "id"), text(d, "state"), text(d, "adapter"),
                    fmt::format("{:.1f}", num(d, "input_rate_hz")), text(d, "windows", "0"),
                    labelling});
  }
  if (rows.empty()) return "no devices";
  std::string t = table({"ID", "STATE", "ADAPTER", "RATE_HZ", "WINDOWS", "LABELLING"},
                        {false, false, false, true, true, false}, rows);
  t.pop_back();
  return t;
}

std::string fmt_reload(const json& r) {
  const json& changes = list(r, "changes");
  const json& restart = list(r, "restart");
  std::string s = changes.empty() ? "reloaded: no live changes"
                                  : fmt::format("reloaded: {} change{}", changes.size(),
                                                changes.size() == 1 ? "" : "s");
  for (const auto& c : changes) s += "\n  " + (c.is_string() ? c.get<std::string>() : dump(c));
  if (!restart.empty())
    s += "\nchanged but needs a restart (not applied): " + join_strings(restart);
  return s;
}

std::string fmt_capture(const json& r) {
  return fmt::format("capture {}: \"{}\" on {}, {} samples, {:.2f} s", text(r, "capture_id"),
                     text(r, "label"), text(r, "device"), text(r, "samples", "0"),
                     num(r, "seconds"));
}

std::string fmt_labels(const json& r) {
  std::string s = "model labels: " + join_strings(list(r, "model_labels"));
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : list(r, "captured"))
    rows.push_back({text(c, "label"), text(c, "device"), text(c, "captures", "0"),
                    text(c, "samples", "0"), text(c, "windows", "0")});
  if (rows.empty()) return s + "\nno captures";
  std::string t = table({"LABEL", "DEVICE", "CAPTURES", "SAMPLES", "WINDOWS"},
                        {false, false, true, true, true}, rows);
  t.pop_back();
  return s + "\n" + t;
}

std::string fmt_capture_stats(const json& r) {
  const double max_bytes = num(r, "max_bytes");
  const double max_age = num(r, "max_age_s");
  std::string s = fmt::format("captures: {} ({} samples, {} windows)\n", text(r, "captures", "0"),
                              text(r, "samples", "0"), text(r, "windows", "0"));
  s += fmt::format("payload:  {} of {}; file {}\n", bytes(num(r, "bytes")),
                   max_bytes > 0 ? bytes(max_bytes) : std::string("unlimited"),
                   bytes(num(r, "file_bytes")));
  s += "max age:  " + (max_age > 0 ? duration(max_age) : std::string("unlimited"));
  if (!list(r, "by_label").empty()) s += "\nby label:";
  for (const auto& b : list(r, "by_label")) {
    if (!b.is_object()) {
      s += "\n  " + dump(b);
      continue;
    }
    std::string line = "\n  " + text(b, "label") + ":";
    for (const auto& [k, v] : b.items())
      if (k != "label") line += " " + k + "=" + (v.is_string() ? v.get<std::string>() : dump(v));
    s += line;
  }
  return s;
}

std::string fmt_job(const json& j) {
  const json& m = sub(j, "metrics");
  std::string s = fmt::format("job {} ({}): {}", text(j, "job"), text(j, "mode"),
                              text(j, "decision", text(j, "state")));
  if (field(j, "candidate_version")) s += " -> model version " + text(j, "candidate_version");
  if (!m.empty()) {
    s += fmt::format("; val macro-F1 {}", f3(num(m, "val_macro_f1")));
    if (field(m, "live_val_macro_f1")) s += " (live " + f3(num(m, "live_val_macro_f1")) + ")";
    s += fmt::format(", accuracy {}; {} epochs, {:.1f} s, {} train / {} val windows",
                     f3(num(m, "val_accuracy")), text(m, "epochs_run", "0"), num(m, "seconds"),
                     text(m, "train_windows", "0"), text(m, "val_windows", "0"));
  }
  if (field(j, "reason")) s += "\n  reason: " + text(j, "reason");
  return s;
}

std::string fmt_finetune_run(const json& r) {
  if (field(r, "decision")) return fmt_job(r);
  return fmt::format("job {} {} (follow it with: primusctl finetune status)", text(r, "job"),
                     text(r, "state"));
}

std::string fmt_finetune_status(const json& r) {
  std::string s = "state:    " + text(r, "state");
  if (field(r, "job")) s += " (job " + text(r, "job") + ")";
  if (const json* p = field(r, "progress"); p && p->is_object()) {
    s +=
        fmt::format(": epoch {}/{} ({})", text(*p, "epoch"), text(*p, "epochs"), text(*p, "phase"));
    if (field(*p, "train_loss")) s += ", train loss " + f3(num(*p, "train_loss"));
    if (field(*p, "val_f1")) s += ", val F1 " + f3(num(*p, "val_f1"));
  }
  if (const json* l = field(r, "last"); l && l->is_object()) s += "\nlast:     " + fmt_job(*l);
  if (const json* sc = field(r, "schedule"); sc && sc->is_object()) {
    const auto minutes = integer(*sc, "minutes");
    s += minutes > 0
             ? fmt::format("\nschedule: every {} min once {} new windows are labelled (now {})",
                           minutes, text(*sc, "min_new_windows"), text(*sc, "new_windows", "0"))
             : fmt::format("\nschedule: off ({} new windows since the last job)",
                           text(*sc, "new_windows", "0"));
  }
  return s;
}

std::string fmt_models(const json& r) {
  const std::string active = text(r, "active", "");
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : list(r, "versions")) {
    const std::string version = text(v, "version");
    const json* labels = field(v, "labels");
    const json& m = sub(v, "metrics");
    rows.push_back({version == active ? "*" : "", version, text(v, "status"), text(v, "mode"),
                    text(v, "parent"), wall_time(integer(v, "created_wall_ns")),
                    labels && labels->is_array() ? std::to_string(labels->size())
                                                 : (labels ? dump(*labels) : "-"),
                    field(m, "val_macro_f1") ? f3(num(m, "val_macro_f1")) : "-"});
  }
  if (rows.empty()) return "no model versions";
  std::string t = table({"", "VERSION", "STATUS", "MODE", "PARENT", "CREATED", "LABELS", "VAL_F1"},
                        {false, true, false, false, true, false, true, true}, rows);
  t.pop_back();
  return t;
}

std::string fmt_activate(const json& r) {
  std::string s = "active model: " + text(r, "active");
  if (field(r, "previous")) s += " (was " + text(r, "previous") + ")";
  return s;
}

}  // namespace

std::string format_result(const std::string& method, const json& r, std::int64_t now_host_ns) {
  if (!r.is_object()) return dump(r, 2);
  try {
    if (method == "status") return fmt_status(r);
    if (method == "devices.list") return fmt_devices(r, now_host_ns);
    if (method == "config.reload") return fmt_reload(r);
    if (method == "label.start")
      return fmt::format("labelling {} as \"{}\" (end it with: primusctl label stop {})",
                         text(r, "device"), text(r, "label"), text(r, "device"));
    if (method == "label.stop" || method == "label.mark") return fmt_capture(r);
    if (method == "labels.list") return fmt_labels(r);
    if (method == "captures.stats") return fmt_capture_stats(r);
    if (method == "finetune.run") return fmt_finetune_run(r);
    if (method == "finetune.status") return fmt_finetune_status(r);
    if (method == "models.list") return fmt_models(r);
    if (method == "models.activate" || method == "models.rollback") return fmt_activate(r);
  } catch (const std::exception&) {
    // An unexpected shape: fall through to the JSON.
  }
  return dump(r, 2);
}

int run_control(const ControlOptions& opt, const std::string& method, const json& params,
                std::ostream& out, std::ostream& err) {
  std::string endpoint = opt.endpoint;
  std::optional<bus::CurveClientKeys> keys;
  try {
    Config cfg;
    if (!opt.config.empty()) cfg = load_config(opt.config);
    if (endpoint.empty()) endpoint = control_endpoints(cfg).front();
    endpoint = connectable(endpoint);
    if (!opt.curve_server_key.empty()) {
      keys = bus::CurveClientKeys{key_arg(opt.curve_server_key), {}};
    } else if (!cfg.bus.curve_secret_key.empty()) {
      // The daemon's sockets are CURVE servers: its public key follows from its secret key file,
      // when this user may read it.
      try {
        keys = bus::CurveClientKeys{
            bus::curve_public_from_secret(bus::read_curve_key_file(cfg.bus.curve_secret_key)), {}};
      } catch (const std::exception& e) {
        throw std::runtime_error(std::string("the daemon uses CURVE (bus.curve_secret_key): ") +
                                 e.what() + "; pass --curve-server-key");
      }
    }
    if (!opt.curve_client_secret.empty()) {
      if (!keys) throw std::runtime_error("--curve-secret needs --curve-server-key");
      keys->client_secret_z85 = bus::read_curve_key_file(opt.curve_client_secret);
    }
  } catch (const std::exception& e) {
    err << "primusctl: " << e.what() << "\n";
    return 2;
  }

  json reply;
  try {
    zmq::context_t ctx(1);
    reply =
        bus::control_call(ctx, endpoint, method, params, opt.timeout_s, keys ? &*keys : nullptr);
  } catch (const std::exception& e) {
    err << "primusctl: " << e.what() << "\n";
    return 2;
  }
  const json* ok = field(reply, "ok");
  if (ok && ok->is_boolean() && ok->get<bool>()) {
    const json* result = field(reply, "result");
    const json r = result ? *result : json();
    if (opt.json) {
      out << dump(r) << "\n";
    } else {
      out << format_result(method, r, same_host(endpoint) ? monotonic_ns() : 0) << "\n";
    }
    return 0;
  }
  const json& e = sub(reply, "error");
  err << "error " << text(e, "code", "internal") << ": "
      << text(e, "message", "malformed reply: " + dump(reply)) << "\n";
  return 1;
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

  /// A leaf that makes one call; `params` is evaluated after parsing.
  void call_leaf(CLI::App* s, std::string m, std::function<json()> params,
                 double default_timeout = 10) {
    leaves.push_back({s, [this, m = std::move(m), params = std::move(params), default_timeout](
                             std::ostream& out, std::ostream& err) {
                        ControlOptions o = opt;
                        o.timeout_s = timeout_s >= 0 ? timeout_s : default_timeout;
                        return run_control(o, m, params ? params() : json::object(), out, err);
                      }});
  }
};

ControlCommands::ControlCommands(CLI::App& app) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  const auto simple = [&](const char* name, const char* help, const char* method) {
    auto* s = app.add_subcommand(name, help);
    d.common(s);
    d.call_leaf(s, method, nullptr);
    return s;
  };
  simple("status", "summary of the running daemon (control method status)", "status");
  simple("devices", "the devices, their state and labelling (devices.list)", "devices.list");
  simple("reload", "re-read the config file, like SIGHUP, and list the changes (config.reload)",
         "config.reload");
  simple("labels", "the model's labels and what has been captured per label (labels.list)",
         "labels.list");

  auto* label = app.add_subcommand("label", "record labelled captures of a device");
  label->require_subcommand(1);
  d.groups.push_back(label);
  auto* start = label->add_subcommand("start", "start labelling DEVICE's motion as LABEL");
  start->add_option("DEVICE", d.device, "device id")->required();
  start->add_option("LABEL", d.label, "gesture label")->required();
  d.common(start);
  d.call_leaf(start, "label.start", [&d] {
    return json{{"device", d.device}, {"label", d.label}};
  });
  auto* stop = label->add_subcommand("stop", "end the labelled span and store it as a capture");
  stop->add_option("DEVICE", d.device, "device id")->required();
  d.common(stop);
  d.call_leaf(stop, "label.stop", [&d] { return json{{"device", d.device}}; });
  auto* mark = label->add_subcommand(
      "mark", "store a past span of DEVICE as a capture: --last S, or --from NS --to NS");
  mark->add_option("DEVICE", d.device, "device id")->required();
  mark->add_option("LABEL", d.label, "gesture label")->required();
  d.last_opt =
      mark->add_option("--last", d.last_s, "the last S seconds")->check(CLI::PositiveNumber);
  d.from_opt = mark->add_option("--from", d.from_ns, "span start, CLOCK_MONOTONIC ns of the host");
  d.to_opt = mark->add_option("--to", d.to_ns, "span end, CLOCK_MONOTONIC ns of the host");
  d.last_opt->excludes(d.from_opt)->excludes(d.to_opt);
  d.from_opt->needs(d.to_opt);
  d.to_opt->needs(d.from_opt);
  d.common(mark);
  d.leaves.push_back({mark, [&d](std::ostream& out, std::ostream& err) {
                        json p = {{"device", d.device}, {"label", d.label}};
                        if (d.last_opt->count()) {
                          p["last_s"] = d.last_s;
                        } else if (d.from_opt->count() && d.to_opt->count()) {
                          p["from_host_ns"] = d.from_ns;
                          p["to_host_ns"] = d.to_ns;
                        } else {
                          err << "primusctl label mark: give --last S, or --from NS and --to NS\n";
                          return 2;
                        }
                        ControlOptions o = d.opt;
                        o.timeout_s = d.timeout_s >= 0 ? d.timeout_s : 10;
                        return run_control(o, "label.mark", p, out, err);
                      }});

  auto* captures = app.add_subcommand("captures", "the capture store");
  captures->require_subcommand(1);
  d.groups.push_back(captures);
  auto* cstats =
      captures->add_subcommand("stats", "size and contents of the store (captures.stats)");
  d.common(cstats);
  d.call_leaf(cstats, "captures.stats", nullptr);
  auto* exp = captures->add_subcommand(
      "export", "write the store as CSV or NumPy .npz (offline: reads the SQLite file)");
  exp->add_option("--db", d.exp.db, "capture database (default: capture.database of --config)");
  exp->add_option("-c,--config", d.exp_config, "take the database from this config file");
  exp->add_option("--format", d.exp.format, "csv or npz")
      ->required()
      ->check(CLI::IsMember({"csv", "npz"}));
  exp->add_option("--out", d.exp.out, "output file")->required();
  d.exp_label_opt = exp->add_option("--label", d.exp_label, "only this label");
  d.exp_device_opt = exp->add_option("--device", d.exp_device, "only this device");
  d.leaves.push_back({exp, [&d](std::ostream&, std::ostream& err) {
                        if (d.exp.db.empty()) {
                          if (d.exp_config.empty()) {
                            err << "primusctl captures export: give --db FILE or --config FILE\n";
                            return 2;
                          }
                          try {
                            d.exp.db = capture_database(load_config(d.exp_config));
                          } catch (const std::exception& e) {
                            err << "primusctl captures export: " << e.what() << "\n";
                            return 2;
                          }
                        }
                        if (d.exp_label_opt->count()) d.exp.label = d.exp_label;
                        if (d.exp_device_opt->count()) d.exp.device = d.exp_device;
                        return capture::run_captures_export(d.exp, err);
                      }});

  auto* finetune =
      app.add_subcommand("finetune", "fine-tune the model on the captures (finetune.run)");
  finetune->add_option("--mode", d.mode, "head, full or staged (default: training.mode)")
      ->check(CLI::IsMember({"head", "full", "staged"}));
  finetune->add_flag("--wait", d.wait, "wait for the job to finish and print its outcome");
  d.common(finetune, "seconds to wait for the reply (default 10; with --wait 3600)");
  auto* fstatus = finetune->add_subcommand("status", "the running and last job (finetune.status)");
  d.common(fstatus);
  d.call_leaf(fstatus, "finetune.status", nullptr);  // before finetune: it is parsed with it
  d.leaves.push_back({finetune, [&d](std::ostream& out, std::ostream& err) {
                        json p = {{"wait", d.wait}};
                        if (!d.mode.empty()) p["mode"] = d.mode;
                        ControlOptions o = d.opt;
                        o.timeout_s = d.timeout_s >= 0 ? d.timeout_s : (d.wait ? 3600 : 10);
                        return run_control(o, "finetune.run", p, out, err);
                      }});

  auto* models = app.add_subcommand("models", "the model registry");
  models->require_subcommand(1);
  d.groups.push_back(models);
  auto* mlist = models->add_subcommand("list", "model versions, * = active (models.list)");
  d.common(mlist);
  d.call_leaf(mlist, "models.list", nullptr);
  auto* activate = models->add_subcommand("activate", "make version N the live model");
  activate->add_option("N", d.version, "model version")->required();
  activate->add_flag("--force", d.force, "also a version the gate rejected");
  d.common(activate);
  d.call_leaf(activate, "models.activate", [&d] {
    json p = {{"version", d.version}};
    if (d.force) p["force"] = true;
    return p;
  });
  auto* rollback = models->add_subcommand(
      "rollback", "activate version N, or the accepted version active before the current one");
  d.version_opt = rollback->add_option("N", d.version, "model version");
  d.common(rollback);
  d.call_leaf(rollback, "models.rollback", [&d] {
    json p = json::object();
    if (d.version_opt->count()) p["version"] = d.version;
    return p;
  });

  auto* call = app.add_subcommand("call", "call any control method (docs/control.md)");
  call->add_option("METHOD", d.method, "method name")->required();
  call->add_option("PARAMS", d.params_text, "params as a JSON object (default {})");
  d.common(call);
  d.leaves.push_back({call, [&d](std::ostream& out, std::ostream& err) {
                        json p = json::object();
                        if (!d.params_text.empty()) {
                          p = json::parse(d.params_text, nullptr, false);
                          if (p.is_discarded() || !p.is_object()) {
                            err << "primusctl call: PARAMS must be a JSON object\n";
                            return 2;
                          }
                        }
                        ControlOptions o = d.opt;
                        o.timeout_s = d.timeout_s >= 0 ? d.timeout_s : 10;
                        return run_control(o, d.method, p, out, err);
                      }});
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
  return 2;
}

}  // namespace primus::app
