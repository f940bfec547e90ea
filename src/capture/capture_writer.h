#pragma once
// The capture writer: one thread that owns the CaptureStore and performs every disk operation on
// it, so the daemon's io thread never waits on the disk.
//
// Contract
// - submit() and post() may be called from any thread; they never block on the disk: they take a
//   mutex held only to push to / pop from the queue (no I/O under it) and return at once.
// - Queue: bounded to WriterOptions::max_jobs. Policy when full: REFUSE the new job (return
//   kFull, counted in refused_full). Jobs already accepted are never dropped: an accepted capture
//   is either written or answered with an error, exactly once. Refusing, not dropping the oldest,
//   lets the caller tell the client at once that its label was not taken ("store busy"), while
//   nobody whose capture was accepted earlier is silently lost.
// - Completion: on_done runs on the writer thread after append() returned (i.e. after the
//   commit; with Synchronous::kFull after the fsync). It must be short and must not call this
//   writer's stop(); to answer a client, post the outcome back to the owning thread (e.g.
//   asio::post to the io strand). Exceptions it throws are caught and counted.
// - stop() (and the destructor) stops accepting, runs every job already queued, then joins. After
//   stop(), submit()/post() return kStopped.
// - Storage full (capture_store.h): an append that fails because the disk (or quota) is full is
//   answered with AppendError::kStorageFull, counted in `storage_full` (and in `failed`), and
//   logged with spdlog::warn at most once every kStorageFullLogIntervalNs (10 s), each line giving
//   the number of captures lost since the previous one. The store stays usable: when space
//   returns the next append is written, and one info line says how many were lost meanwhile.
// - post(task) runs task(store) on the writer thread, in queue order with the captures: use it
//   for reads (stats, list) and maintenance (enforce_retention) that must not touch the
//   connection from another thread. Its exceptions are caught and counted.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "src/capture/capture_store.h"
#include "src/core/log_throttle.h"

namespace primus::capture {

struct WriterOptions {
  std::size_t max_jobs = 64;  ///< queued jobs at most (>= 1)
};

/// Why an append was not written, for the caller to choose its reply: kStorageFull is an
/// environment condition (the daemon answers `unavailable`, "storage full: ..."), kOther a
/// refused capture or an unexpected failure.
enum class AppendError {
  kNone,         ///< written
  kStorageFull,  ///< the store threw StorageFullError: no space on its file system (or quota)
  kOther,        ///< any other failure (CaptureError or another exception)
};

[[nodiscard]] const char* to_string(AppendError e) noexcept;

/// What on_done receives: the id when written, otherwise the reason.
struct AppendOutcome {
  std::int64_t id = 0;  ///< > 0 when written
  std::string error;    ///< non-empty when not written (store errors name the file)
  AppendError code = AppendError::kNone;  ///< kNone exactly when error is empty
  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
  [[nodiscard]] bool storage_full() const noexcept { return code == AppendError::kStorageFull; }
};

/// The shortest time between two storage-full warnings of one writer: 10 s.
inline constexpr std::int64_t kStorageFullLogIntervalNs = 10'000'000'000;

using AckFn = std::function<void(const AppendOutcome&)>;
using StoreTask = std::function<void(CaptureStore&)>;

enum class SubmitResult {
  kQueued,   ///< accepted; on_done will run exactly once
  kFull,     ///< queue full: refused, on_done will not run
  kStopped,  ///< writer stopped: refused, on_done will not run
  kInvalid,  ///< the record failed validate_capture (reason in *why): on_done will not run
};

[[nodiscard]] const char* to_string(SubmitResult r) noexcept;

struct WriterCounters {
  std::uint64_t queued = 0;           ///< jobs accepted
  std::uint64_t written = 0;          ///< captures committed
  std::uint64_t failed = 0;           ///< captures whose append threw (on_done got the error)
  std::uint64_t storage_full = 0;     ///< of those, failed because the storage was full
  std::uint64_t refused_full = 0;     ///< submit/post refused because the queue was full
  std::uint64_t refused_invalid = 0;  ///< submit refused by validation
  std::uint64_t task_errors = 0;      ///< post() tasks that threw
  std::uint64_t callback_errors = 0;  ///< on_done callbacks that threw
  std::size_t depth = 0;              ///< jobs queued now
  std::size_t high_water = 0;         ///< largest depth seen
};

class CaptureWriter {
 public:
  /// Takes ownership of an open store (opened on the caller's thread, so a bad path or schema
  /// fails here, before any thread starts) and starts the writer thread.
  /// Throws std::invalid_argument if store is null or max_jobs is 0.
  CaptureWriter(std::unique_ptr<CaptureStore> store, WriterOptions opt = {});
  ~CaptureWriter();
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  /// Any thread. Validates r (cheap: one pass over its floats), then queues it.
  SubmitResult submit(CaptureRecord r, AckFn on_done, std::string* why = nullptr);
  /// Any thread. Queues task to run on the writer thread with the store.
  SubmitResult post(StoreTask task);

  /// Any thread except the writer's. Idempotent.
  void stop();

  [[nodiscard]] WriterCounters counters() const;

 private:
  struct AppendJob {
    CaptureRecord record;
    AckFn on_done;
  };
  using Job = std::variant<AppendJob, StoreTask>;

  SubmitResult enqueue(Job&& job);
  void run();

  void note_storage_full(const std::string& error);
  void note_written();

  std::unique_ptr<CaptureStore> store_;  ///< used only by thread_ after construction
  const WriterOptions opt_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;                            ///< guarded by mu_
  bool stopping_ = false;                            ///< guarded by mu_
  WriterCounters counters_{};                        ///< guarded by mu_
  LogThrottle full_log_{kStorageFullLogIntervalNs};  ///< used only by thread_
  std::uint64_t full_since_written_ = 0;             ///< used only by thread_
  std::thread thread_;
};

}  // namespace primus::capture
