#pragma once
// Per-class post-processing parameters that travel with a model (docs/events.md "Calibration").
//
// After a fine-tune the trainer replays the validation captures through the post-processor and
// chooses, per gesture class, the onset and release thresholds, the smoothing length and the
// minimum duration (src/events/calibrate.h: the search). The result is a Calibration, stored in
// the model file's metadata (primus.calibration, src/model/model_file.h) so that a version
// activated or rolled back behaves as it was measured.
//
// Precedence, per key and class (resolve_class_params()):
//   1. a key set explicitly in the [events] section of the config file
//   (EventsConfig::explicit_keys)
//      applies to every class;
//   2. otherwise the model's calibration for that class, when events.calibrated = true;
//   3. otherwise the config's value (the built-in default).
// A class the calibration does not name (the null class, a label the calibration predates) uses
// the config's values. Each class's release threshold is then clipped to its onset threshold.
//
// Margin and refractory time stay global: they arbitrate between classes (margin) or are a
// property of the application (refractory), not of one class's score distribution.
//
// This file is pure (std and nlohmann-json; no LibTorch, no I/O): the model-file reader and its
// fuzzer use it. Functions are reentrant.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/config/config.h"

namespace primus::events {

/// The calibrated keys, as their [events] names.
inline constexpr const char* kCalibratedKeys[] = {"onset_threshold", "release_threshold",
                                                  "smoothing_windows", "min_duration_ms"};

/// One class's post-processing parameters (the meaning of EventsConfig's keys of the same name).
struct ClassParams {
  double onset_threshold = 0.6;    ///< in [0, 1]
  double release_threshold = 0.4;  ///< in [0, onset_threshold]
  int smoothing_windows = 3;       ///< in 1..kMaxSmoothingWindows
  int min_duration_ms = 0;         ///< in 0..kMaxMinDurationMs

  bool operator==(const ClassParams&) const = default;
};

inline constexpr int kMaxSmoothingWindows = 1000;  ///< as events.smoothing_windows
inline constexpr int kMaxMinDurationMs = 600'000;
inline constexpr std::size_t kMaxCalibratedClasses = 100000;  ///< as a model's labels

struct Calibration {
  std::map<std::string, ClassParams> classes;  ///< gesture label -> its parameters
  /// How the search constrained false events (e.g. "at most 1 false event per 10 min of null",
  /// or the fallback used when the validation data held too little null): for humans.
  std::string rule;

  bool operator==(const Calibration&) const = default;
};

/// A calibration entry that is not valid: the message names the field ("classes.wave.
/// onset_threshold = 1.5: must be in [0, 1]").
class CalibrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// {"schema": 1, "rule": "...", "classes": {"wave": {"onset_threshold": 0.55, ...}}}.
[[nodiscard]] nlohmann::json to_json(const Calibration& c);
/// Inverse of to_json. Every class must give all four keys with values in range; unknown keys
/// are errors; at most kMaxCalibratedClasses classes. Throws CalibrationError.
[[nodiscard]] Calibration calibration_from_json(const nlohmann::json& j);
/// Parses JSON text (as stored in a model file) then calibration_from_json. Throws
/// CalibrationError (also for text that is not JSON).
[[nodiscard]] Calibration parse_calibration(const std::string& text);
/// Throws CalibrationError naming the first class that is not one of `labels` or is the null
/// class.
void check_calibration_labels(const Calibration& c, const std::vector<std::string>& labels,
                              const std::string& null_label);

/// The config's values as one class's parameters (no calibration).
[[nodiscard]] ClassParams config_params(const EventsConfig& cfg);
/// Each label's effective parameters by the precedence above; `cal` may be null.
[[nodiscard]] std::vector<ClassParams> resolve_class_params(const EventsConfig& cfg,
                                                            const std::vector<std::string>& labels,
                                                            const Calibration* cal);

}  // namespace primus::events
