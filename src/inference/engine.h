#pragma once
// The inference instances: `model.instances` threads ("primus-infer", "primus-infer-1", ...), like
// Triton's instance groups, take batches from the one Batcher, run the one live model and hand
// each batch's scores to `sink` (the events stage, src/events/events_stage.h, which turns them
// into gesture events off these threads). Each instance runs `model.threads` intra-op threads, so
// on a small machine N single-threaded instances keep N cores computing with no OpenMP barrier.
//
// Threads: start()/stop()/request_swap()/stats() are called from other threads (the io thread, a
// loader). The live model is shared by the instances: it is immutable while live and each
// instance has its own scratch memory (model::Classifier::predict(..., Workspace&)); a model that
// cannot be shared (CUDA, backend libtorch) is run by one instance at a time.
//
// Order: one instance at a time waits in the batcher; it numbers the batch it gets (under the
// same lock), and scored batches reach `sink` in that order, whichever instance finishes first
// (a finished batch waits for the ones before it, without holding up its instance). The batcher
// takes each device's windows oldest first, so every device's windows reach the sink in order.
// A failed batch is logged, counted and skipped in the order.
//
// Model swap: request_swap() hands over a loaded, warmed model; the instance that takes the next
// batch installs it, so batches numbered before it run on the old model and every later one on
// the new one: no window is lost or scored twice. Every scored batch carries the ModelTag of the
// model that scored it, so the events stage closes gestures in progress at the switch. The old
// model is freed by the last instance that used it.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
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
  int instances = 0;               ///< inference threads running
  std::string path;                ///< what runs the model: "native (onednn)", "libtorch"
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
  /// What runs the live model: "native (onednn)", "libtorch".
  [[nodiscard]] std::string compute_path() const;
  [[nodiscard]] std::vector<std::string> labels() const;

 private:
  void launch(std::unique_ptr<model::Classifier> initial);
  void run(int index, std::promise<void>* loaded, std::unique_ptr<model::Classifier> initial);
  /// Makes `m` the live model (under pop_mu_).
  void install_locked(std::unique_ptr<model::Classifier> m);
  /// Adopts a pending swap, if any (under pop_mu_).
  void adopt_pending_locked();
  /// Hands batch `ticket` (nothing for a failed batch) to the sink once all before it went.
  void deliver(std::uint64_t ticket, std::optional<events::ScoredBatch> scored);

  Config cfg_;
  Batcher& batcher_;
  Sink sink_;
  const TimeSource& clock_;

  std::vector<std::thread> threads_;
  std::atomic<std::int64_t> started_ns_{0};

  // One instance at a time waits in the batcher; with the batch it takes a ticket and the live
  // model, so the ticket order is the batch order and a swap falls between two tickets.
  std::mutex pop_mu_;
  std::uint64_t next_ticket_ = 0;                     ///< under pop_mu_
  std::shared_ptr<model::Classifier> live_;           ///< under pop_mu_
  std::shared_ptr<const events::ModelTag> live_tag_;  ///< under pop_mu_
  std::mutex serial_mu_;  ///< held around predict() when the live model cannot be shared

  // Scored batches finished out of order wait here for the ones before them.
  std::mutex out_mu_;
  std::uint64_t next_out_ = 0;  ///< under out_mu_: the ticket the sink gets next
  struct Slot {
    bool done = false;
    std::optional<events::ScoredBatch> scored;  ///< empty for a failed batch
  };
  std::deque<Slot> waiting_;  ///< under out_mu_: tickets next_out_, next_out_ + 1, ...

  mutable std::mutex mu_;  // guards everything below
  std::unique_ptr<model::Classifier> pending_;
  std::promise<void> pending_done_;
  bool has_pending_ = false;
  std::string model_version_;
  std::string device_name_;
  std::string path_;
  std::vector<std::string> labels_;
  EngineStats totals_;

  mutable RecentPercentiles compute_{60'000'000'000};
  mutable RecentPercentiles queue_{60'000'000'000};
  mutable RecentPercentiles windows_{60'000'000'000};  ///< batch sizes over time
  EngineHistograms hist_;
};

}  // namespace primus::inference
