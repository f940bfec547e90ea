#pragma once
// The calibration search: per-class post-processing parameters that maximise event F1 on labelled
// score streams (docs/events.md "Calibration", the record in src/events/calibration.h).
//
// Scores are computed once (a ScoreTrace: every window's class probabilities, its times and the
// truth segments); the search then only replays the post-processor, which costs microseconds per
// window. Replay and match are those of `primusctl evaluate` (src/evaluation/evaluate.h), so a
// calibration's figures are the figures the daemon will show.
//
// Search (deterministic, bounded):
//   - grids are generic, never fitted to a file: onset thresholds 0.30..0.95 step 0.05, release
//     = onset x {0.5, 0.75, 1}, smoothing {1, 2, 3, 5, 8} windows, minimum duration {0, 100, 200,
//     300, 500, 800} ms. A key set explicitly in the config file is held at its value (it wins
//     live anyway).
//   - coordinate descent over the gesture classes (the labels of the truth segments, in the
//     model's label order): for each class in turn every grid point for that class is replayed
//     with the other classes held, and the best kept; two rounds.
//   - objective: among candidates meeting the false-event constraint, the highest event macro-F1
//     (mean over the gesture classes of the trace; a fragment, a second event for one gesture,
//     counts as an extra event like a false one), then that class's event F1, then fewer false
//     events and fragments. Candidates that tie (usual on small validation sets, where many
//     settings find every gesture) are resolved one key at a time: the onset and release thresholds
//     to the centre of the tied range (the largest distance to settings that lose gestures or admit
//     false events, since new data shifts scores), the minimum duration and smoothing, which only
//     delay the start message, to the tied value nearest the config's (lower on a tie): a class is
//     made slower than the config asks only when the data shows it must be.
//   - confirmation, after the search: a class left to announce on one window alone (minimum
//     duration 0, the key not set in the file) gets the grid's shortest positive minimum
//     duration (100 ms: a second window must agree) when that scores no worse on the trace and
//     the class's median start message then still comes at most cfg.latency_budget_ms after the
//     gesture's end. One window at a transition (null -> gesture, gesture -> gesture) is
//     routinely misread, and validation captures hold too few transitions to show it.
//   - constraint: false events in null <= 1 per 10 min of null. With less than 10 min of null in
//     the trace a rate of 1 per 10 min cannot be measured, and the fallback rule applies: no
//     false event in null at all (and with less than 1 min of null, no onset threshold below the
//     config's). A candidate set that meets the constraint nowhere keeps the fewest false events
//     in null. The rule applied is written into Calibration::rule and the report.
//   - bound: at most `max_window_updates` post-processor updates in all (rounds and grid thinned
//     deterministically to fit), so the trainer's time is bounded by the data's size.
//
// Threads: pure functions of their arguments; any thread.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "src/config/config.h"
#include "src/dataio/event_match.h"
#include "src/events/calibration.h"
#include "src/events/event_types.h"
#include "src/events/post_processor.h"

namespace primus::events {

/// Labelled score streams: what a model said about every window, once.
struct ScoreTrace {
  struct Row {
    std::uint64_t seq = 0;  ///< window counter; a jump separates independent streams
    Stamp start, end;
    std::int64_t t_ready_ns = 0;  ///< the window was complete (its messages' time)
  };
  std::vector<std::string> labels;  ///< the model's classes (score columns)
  std::string model_version;
  std::vector<Row> windows;   ///< in stream order
  std::vector<float> scores;  ///< windows.size() x labels.size(), row-major
  std::vector<dataio::TruthSegment> segments;
  std::int64_t duration_ns = 0;  ///< total time of the streams (for null time)
};

/// The post-processor's output over a trace.
struct Replay {
  std::vector<GestureEvent> events;            ///< end messages, in order
  std::vector<std::int64_t> first_message_ns;  ///< per event: its start message's time
  PostProcessorStats stats;
};

/// Runs one PostProcessor (labels, cfg, calibration) over the trace, flushing at the end.
[[nodiscard]] Replay replay(const ScoreTrace& trace, const EventsConfig& cfg,
                            std::shared_ptr<const Calibration> calibration);
/// replay() then dataio::match_events against the trace's segments.
[[nodiscard]] dataio::EventReport replay_report(const ScoreTrace& trace, const EventsConfig& cfg,
                                                std::shared_ptr<const Calibration> calibration,
                                                const dataio::MatchOptions& match = {});

struct CalibrateOptions {
  dataio::MatchOptions match;
  std::int64_t max_window_updates = 200'000'000;  ///< bound on the work, >= 1
  int rounds = 2;                                 ///< coordinate-descent passes, >= 1
};

struct CalibrateResult {
  Calibration calibration;
  dataio::EventReport before;  ///< the config's values (no calibration)
  dataio::EventReport after;   ///< with the calibration, under the config's precedence
  double null_minutes = 0;
  std::int64_t allowed_false_in_null = 0;
  bool fallback = false;  ///< less than 10 min of null: the fallback rule applied
  std::int64_t replays = 0;
  double seconds = 0;
};

/// The search above. Classes without a truth segment are not calibrated. Throws
/// std::invalid_argument when the trace's scores do not match its windows and labels.
[[nodiscard]] CalibrateResult calibrate(const ScoreTrace& trace, const EventsConfig& cfg,
                                        const CalibrateOptions& opt = {});

/// {"rule", "null_minutes", "allowed_false_in_null", "fallback", "replays", "seconds",
///  "before": {f1, precision, recall, false_events, in_null, false_per_hour_null},
///  "after": {...}, "classes": {label: {"before": {f1, detected, segments, false_events},
///  "after": {...}, "params": {...}}}}: the report the training message and models.list carry.
[[nodiscard]] nlohmann::json to_json(const CalibrateResult& r);

}  // namespace primus::events
