#pragma once
// The training service: the trainer thread ("primus-train"), the model registry and the
// schedule. It fine-tunes on the labelled captures in the background, gates candidates on
// validation macro-F1, writes every candidate to the registry, and hands accepted ones to the
// inference engine (swap between batches). docs/training.md.
//
// Threads: the public methods may be called from any thread and never wait on training, the
// disk or the model: they queue a job and return; the job's outcome goes to the callback, which
// runs on the trainer thread (post it to your own thread if needed). status()/models() take a
// mutex held only while copying small state. One job runs at a time; a fine-tune may be
// cancelled by stop().
//
// Resources: the trainer loads its OWN copy of the live model (from the registry file, or the
// configured base) on the CPU, with training.threads intra-op threads, so inference keeps its
// thread and its model. Captures are read through a read-only connection to the capture store
// (WAL snapshot), all labelled captures at once (bounded by capture.max_bytes).
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "src/config/config.h"
#include "src/training/registry.h"

namespace primus::model {
class Classifier;
}

namespace primus::training {

/// A job's outcome: error_code empty on success (then `result` holds the answer), else one of
/// the control API's codes (conflict, not_found, unavailable, invalid_params, internal).
struct ServiceReply {
  std::string error_code;
  std::string message;
  nlohmann::json result;
  [[nodiscard]] bool ok() const noexcept { return error_code.empty(); }
};
using ReplyFn = std::function<void(const ServiceReply&)>;

class TrainingService {
 public:
  struct Hooks {
    /// Publish on the event bus (topic "training"); any thread, must not block.
    std::function<void(std::string topic, std::string json)> publish;
    /// Hand a loaded, warmed model to inference; the future is ready once it is live.
    std::function<std::future<void>(std::unique_ptr<model::Classifier>)> swap;
  };

  /// Opens the registry (throws std::runtime_error naming the directory). Starts no thread.
  TrainingService(const Config& cfg, Hooks hooks);
  ~TrainingService();  ///< stop()
  TrainingService(const TrainingService&) = delete;
  TrainingService& operator=(const TrainingService&) = delete;

  /// The model file the daemon should start with: the active registry version's file, or empty
  /// for the configured base (no active version, or version 0). Call before start().
  [[nodiscard]] std::string startup_weights() const;
  /// The version startup_weights() names (0 for the base model).
  [[nodiscard]] int startup_version() const;
  /// Tell the service which version went live at start-up (after startup_weights() loaded).
  void set_live_version(int version);

  void start();
  /// Cancels a running fine-tune at its next batch, answers queued jobs with "unavailable",
  /// joins. Idempotent.
  void stop();

  /// Queue a fine-tune (mode empty: training.mode). Returns the job number at once, or a reply
  /// with error "conflict" when one is queued or running. on_done runs when it has finished.
  ServiceReply request_finetune(std::optional<FinetuneMode> mode, ReplyFn on_done);
  /// Load version v (0 = base), swap it in, make it active. Rejected versions need `force`.
  void request_activate(int version, bool force, ReplyFn on_done);
  /// Activate `version`, or (empty) the parent of the live version.
  void request_rollback(std::optional<int> version, ReplyFn on_done);

  [[nodiscard]] nlohmann::json status() const;
  [[nodiscard]] nlohmann::json models() const;

 private:
  struct Job {
    enum class Kind { kFinetune, kActivate } kind = Kind::kFinetune;
    int id = 0;
    std::optional<FinetuneMode> mode;
    bool scheduled = false;
    int version = 0;
    bool force = false;
    ReplyFn on_done;
  };
  void run();
  ServiceReply run_finetune(const Job& job);
  ServiceReply run_activate(int version, bool force);
  std::unique_ptr<model::Classifier> load_version(int version, const std::string& device,
                                                  int warm_batch) const;
  std::int64_t new_windows_since_last() const;
  void publish(nlohmann::json j) const;

  Config cfg_;
  Hooks hooks_;
  ModelRegistry registry_;
  std::atomic<bool> cancel_{false};
  std::thread thread_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  bool started_ = false;
  int next_job_ = 1;
  int live_version_ = 0;
  std::optional<int> running_job_;
  nlohmann::json progress_;           ///< null when idle
  nlohmann::json last_;               ///< last finished fine-tune, null before the first
  std::int64_t trained_upto_id_ = 0;  ///< newest capture id the last fine-tune saw
  std::int64_t new_windows_ = 0;      ///< at the last schedule check
};

}  // namespace primus::training
