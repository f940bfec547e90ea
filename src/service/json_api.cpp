#include "src/service/json_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

namespace primus::service {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const char* key, const json& v, const std::string& why) {
  std::string shown = v.dump(-1, ' ', true, json::error_handler_t::replace);
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  throw ServiceError(Errc::kInvalidParams, fmt::format("\"{}\" = {}: {}", key, shown, why));
}

const char* type_name(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

using Call = std::function<void(Service&, const json&, Done)>;

CaptureSelector capture_selector(const json& p) {
  CaptureSelector w;
  if (p.contains("id") && !p["id"].is_null())
    w.id = int_param(p, "id", 1, std::numeric_limits<std::int64_t>::max());
  w.label = opt_str_param(p, "label");
  if (w.label) check_label(*w.label);
  w.device = opt_str_param(p, "device");
  return w;
}

const std::map<std::string, Call>& table() {
  static const std::map<std::string, Call> t{
      {"status", [](Service& s, const json&, Done d) { s.status(std::move(d)); }},
      {"devices.list", [](Service& s, const json&, Done d) { s.devices(std::move(d)); }},
      {"config.reload", [](Service& s, const json&, Done d) { s.reload(std::move(d)); }},
      {"label.start",
       [](Service& s, const json& p, Done d) {
         const auto label = str_param(p, "label");
         check_label(label);
         s.label_start(str_param(p, "device"), label, std::move(d));
       }},
      {"label.stop", [](Service& s, const json& p,
                        Done d) { s.label_stop(str_param(p, "device"), std::move(d)); }},
      {"label.mark",
       [](Service& s, const json& p, Done d) {
         const auto label = str_param(p, "label");
         check_label(label);
         const auto device = str_param(p, "device");
         const bool has_last = p.contains("last_s");
         const bool has_span = p.contains("from_host_ns") || p.contains("to_host_ns");
         if (has_last == has_span)
           throw ServiceError(Errc::kInvalidParams,
                              "give either \"last_s\" or both \"from_host_ns\" and \"to_host_ns\"");
         MarkSpan span;
         if (has_last) {
           // A day is far beyond any history a device keeps; the service refuses what its ring
           // does not hold, this bound only keeps the arithmetic exact.
           span.last_s = num_param(p, "last_s", 0, 86400);
           if (!(*span.last_s > 0)) bad("last_s", p["last_s"], "must be > 0");
         } else {
           constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
           span.from_host_ns = int_param(p, "from_host_ns", 0, kMax);
           span.to_host_ns = int_param(p, "to_host_ns", 0, kMax);
           if (*span.to_host_ns <= *span.from_host_ns)
             bad("to_host_ns", p["to_host_ns"], "must be after \"from_host_ns\"");
         }
         s.label_mark(device, label, span, std::move(d));
       }},
      {"labels.list", [](Service& s, const json&, Done d) { s.labels(std::move(d)); }},
      {"captures.stats", [](Service& s, const json&, Done d) { s.capture_stats(std::move(d)); }},
      {"captures.list",
       [](Service& s, const json& p, Done d) {
         auto which = capture_selector(p);
         const std::int64_t limit = p.contains("limit") ? int_param(p, "limit", 1, 10000) : 200;
         s.captures_list(std::move(which), limit, std::move(d));
       }},
      {"captures.delete",
       [](Service& s, const json& p, Done d) {
         auto which = capture_selector(p);
         if (!which.id && !which.label)
           throw ServiceError(Errc::kInvalidParams,
                              "give \"id\" (one capture) or \"label\" (every capture of it)");
         if (which.id && (which.label || which.device))
           throw ServiceError(Errc::kInvalidParams,
                              "give \"id\" alone, or \"label\" with an optional \"device\"");
         s.captures_delete(std::move(which), std::move(d));
       }},
      {"finetune.run",
       [](Service& s, const json& p, Done d) {
         std::optional<FinetuneMode> mode;
         if (auto m = opt_str_param(p, "mode")) {
           if (*m == "head")
             mode = FinetuneMode::kHead;
           else if (*m == "full")
             mode = FinetuneMode::kFull;
           else if (*m == "staged")
             mode = FinetuneMode::kStaged;
           else
             bad("mode", p["mode"], "must be head, full or staged");
         }
         s.finetune_run(mode, opt_bool_param(p, "wait", false), std::move(d));
       }},
      {"finetune.status", [](Service& s, const json&, Done d) { s.finetune_status(std::move(d)); }},
      {"models.list", [](Service& s, const json&, Done d) { s.models_list(std::move(d)); }},
      {"models.activate",
       [](Service& s, const json& p, Done d) {
         const auto v = int_param(p, "version", 0, kMaxModelVersion);
         s.models_activate(v, opt_bool_param(p, "force", false), std::move(d));
       }},
      {"models.rollback",
       [](Service& s, const json& p, Done d) {
         std::optional<std::int64_t> v;
         if (p.contains("version")) v = int_param(p, "version", 0, kMaxModelVersion);
         s.models_rollback(v, std::move(d));
       }},
  };
  return t;
}

}  // namespace

