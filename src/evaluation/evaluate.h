#pragma once
// Offline evaluation of a model on labelled data through the identical chain the daemon runs:
//   recording -> signal::DevicePipeline -> windows (window.length every window.hop) ->
//   model::Classifier::predict (batched) -> events::PostProcessor ([events]) -> events
// then window-level and event-level figures (src/dataio/event_match.h has the matching rule).
// No sockets, no threads, no clock: the same inputs give the same report.
//
// Window truth (the rule the training dataset cuts by, src/training/dataset.h): a window whose
// frames touch no labelled segment is null; one that holds a whole segment shorter than a window,
// or lies inside a segment at least a window long, takes its label; any other window (partly
// over a segment, or over two) is ambiguous and left out of the window figures (counted).
// Labels the model does not know are added as extra classes it never predicts, so they count as
// errors instead of vanishing.
//
// evaluate_captures() does the same on stored captures (each one a stream of its own, its
// labelled span the one scored segment, windows every hop samples): what the fine-tune reports as
// the candidate's event F1 on the validation captures. A capture's context may hold other
// gestures of the same recording (`nearby`, one list per capture of `caps`, from
// training::nearby_gestures over every capture): those are unscored segments there
// (src/dataio/event_match.h), so an event for a neighbour is neither a detection of this capture
// nor a false event, and the windows over them get their labels or are ambiguous by the rule above,
// never null.
//
// The model is run once per window (a score trace, src/events/calibrate.h); the post-processor
// then replays the trace with [events] and the model's calibration (when it has one and
// events.calibrated is on; keys the config file sets win).
//
// Threads: each call uses `model` on the calling thread only (Classifier's contract).
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/capture/capture_record.h"
#include "src/config/config.h"
#include "src/dataio/event_match.h"
#include "src/dataio/recording.h"
#include "src/events/calibrate.h"
#include "src/training/dataset.h"
#include "src/training/metrics.h"

namespace primus::model {
class Classifier;
}

namespace primus::evaluation {

struct EvaluateOptions {
  Config cfg;  ///< window, events (the post-processor settings), events.null_label
  DeviceConfig dev;
  dataio::RecordingFormat format = dataio::RecordingFormat::kCsv;
  dataio::LabelOptions labels;
  dataio::MatchOptions match;
  int batch = 64;  ///< windows per predict() call, >= 1
};

/// One event as evaluate saw it (for --events output and tests).
struct EventRow {
  std::string label;
  double onset_s = 0, offset_s = 0, first_message_s = 0;  ///< from the recording's start
  double confidence = 0;
  dataio::EventOutcome outcome = dataio::EventOutcome::kInNull;
};

struct EvaluateReport {
  std::string source;  ///< file, or "N validation captures"
  std::string model_version;
  std::vector<std::string> classes;  ///< the model's labels, then truth labels it lacks
  training::EvalMetrics windows;     ///< over windows with a definite truth
  std::int64_t windows_total = 0;
  std::int64_t windows_ambiguous = 0;
  dataio::EventReport events;
  std::vector<EventRow> event_rows;
  double data_seconds = 0;  ///< duration of the recording's frames
  EventsConfig events_cfg;  ///< the post-processor settings used
  /// The model's calibration (null: none), and each class's parameters in effect under the
  /// precedence of src/events/calibration.h (classes order, model labels only).
  std::shared_ptr<const events::Calibration> calibration;
  std::vector<events::ClassParams> class_params;
  /// Every window's scores and the truth: replay it with other settings without the model
  /// (events::replay_report, events::calibrate).
  events::ScoreTrace trace;
};

/// What evaluation needs of a model: its classes, window shape and a batched predict
/// (x: batch*6*length floats channel-major; probs: batch*labels.size(), row-major).
struct ScoringModel {
  std::vector<std::string> labels;
  std::string version;
  int window_length = 250;
  double rate_hz = 50.0;
  std::function<void(const float* x, int batch, int length, float* probs)> predict;
  std::shared_ptr<const events::Calibration> calibration{};  ///< the model's, or null
};
/// Wraps a Classifier (which must outlive the result).
[[nodiscard]] ScoringModel scoring_model(model::Classifier& m);

/// Throws std::runtime_error naming the file or the problem (dataio errors pass through), or
/// when the model's window length or rate differ from cfg.window.
[[nodiscard]] EvaluateReport evaluate_recording(const ScoringModel& model,
                                                const EvaluateOptions& opt);
[[nodiscard]] EvaluateReport evaluate_recording(model::Classifier& model,
                                                const EvaluateOptions& opt);

/// Event and window figures of `model` on captures (see the top of this file).
[[nodiscard]] EvaluateReport evaluate_captures(
    const ScoringModel& model, const std::vector<capture::CaptureRecord>& caps, const Config& cfg,
    const std::vector<std::vector<training::NearbyGesture>>& nearby = {},
    const dataio::MatchOptions& match = {});
[[nodiscard]] EvaluateReport evaluate_captures(
    model::Classifier& model, const std::vector<capture::CaptureRecord>& caps, const Config& cfg,
    const std::vector<std::vector<training::NearbyGesture>>& nearby = {},
    const dataio::MatchOptions& match = {});

/// The per-class calibration of a fine-tuned candidate (src/events/calibrate.h) from its report
/// of evaluate_captures() on the validation captures: clears m's calibration, calibrates on the
/// report's scores, puts the result into m (it goes live with the model file), replaces
/// report.events by what the model will do live (the calibration under cfg's precedence) and
/// returns the calibration's report. Throws what events::calibrate throws; m then has none.
/// The one step both the daemon's fine-tune and `primus-model finetune` take.
events::CalibrateResult calibrate_candidate(model::Classifier& m, EvaluateReport& report,
                                            const EventsConfig& cfg);

[[nodiscard]] nlohmann::json to_json(const EvaluateReport& r);
/// Tables for a terminal: window accuracy and confusion, event figures, per class.
[[nodiscard]] std::string to_text(const EvaluateReport& r);

}  // namespace primus::evaluation
