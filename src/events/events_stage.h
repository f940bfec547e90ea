#pragma once
// The events stage: turns the inference engine's per-window scores into bus messages, off the
// model's critical path. One thread ("primus-events") owns one PostProcessor per device, encodes
// gesture and score messages (src/events/event_types.h) and hands them to `emit` (the publisher).
//
//   inference thread --push(ScoredBatch)--> bounded queue --> events thread --emit--> publisher
//
// Queue: bounded by `capacity_windows` windows. push() never blocks: a batch that does not fit is
// dropped whole and counted (dropped_batches, dropped_windows); the post-processors then see a
// window sequence gap, which closes a gesture in progress and clears the smoothing history, as any
// other gap does. Under normal load the queue is near empty: post-processing costs microseconds
// per window where the model costs milliseconds.
//
// Model swaps: each batch names the model that scored it (ModelTag). When the tag changes, the
// stage closes every gesture in progress (published with the old model's version) and rebuilds its
// post-processors for the new labels and the new model's calibration, in stream order, so no
// event mixes two models.
//
// Threads: push()/set_config()/stats()/histograms() from any thread; start()/stop() from the
// owner's thread. `emit` runs on the events thread and must not block (Publisher::publish).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/config/config.h"
#include "src/core/metrics.h"
#include "src/core/time_source.h"
#include "src/events/event_types.h"
#include "src/events/post_processor.h"

namespace primus::events {

/// What scored a batch: immutable, shared by every batch of one live model.
struct ModelTag {
  std::string version;
  std::vector<std::string> labels;
  /// The model's per-class calibration, or null; the post-processors built for this model use
  /// it under the precedence of src/events/calibration.h.
  std::shared_ptr<const Calibration> calibration{};
};

/// One window's identity and times, without its samples.
struct ScoredWindow {
  std::uint32_t device = 0;  ///< index into the device ids given to the stage
  std::uint64_t seq = 0;     ///< per-device window counter
  Stamp start;
  Stamp end;
  std::int64_t t_ready_ns = 0;  ///< host steady time the window was complete (latency origin)
  int interpolated = 0;
};

/// The scores of one model call: windows.size() rows of model->labels.size() probabilities.
struct ScoredBatch {
  std::shared_ptr<const ModelTag> model;
  std::vector<ScoredWindow> windows;
  std::vector<float> scores;  ///< row-major
};

struct EventsStats {
  std::uint64_t windows = 0;  ///< windows post-processed
  std::uint64_t events = 0;   ///< gesture messages emitted
  std::uint64_t rejected_ambiguous = 0;
  std::uint64_t too_short = 0;
  std::uint64_t suppressed_refractory = 0;  ///< windows of a class in its refractory time
  std::uint64_t discontinuities = 0;
  std::uint64_t dropped_batches = 0;  ///< batches refused because the queue was full
  std::uint64_t dropped_windows = 0;  ///< their windows
  std::size_t depth = 0;              ///< windows waiting now
  /// Over the last minute: window complete -> its messages handed to the bus (ms).
  RecentPercentiles::Summary latency_ms;
};

class EventsStage {
 public:
  using Emit = std::function<void(std::string topic, std::string json)>;

  /// `device_ids[i]` names device i (ScoredWindow::device); topics are "gesture.<id>" and
  /// "score.<id>" (events.publish_scores).
  EventsStage(std::vector<std::string> device_ids, const EventsConfig& cfg,
              std::size_t capacity_windows, Emit emit, const TimeSource& clock);
  ~EventsStage();  ///< stop()
  EventsStage(const EventsStage&) = delete;
  EventsStage& operator=(const EventsStage&) = delete;

  void start();
  /// Processes everything queued, closes gestures in progress (published), joins. Idempotent.
  /// Call after the producer (the engine) has stopped.
  void stop();

  /// Hand over a scored batch. False (and counted) when the queue is full or the stage stopped.
  bool push(ScoredBatch&& batch);
  /// A reader of every scored window (the web console's live scores), called on the events
  /// thread with the window's device index, the model's labels and its row of scores (valid
  /// during the call only); it must not block. Set before start().
  using ScoreTap = std::function<void(std::uint32_t device, const ModelTag& model,
                                      const float* scores, const ScoredWindow& window)>;
  void set_score_tap(ScoreTap tap) { score_tap_ = std::move(tap); }
  /// Change post-processing live (SIGHUP); applied before the next batch.
  void set_config(const EventsConfig& cfg);

  [[nodiscard]] EventsStats stats() const;
  /// Window complete -> messages handed to the bus, seconds (for /metrics).
  [[nodiscard]] const Histogram& latency_histogram() const { return latency_s_; }

 private:
  void run();
  void process(const ScoredBatch& b, bool scores_on);
  void flush_all();
  void rebuild(const std::shared_ptr<const ModelTag>& tag);
  void fold_stats();  ///< events thread, mu_ held

  const std::vector<std::string> ids_;
  const std::size_t capacity_;
  Emit emit_;
  ScoreTap score_tap_;
  const TimeSource& clock_;
  std::thread thread_;

  // Owned by the events thread.
  std::vector<PostProcessor> processors_;
  std::shared_ptr<const ModelTag> tag_;
  EventsConfig live_cfg_;
  PostProcessorStats retired_;  ///< counters of processors replaced at a swap

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::deque<ScoredBatch> queue_;
  std::size_t queued_windows_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  EventsConfig cfg_;
  std::uint64_t cfg_gen_ = 0;
  EventsStats totals_;

  mutable RecentPercentiles latency_ms_{60'000'000'000};
  Histogram latency_s_{{0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}};
};

}  // namespace primus::events
