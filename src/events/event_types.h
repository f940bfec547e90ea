#pragma once
// Messages the daemon publishes, as plain structs, and their JSON encoding (docs/events.md).
// Every message carries "schema" = kSchemaVersion; fields are only ever added within a version.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace primus::events {

inline constexpr int kSchemaVersion = 1;

/// A time point on both clocks.
struct Stamp {
  std::int64_t t_host_ns = 0;    ///< host steady clock (CLOCK_MONOTONIC), ns
  std::int64_t t_device_us = 0;  ///< device clock, µs
};

/// One recognised gesture: a start message as soon as the onset rule fires (and the gesture has
/// lasted min_duration_ms), then the end message when it is released, both with the same seq.
struct GestureEvent {
  enum class Phase { kStart, kEnd };
  Phase phase = Phase::kEnd;
  std::string device;
  std::string label;
  double confidence = 0;  ///< mean of the label's smoothed score over the gesture (so far), [0,1]
  Stamp onset;            ///< END of the first window that voted for it (docs/events.md)
  Stamp offset;           ///< end of the last window that voted for it
  int windows = 0;        ///< windows that voted for it
  std::string model_version;
  std::uint64_t seq = 0;  ///< per-device event counter, starts at 0; a jump means a lost event
};

/// Raw per-window scores (optional, events.publish_scores).
struct ScoreMessage {
  std::string device;
  std::uint64_t window_seq = 0;
  Stamp start;
  Stamp end;
  std::vector<std::string> labels;
  std::vector<float> scores;  ///< one per label, softmax probabilities
  std::string model_version;
  std::int64_t t_ready_ns = 0;  ///< host steady time the window was complete
  int interpolated = 0;         ///< samples of the window that bridged a gap or were upsampled
};

std::string to_json(const GestureEvent& e);
std::string to_json(const ScoreMessage& m);
/// `{"schema":1,"type":"device","device":id,"state":state,"detail":detail}`.
std::string device_state_json(const std::string& device, const std::string& state,
                              const std::string& detail);
/// A simulated device's ground truth: `{"schema":1,"type":"truth","device","label",
/// "t_start_host_ns","t_end_host_ns"}`.
std::string truth_json(const std::string& device, const std::string& label,
                       std::int64_t t_start_host_ns, std::int64_t t_end_host_ns);
/// `body` with the envelope every message carries ("schema", "type", "t_wall_ns"), encoded.
/// For messages whose body another part builds (training, status).
std::string envelope_json(nlohmann::json body, const char* type);

}  // namespace primus::events
