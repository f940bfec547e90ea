#include "src/ctl/format.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <ctime>
#include <vector>

#include "src/ctl/json_fields.h"

namespace primus::ctl {
namespace {

using nlohmann::json;

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

std::string fmt_captures_list(const json& r) {
  const auto& caps = list(r, "captures");
  if (caps.empty()) return "no captures";
  std::string s = fmt::format("{:>7}  {:<16} {:<16} {:>8} {:>8}", "id", "device", "label",
                              "windows", "seconds");
  for (const auto& c : caps)
    s += fmt::format("\n{:>7}  {:<16} {:<16} {:>8} {:>8.1f}", text(c, "id"), text(c, "device"),
                     text(c, "label"), text(c, "windows"), num(c, "duration_s"));
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

/// Event F1 on the validation captures: "before->after" when the version was calibrated.
std::string event_f1_text(const json& m) {
  const json& cal = sub(m, "calibration");
  if (field(cal, "before") && field(cal, "after"))
    return f3(num(sub(cal, "before"), "event_f1")) + "->" + f3(num(sub(cal, "after"), "event_f1"));
  const json* f = field(m, "val_event_f1");
  return f != nullptr && f->is_number() ? f3(f->get<double>()) : "-";
}

/// False events per hour of null on the validation captures, "before->after" when calibrated.
std::string false_per_hour_text(const json& m) {
  const json& cal = sub(m, "calibration");
  if (!field(cal, "before") || !field(cal, "after")) return "-";
  return fmt::format("{:.1f}->{:.1f}", num(sub(cal, "before"), "false_per_hour_null"),
                     num(sub(cal, "after"), "false_per_hour_null"));
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
                    field(m, "val_macro_f1") ? f3(num(m, "val_macro_f1")) : "-", event_f1_text(m),
                    false_per_hour_text(m)});
  }
  if (rows.empty()) return "no model versions";
  std::string t = table({"", "VERSION", "STATUS", "MODE", "PARENT", "CREATED", "LABELS", "VAL_F1",
                         "EVENT_F1", "FALSE/H"},
                        {false, true, false, false, true, false, true, true, true, true}, rows);
  // Per class, the calibration's before -> after for each version that has one.
  for (const auto& v : list(r, "versions")) {
    const json& cal = sub(sub(v, "metrics"), "calibration");
    const json* classes = field(cal, "classes");
    if (classes == nullptr || !classes->is_object() || classes->empty()) continue;
    t += "version " + text(v, "version") + " calibration (" + text(cal, "rule", "") + "):\n";
    for (const auto& [label, c] : classes->items())
      t += fmt::format("  {:<12} F1 {} -> {}  onset {} release {} smoothing {} min {} ms\n", label,
                       f3(num(c, "before_f1")), f3(num(c, "after_f1")), text(c, "onset_threshold"),
                       text(c, "release_threshold"), text(c, "smoothing_windows"),
                       text(c, "min_duration_ms"));
  }
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
    if (method == "captures.list") return fmt_captures_list(r);
    if (method == "captures.delete")
      return fmt::format("{} capture(s) deleted", text(r, "deleted"));
    if (method == "finetune.run") return fmt_finetune_run(r);
    if (method == "finetune.status") return fmt_finetune_status(r);
    if (method == "models.list") return fmt_models(r);
    if (method == "models.activate" || method == "models.rollback") return fmt_activate(r);
  } catch (const std::exception&) {
    // An unexpected shape: fall through to the JSON.
  }
  return dump(r, 2);
}

}  // namespace primus::ctl
