#pragma once
// Turns a device's stream of per-window scores into gesture events.
//
// Rule (walking-skeleton version): a window "votes" for its best label when that label is not the
// null label and its score is >= threshold. Consecutive votes for the same label form one gesture;
// the gesture is emitted once, when a window votes for something else (or nothing), with onset =
// start of its first window, offset = end of its last, confidence = mean score of its votes.
//
// Thread contract: one tracker per device, used by one thread (the inference thread).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/events/event_types.h"

namespace primus::events {

class GestureTracker {
 public:
  GestureTracker(std::string device, std::vector<std::string> labels, std::string null_label);

  /// Feed the scores of one window (one per label). Returns a finished gesture, if any.
  std::optional<GestureEvent> update(const float* scores, const Stamp& start, const Stamp& end,
                                     double threshold, const std::string& model_version);
  /// Close the gesture in progress (at shutdown or when the device is lost).
  std::optional<GestureEvent> flush();

 private:
  std::optional<GestureEvent> close();

  std::string device_;
  std::vector<std::string> labels_;
  int null_index_ = -1;
  int active_ = -1;  ///< label index of the gesture in progress, -1 if none
  GestureEvent current_;
  double score_sum_ = 0;
  std::uint64_t next_seq_ = 0;
};

}  // namespace primus::events