std::string str_param(const json& p, const char* key) {
  if (!p.contains(key))
    throw ServiceError(Errc::kInvalidParams, fmt::format("missing \"{}\"", key));
  const auto& v = p[key];
  if (!v.is_string()) bad(key, v, fmt::format("must be a string, not {}", type_name(v)));
  return v.get<std::string>();
}

std::optional<std::string> opt_str_param(const json& p, const char* key) {
  if (!p.contains(key) || p[key].is_null()) return std::nullopt;
  return str_param(p, key);
}

bool opt_bool_param(const json& p, const char* key, bool fallback) {
  if (!p.contains(key) || p[key].is_null()) return fallback;
  const auto& v = p[key];
  if (!v.is_boolean()) bad(key, v, fmt::format("must be true or false, not {}", type_name(v)));
  return v.get<bool>();
}

std::int64_t int_param(const json& p, const char* key, std::int64_t lo, std::int64_t hi) {
  if (!p.contains(key))
    throw ServiceError(Errc::kInvalidParams, fmt::format("missing \"{}\"", key));
  const auto& v = p[key];
  const auto range = fmt::format("must be an integer in {}..{}", lo, hi);
  if (v.is_number_unsigned()) {  // >= 0; may exceed int64
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi) || static_cast<std::int64_t>(u) < lo) bad(key, v, range);
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (i < lo || i > hi) bad(key, v, range);
    return i;
  }
  if (v.is_number_float()) {
    // 3.0 is a number JSON writers produce for integers; 3.5, 1e300 and NaN are not integers.
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(lo) &&
        d <= static_cast<double>(hi) && std::fabs(d) < 9.0e15)
      return static_cast<std::int64_t>(d);
    bad(key, v, range);
  }
  bad(key, v, fmt::format("{}, not {}", range, type_name(v)));
}

double num_param(const json& p, const char* key, double lo, double hi) {
  if (!p.contains(key))
    throw ServiceError(Errc::kInvalidParams, fmt::format("missing \"{}\"", key));
  const auto& v = p[key];
  if (!v.is_number()) bad(key, v, fmt::format("must be a number, not {}", type_name(v)));
  const double d = v.get<double>();
  if (!std::isfinite(d)) bad(key, v, "must be finite");
  if (d < lo || d > hi) bad(key, v, fmt::format("must be in {}..{}", lo, hi));
  return d;
}

void call_json(Service& svc, const std::string& method, const json& params, Done done) {
  const auto& t = table();
  const auto it = t.find(method);
  if (it == t.end()) {
    done(Result::fail(Errc::kInvalidParams, "unknown method \"" + method + "\""));
    return;
  }
  if (!params.is_object()) {
    done(Result::fail(Errc::kInvalidParams, "params must be a JSON object"));
    return;
  }
  try {
    it->second(svc, params, done);
  } catch (const ServiceError& e) {
    done(Result::fail(e.code(), e.what()));
  }
}

bool is_method(const std::string& method) { return table().count(method) != 0; }

std::vector<std::string> json_methods() {
  std::vector<std::string> out;
  for (const auto& [k, v] : table()) out.push_back(k);
  return out;
}

}  // namespace primus::service
