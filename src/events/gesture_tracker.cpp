#include "src/events/gesture_tracker.h"

#include <algorithm>

namespace primus::events {

GestureTracker::GestureTracker(std::string device, std::vector<std::string> labels,
                               std::string null_label)
    : device_(std::move(device)), labels_(std::move(labels)) {
  auto it = std::find(labels_.begin(), labels_.end(), null_label);
  null_index_ = it == labels_.end() ? -1 : static_cast<int>(it - labels_.begin());
}

std::optional<GestureEvent> GestureTracker::update(const float* scores, const Stamp& start,
                                                   const Stamp& end, double threshold,
                                                   const std::string& model_version) {
  const int n = static_cast<int>(labels_.size());
  const int best = static_cast<int>(std::max_element(scores, scores + n) - scores);
  const bool votes = best != null_index_ && scores[best] >= threshold;
  std::optional<GestureEvent> done;
  if (active_ >= 0 && (!votes || best != active_)) done = close();
  if (votes) {
    if (active_ < 0) {
      active_ = best;
      current_ = GestureEvent{};
      current_.device = device_;
      current_.label = labels_[best];
      current_.onset = start;
      current_.model_version = model_version;
      score_sum_ = 0;
    }
    current_.offset = end;
    current_.windows += 1;
    score_sum_ += scores[best];
  }
  return done;
}

std::optional<GestureEvent> GestureTracker::flush() {
  if (active_ < 0) return std::nullopt;
  return close();
}

std::optional<GestureEvent> GestureTracker::close() {
  GestureEvent e = std::move(current_);
  e.confidence = e.windows > 0 ? score_sum_ / e.windows : 0.0;
  e.seq = next_seq_++;
  active_ = -1;
  return e;
}

}  // namespace primus::events
