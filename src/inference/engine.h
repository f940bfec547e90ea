#pragma once
// The inference thread: owns the live model, pops batches from the Batcher, runs the model and
// hands each batch's scores to `sink` (the events stage, src/events/events_stage.h, which turns
// them into gesture events off this thread).
//
// Threads: start()/stop()/request_swap()/stats() are called from other
// threads (the io thread, a loader); everything touching the live model runs on the thread
// "primus-infer" that start() creates. torch's intra-op thread count is set on that thread.
//
// Model swap: request_swap() hands over a loaded, warmed model; the inference thread installs it
// between two batches. The batch in flight finishes on the old model; every later batch runs on
// the new one, so no window is lost or scored twice. Every scored batch carries the ModelTag of
// the model that scored it, so the events stage closes gestures in progress at the switch.
#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/config/config.h"
#include "src/core/metrics.h"
#include "src/core/time_source.h"
#include "src/events/events_stage.h"
#include "src/inference/batcher.h"

namespace primus::model {
class Classifier;
}

namespace primus::inference {

struct EngineStats {
  std::uint64_t windows = 0;
  std::uint64_t batches = 0;
  std::uint64_t swaps = 0;
  std::uint64_t failed_batches = 0;
  std::uint64_t sink_refused = 0;  ///< scored batches the sink refused (its queue was full)
  double mean_batch = 0;
  /// Over the last minute: model time per batch (ms) and queue time per window (ms).
  RecentPercentiles::Summary compute_ms;
  RecentPercentiles::Summary queue_ms;
  double windows_per_s = 0;  ///< over the last minute
};

/// Histograms for /metrics (seconds, windows).
struct EngineHistograms {
  Histogram compute_s{{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2}};
  Histogram queue_s{{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2}};
  Histogram batch_size{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
};

class Engine {
 public:
  /// Called on the inference thread with every scored batch; must not block
  /// (EventsStage::push). Returns false when it refused the batch (counted in sink_refused).
  using Sink = std::function<bool(events::ScoredBatch&&)>;

  Engine(const Config& cfg, Batcher& batcher, Sink sink, const TimeSource& clock);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Start the inference thread and load the configured model on it (model.weights, or random
  /// weights with a loud warning). Blocks until loaded and warmed up; throws std::runtime_error
  /// with the loader's message if it cannot be loaded.
  void start();
  /// Like start(), with a model built by the caller (tests, benchmarks).
  void start(std::unique_ptr<model::Classifier> model);
  /// Close the batcher, score what it still holds, join the thread.
  void stop();

  /// Hand over a new, warmed model; it goes live between two batches. Returns a future that
  /// becomes ready once it is live (or holds an exception if the engine stopped first).
  std::future<void> request_swap(std::unique_ptr<model::Classifier> next);

  [[nodiscard]] EngineStats stats() const;
  [[nodiscard]] const EngineHistograms& histograms() const { return hist_; }
  [[nodiscard]] std::string model_version() const;
  [[nodiscard]] std::string device_name() const;
  [[nodiscard]] std::vector<std::string> labels() const;

 private:
  void run(std::unique_ptr<model::Classifier> initial, std::promise<void>* loaded);

  Config cfg_;
  Batcher& batcher_;
  Sink sink_;
  const TimeSource& clock_;

  std::thread thread_;
  std::atomic<std::int64_t> started_ns_{0};

  mutable std::mutex mu_;  // guards everything below
  std::unique_ptr<model::Classifier> pending_;
  std::promise<void> pending_done_;
  bool has_pending_ = false;
  std::string model_version_;
  std::string device_name_;
  std::vector<std::string> labels_;
  EngineStats totals_;

  mutable RecentPercentiles compute_{60'000'000'000};
  mutable RecentPercentiles queue_{60'000'000'000};
  mutable RecentPercentiles windows_{60'000'000'000};  ///< batch sizes over time
  EngineHistograms hist_;
};

}  // namespace primus::inference
