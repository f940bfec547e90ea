#pragma once
// Turns one device's stream of per-window class scores into gesture events.
//
// Per window (in window order):
//  1. smoothing: each class's score is averaged over that class's last `smoothing_windows`
//     windows;
//  2. idle -> active: the best smoothed class starts a gesture when it is not the null class, its
//     smoothed score is >= onset_threshold, it beats the runner-up by >= margin (otherwise the
//     window is "rejected": ambiguous), and the class is not in its refractory time;
//  3. active -> idle: the gesture ends when its smoothed score drops below release_threshold
//     (hysteresis: release <= onset), or another class takes over by the onset rule;
//  4. a gesture is announced once it has lasted min_duration_ms (at once when 0): a start message
//     (take_started()); when it ends, its end message follows with the same seq. A gesture that
//     ends before min_duration_ms is never announced (counted as too_short). An announced
//     gesture's class then stays refractory for refractory_ms (one never announced does not:
//     a too-short blip must not lock out the real gesture that follows it).
// A window that does not follow its predecessor (window seq not previous + 1: device reset,
// overload drops or a gap) closes the gesture in progress and clears the smoothing history.
//
// Per class: onset_threshold, release_threshold, smoothing_windows and min_duration_ms may differ
// between classes: a model's calibration (src/events/calibration.h) under the precedence of
// resolve_class_params() (keys set in the config file win). The rules above then read "the
// class's" value: the onset test uses the best class's onset threshold, the release test the
// active class's release threshold, the announcement the active class's minimum duration.
//
// Times: onset = end of the first window of the gesture, offset = end of the last window that held
// it (a windowed classifier sees a motion only once it is inside a window). Durations use host
// time. Thread contract: one PostProcessor per device, used by one thread (the inference thread).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/config/config.h"
#include "src/events/calibration.h"
#include "src/events/event_types.h"

namespace primus::events {

struct PostProcessorStats {
  std::uint64_t windows = 0;
  std::uint64_t rejected_ambiguous = 0;  ///< best above onset but within `margin` of the runner-up
  std::uint64_t suppressed_refractory = 0;
  std::uint64_t too_short = 0;        ///< gestures discarded for min_duration_ms
  std::uint64_t discontinuities = 0;  ///< window seq jumps that reset the state
  std::uint64_t events = 0;
};

class PostProcessor {
 public:
  /// `calibration`: the model's per-class parameters, or null (shared, immutable).
  PostProcessor(std::string device, std::vector<std::string> labels, const EventsConfig& cfg,
                std::shared_ptr<const Calibration> calibration = nullptr);

  /// Change thresholds and timings (SIGHUP), re-resolving the calibration against `cfg`.
  /// Resizes the smoothing history (clearing it) when the longest k changes.
  void set_config(const EventsConfig& cfg);

  /// Feed one window's scores (labels.size() floats). Returns a finished gesture (its end
  /// message), if any; a gesture announced by this window is then in take_started().
  std::optional<GestureEvent> update(std::uint64_t window_seq, const float* scores,
                                     const Stamp& start, const Stamp& end,
                                     const std::string& model_version);
  /// The start message the last update() produced, if any (once: it is moved out). Publish it
  /// after update()'s return value (an end is older than the start that took over).
  std::optional<GestureEvent> take_started() { return std::exchange(started_, std::nullopt); }
  /// Close the gesture in progress (shutdown, device lost, model swap).
  std::optional<GestureEvent> flush();

  [[nodiscard]] const PostProcessorStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const std::vector<std::string>& labels() const noexcept { return labels_; }
  /// The smoothed scores after the last update (for tests and score messages).
  [[nodiscard]] const std::vector<float>& smoothed() const noexcept { return smoothed_; }
  /// Each class's effective parameters (labels() order).
  [[nodiscard]] const std::vector<ClassParams>& class_params() const noexcept { return params_; }

 private:
  std::optional<GestureEvent> end_gesture();
  void clear_history();

  std::string device_;
  std::vector<std::string> labels_;
  EventsConfig cfg_;
  std::shared_ptr<const Calibration> calibration_;
  std::vector<ClassParams> params_;  ///< per class
  int null_index_ = -1;
  std::size_t n_;  ///< classes

  // smoothing ring: k rows of n scores, k = the longest smoothing of any class
  std::vector<float> history_;
  std::size_t k_ = 1;
  std::size_t filled_ = 0;
  std::size_t pos_ = 0;
  std::vector<float> smoothed_;

  bool have_prev_ = false;
  std::uint64_t prev_seq_ = 0;

  void maybe_announce();

  int active_ = -1;
  bool announced_ = false;  ///< the start message of the gesture in progress went out
  std::optional<GestureEvent> started_;
  GestureEvent current_;
  double score_sum_ = 0;
  std::vector<std::int64_t> refractory_until_ns_;  ///< per class, host time
  std::uint64_t next_event_seq_ = 0;
  PostProcessorStats stats_;
};

}  // namespace primus::events
