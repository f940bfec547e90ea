#include "src/events/post_processor.h"

#include <algorithm>

namespace primus::events {

PostProcessor::PostProcessor(std::string device, std::vector<std::string> labels,
                             const EventsConfig& cfg,
                             std::shared_ptr<const Calibration> calibration)
    : device_(std::move(device)),
      labels_(std::move(labels)),
      calibration_(std::move(calibration)),
      n_(labels_.size()) {
  auto it = std::find(labels_.begin(), labels_.end(), cfg.null_label);
  null_index_ = it == labels_.end() ? -1 : static_cast<int>(it - labels_.begin());
  smoothed_.assign(n_, 0.0f);
  refractory_until_ns_.assign(n_, INT64_MIN);
  set_config(cfg);
}

void PostProcessor::set_config(const EventsConfig& cfg) {
  cfg_ = cfg;
  params_ = resolve_class_params(cfg_, labels_, calibration_.get());
  std::size_t k = 1;
  for (const auto& p : params_) k = std::max(k, static_cast<std::size_t>(p.smoothing_windows));
  if (k != k_ || history_.empty()) {
    k_ = k;
    history_.assign(k_ * n_, 0.0f);
    filled_ = 0;
    pos_ = 0;
  }
}

void PostProcessor::clear_history() {
  filled_ = 0;
  pos_ = 0;
}

std::optional<GestureEvent> PostProcessor::update(std::uint64_t window_seq, const float* scores,
                                                  const Stamp& start, const Stamp& end,
                                                  const std::string& model_version) {
  (void)start;
  ++stats_.windows;
  started_.reset();
  std::optional<GestureEvent> done;
  if (have_prev_ && window_seq != prev_seq_ + 1) {
    ++stats_.discontinuities;
    done = end_gesture();
    clear_history();
  }
  have_prev_ = true;
  prev_seq_ = window_seq;

  // Each class's moving average over its last k windows (fewer while the history fills). The
  // newest row is at pos_ - 1; rows are summed newest first.
  std::copy(scores, scores + n_, history_.begin() + static_cast<std::ptrdiff_t>(pos_ * n_));
  const std::size_t newest = pos_;
  pos_ = (pos_ + 1) % k_;
  filled_ = std::min(filled_ + 1, k_);
  for (std::size_t c = 0; c < n_; ++c) {
    const std::size_t k = std::min(filled_, static_cast<std::size_t>(params_[c].smoothing_windows));
    float sum = 0.0f;
    for (std::size_t r = 0; r < k; ++r) sum += history_[((newest + k_ - r) % k_) * n_ + c];
    smoothed_[c] = sum / static_cast<float>(k);
  }

  int best = 0;
  for (std::size_t c = 1; c < n_; ++c)
    if (smoothed_[c] > smoothed_[best]) best = static_cast<int>(c);
  float second = 0.0f;
  for (std::size_t c = 0; c < n_; ++c)
    if (static_cast<int>(c) != best) second = std::max(second, smoothed_[c]);

  // Would `best` start a gesture now?
  bool starts = false;
  if (best != null_index_ && smoothed_[best] >= params_[best].onset_threshold) {
    if (smoothed_[best] - second < cfg_.margin) {
      ++stats_.rejected_ambiguous;
    } else if (end.t_host_ns < refractory_until_ns_[best]) {
      ++stats_.suppressed_refractory;
    } else {
      starts = true;
    }
  }

  if (active_ >= 0) {
    const bool released = smoothed_[active_] < params_[active_].release_threshold;
    const bool taken_over = starts && best != active_;
    if (released || taken_over) {
      auto e = end_gesture();
      if (e) done = std::move(e);
    } else {
      current_.offset = end;
      current_.windows += 1;
      score_sum_ += smoothed_[active_];
      maybe_announce();
      return done;
    }
  }
  if (starts && active_ < 0) {
    active_ = best;
    current_ = GestureEvent{};
    current_.device = device_;
    current_.label = labels_[best];
    current_.onset = end;
    current_.offset = end;
    current_.windows = 1;
    current_.model_version = model_version;
    score_sum_ = smoothed_[best];
    announced_ = false;
    maybe_announce();
  }
  return done;
}

void PostProcessor::maybe_announce() {
  if (announced_ || active_ < 0) return;
  const std::int64_t duration_ns = current_.offset.t_host_ns - current_.onset.t_host_ns;
  if (duration_ns < static_cast<std::int64_t>(params_[active_].min_duration_ms) * 1'000'000) return;
  announced_ = true;
  current_.seq = next_event_seq_++;
  GestureEvent s = current_;
  s.phase = GestureEvent::Phase::kStart;
  s.confidence = current_.windows > 0 ? score_sum_ / current_.windows : 0.0;
  started_ = std::move(s);
}

std::optional<GestureEvent> PostProcessor::end_gesture() {
  if (active_ < 0) return std::nullopt;
  const int label = active_;
  active_ = -1;
  if (!announced_) {  // nothing went out, so nothing can be announced twice: no refractory time
    ++stats_.too_short;
    return std::nullopt;
  }
  refractory_until_ns_[label] =
      current_.offset.t_host_ns + static_cast<std::int64_t>(cfg_.refractory_ms) * 1'000'000;
  announced_ = false;
  GestureEvent e = std::move(current_);
  e.phase = GestureEvent::Phase::kEnd;
  e.confidence = e.windows > 0 ? score_sum_ / e.windows : 0.0;
  ++stats_.events;
  return e;
}

std::optional<GestureEvent> PostProcessor::flush() { return end_gesture(); }

}  // namespace primus::events
