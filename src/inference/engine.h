#pragma once
// The inference thread: owns the live model, pops batches from the Batcher, runs the model,
// turns scores into gesture events (one GestureTracker per device) and hands messages to `emit`.
//
// Threads: start()/stop()/stats()/setters are called from the io thread; everything touching the
// model runs on the thread "primus-infer" that start() creates. The model is created, used and
// destroyed on that thread (LibTorch thread settings are per thread).
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
#include "src/core/time_source.h"
#include "src/inference/batcher.h"

namespace primus::inference {

struct EngineStats {
  std::uint64_t windows = 0;
  std::uint64_t batches = 0;
  std::uint64_t events = 0;
  double mean_batch = 0;
  double latency_p50_ms = 0;  ///< window complete -> messages handed to the bus, last 4096 windows
  double latency_p99_ms = 0;
  double latency_max_ms = 0;
  double compute_mean_ms = 0;  ///< model time per batch, last 256 batches
};

class Engine {
 public:
  /// `emit(topic, json)` is called on the inference thread; it must not block (Publisher::publish).
  using Emit = std::function<void(std::string topic, std::string json)>;

  Engine(const Config& cfg, Batcher& batcher, Emit emit, const TimeSource& clock);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Start the inference thread and load the model on it. Blocks until the model is loaded and
  /// warmed up; throws std::runtime_error (with the loader's message) if it cannot be loaded.
  void start();
  /// Run what the (closed) batcher still holds, close gestures in progress, join the thread.
  /// Call Batcher::close() first.
  void stop();

  void set_threshold(double t) { threshold_.store(t); }
  void set_publish_scores(bool on) { publish_scores_.store(on); }

  [[nodiscard]] EngineStats stats() const;
  [[nodiscard]] std::string model_version() const;
  [[nodiscard]] std::string device_name() const;

 private:
  void run(std::promise<void>* loaded);

  Config cfg_;
  Batcher& batcher_;
  Emit emit_;
  const TimeSource& clock_;
  std::atomic<double> threshold_;
  std::atomic<bool> publish_scores_;

  std::thread thread_;
  mutable std::mutex stats_mu_;
  EngineStats totals_;
  std::vector<double> latencies_ms_;  ///< ring of the last kLatencyWindow latencies
  std::size_t latency_pos_ = 0;
  std::vector<double> compute_ms_;
  std::size_t compute_pos_ = 0;
  std::string model_version_;
  std::string device_name_;
};

}  // namespace primus::inference
