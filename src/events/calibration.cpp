#include "src/events/calibration.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace primus::events {
namespace {

[[noreturn]] void fail(const std::string& what) { throw CalibrationError(what); }

std::string shown(const nlohmann::json& v) {
  auto s = v.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

double unit_number(const nlohmann::json& v, const std::string& path, double hi) {
  if (!v.is_number()) fail(path + " = " + shown(v) + ": must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < 0 || d > hi)
    fail(path + " = " + shown(v) + ": must be in [0, " + (hi == 1.0 ? "1" : "onset_threshold") +
         "]");
  return d;
}

int bounded_int(const nlohmann::json& v, const std::string& path, int lo, int hi) {
  if (!v.is_number_integer()) fail(path + " = " + shown(v) + ": must be an integer");
  const auto i = v.get<std::int64_t>();
  if (i < lo || i > hi)
    fail(path + " = " + shown(v) + ": must be in " + std::to_string(lo) + ".." +
         std::to_string(hi));
  return static_cast<int>(i);
}

const nlohmann::json& need(const nlohmann::json& obj, const char* key, const std::string& path) {
  const auto it = obj.find(key);
  if (it == obj.end()) fail(path + "." + key + ": missing");
  return *it;
}

}  // namespace

nlohmann::json to_json(const Calibration& c) {
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& [label, p] : c.classes)
    classes[label] = {{"onset_threshold", p.onset_threshold},
                      {"release_threshold", p.release_threshold},
                      {"smoothing_windows", p.smoothing_windows},
                      {"min_duration_ms", p.min_duration_ms}};
  return {{"schema", 1}, {"rule", c.rule}, {"classes", classes}};
}

Calibration calibration_from_json(const nlohmann::json& j) {
  if (!j.is_object()) fail("calibration: must be a JSON object");
  for (const auto& [k, v] : j.items())
    if (k != "schema" && k != "rule" && k != "classes") fail(k + ": unknown key");
  const auto& schema = need(j, "schema", "calibration");
  if (!schema.is_number_integer() || schema.get<std::int64_t>() != 1)
    fail("schema = " + shown(schema) + ": must be 1");
  Calibration c;
  if (const auto it = j.find("rule"); it != j.end()) {
    if (!it->is_string()) fail("rule = " + shown(*it) + ": must be a string");
    c.rule = it->get<std::string>();
  }
  const auto& classes = need(j, "classes", "calibration");
  if (!classes.is_object()) fail("classes = " + shown(classes) + ": must be an object");
  if (classes.size() > kMaxCalibratedClasses) fail("classes: too many");
  for (const auto& [label, e] : classes.items()) {
    const std::string path = "classes." + label;
    if (label.empty()) fail("classes: a class name must not be empty");
    if (!e.is_object()) fail(path + " = " + shown(e) + ": must be an object");
    for (const auto& item : e.items()) {
      const std::string k = item.key();  // a structured binding cannot be captured (clang 14)
      if (std::find_if(std::begin(kCalibratedKeys), std::end(kCalibratedKeys),
                       [&](const char* n) { return k == n; }) == std::end(kCalibratedKeys))
        fail(path + "." + k + ": unknown key");
    }
    ClassParams p;
    p.onset_threshold =
        unit_number(need(e, "onset_threshold", path), path + ".onset_threshold", 1.0);
    p.release_threshold = unit_number(need(e, "release_threshold", path),
                                      path + ".release_threshold", p.onset_threshold);
    p.smoothing_windows = bounded_int(need(e, "smoothing_windows", path),
                                      path + ".smoothing_windows", 1, kMaxSmoothingWindows);
    p.min_duration_ms = bounded_int(need(e, "min_duration_ms", path), path + ".min_duration_ms", 0,
                                    kMaxMinDurationMs);
    c.classes.emplace(label, p);
  }
  return c;
}

Calibration parse_calibration(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail("calibration: not valid JSON");
  return calibration_from_json(j);
}

void check_calibration_labels(const Calibration& c, const std::vector<std::string>& labels,
                              const std::string& null_label) {
  for (const auto& [label, p] : c.classes) {
    if (std::find(labels.begin(), labels.end(), label) == labels.end())
      fail("classes." + label + ": not one of the model's labels");
    if (label == null_label) fail("classes." + label + ": the null class is not calibrated");
  }
}

ClassParams config_params(const EventsConfig& cfg) {
  return {cfg.onset_threshold, cfg.release_threshold, std::max(cfg.smoothing_windows, 1),
          std::max(cfg.min_duration_ms, 0)};
}

std::vector<ClassParams> resolve_class_params(const EventsConfig& cfg,
                                              const std::vector<std::string>& labels,
                                              const Calibration* cal) {
  const ClassParams base = config_params(cfg);
  auto set_in_file = [&](const char* key) {
    return std::find(cfg.explicit_keys.begin(), cfg.explicit_keys.end(), key) !=
           cfg.explicit_keys.end();
  };
  const bool use_cal = cal != nullptr && cfg.calibrated;
  std::vector<ClassParams> out;
  out.reserve(labels.size());
  for (const auto& label : labels) {
    ClassParams p = base;
    const ClassParams* c = nullptr;
    if (use_cal && label != cfg.null_label) {
      const auto it = cal->classes.find(label);
      if (it != cal->classes.end()) c = &it->second;
    }
    if (c != nullptr) {
      if (!set_in_file("onset_threshold")) p.onset_threshold = c->onset_threshold;
      if (!set_in_file("release_threshold")) p.release_threshold = c->release_threshold;
      if (!set_in_file("smoothing_windows")) p.smoothing_windows = c->smoothing_windows;
      if (!set_in_file("min_duration_ms")) p.min_duration_ms = c->min_duration_ms;
    }
    p.release_threshold = std::min(p.release_threshold, p.onset_threshold);
    out.push_back(p);
  }
  return out;
}

}  // namespace primus::events
