#include "src/events/event_types.h"

#include <nlohmann/json.hpp>

#include "src/core/time_source.h"

namespace primus::events {
namespace {
nlohmann::json stamp(const Stamp& s) {
  return {{"t_host_ns", s.t_host_ns}, {"t_device_us", s.t_device_us}};
}
}  // namespace

std::string to_json(const GestureEvent& e) {
  nlohmann::json j{
      {"schema", kSchemaVersion},
      {"type", "gesture"},
      {"phase", e.phase == GestureEvent::Phase::kStart ? "start" : "end"},
      {"device", e.device},
      {"label", e.label},
      {"confidence", e.confidence},
      {"onset", stamp(e.onset)},
      {"offset", stamp(e.offset)},
      {"duration_s", static_cast<double>(e.offset.t_host_ns - e.onset.t_host_ns) * 1e-9},
      {"windows", e.windows},
      {"model_version", e.model_version},
      {"seq", e.seq},
      {"t_wall_ns", wall_clock_ns()}};
  return j.dump();
}

std::string to_json(const ScoreMessage& m) {
  nlohmann::json scores = nlohmann::json::object();
  std::size_t best = 0;
  for (std::size_t i = 0; i < m.labels.size() && i < m.scores.size(); ++i) {
    scores[m.labels[i]] = m.scores[i];
    if (m.scores[i] > m.scores[best]) best = i;
  }
  nlohmann::json j{{"schema", kSchemaVersion},
                   {"type", "score"},
                   {"device", m.device},
                   {"window_seq", m.window_seq},
                   {"start", stamp(m.start)},
                   {"end", stamp(m.end)},
                   {"label", m.labels.empty() ? "" : m.labels[best]},
                   {"confidence", m.scores.empty() ? 0.0f : m.scores[best]},
                   {"scores", scores},
                   {"model_version", m.model_version},
                   {"t_ready_ns", m.t_ready_ns},
                   {"interpolated", m.interpolated}};
  return j.dump();
}

std::string device_state_json(const std::string& device, const std::string& state,
                              const std::string& detail) {
  nlohmann::json j{{"schema", kSchemaVersion}, {"type", "device"}, {"device", device},
                   {"state", state},           {"detail", detail}, {"t_wall_ns", wall_clock_ns()}};
  return j.dump();
}

std::string truth_json(const std::string& device, const std::string& label,
                       std::int64_t t_start_host_ns, std::int64_t t_end_host_ns) {
  return nlohmann::json{{"schema", kSchemaVersion},
                        {"type", "truth"},
                        {"device", device},
                        {"label", label},
                        {"t_start_host_ns", t_start_host_ns},
                        {"t_end_host_ns", t_end_host_ns}}
      .dump();
}

std::string envelope_json(nlohmann::json body, const char* type) {
  body["schema"] = kSchemaVersion;
  body["type"] = type;
  if (!body.contains("t_wall_ns")) body["t_wall_ns"] = wall_clock_ns();
  return body.dump();
}

}  // namespace primus::events
