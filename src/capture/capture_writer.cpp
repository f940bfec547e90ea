#include "src/capture/capture_writer.h"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <utility>

#include "src/core/time_source.h"

namespace primus::capture {

const char* to_string(SubmitResult r) noexcept {
  switch (r) {
    case SubmitResult::kQueued:
      return "queued";
    case SubmitResult::kFull:
      return "capture queue full";
    case SubmitResult::kStopped:
      return "capture writer stopped";
    case SubmitResult::kInvalid:
      return "invalid capture";
  }
  return "?";
}

const char* to_string(AppendError e) noexcept {
  switch (e) {
    case AppendError::kNone:
      return "none";
    case AppendError::kStorageFull:
      return "storage full";
    case AppendError::kOther:
      return "other";
  }
  return "?";
}

CaptureWriter::CaptureWriter(std::unique_ptr<CaptureStore> store, WriterOptions opt)
    : store_(std::move(store)), opt_(opt) {
  if (!store_) throw std::invalid_argument("CaptureWriter: store is null");
  if (opt_.max_jobs == 0) throw std::invalid_argument("CaptureWriter: max_jobs must be >= 1");
  thread_ = std::thread([this] { run(); });
}

CaptureWriter::~CaptureWriter() { stop(); }

SubmitResult CaptureWriter::submit(CaptureRecord r, AckFn on_done, std::string* why) {
  try {
    validate_capture(r);
  } catch (const CaptureError& e) {
    if (why != nullptr) *why = e.what();
    std::lock_guard lock(mu_);
    ++counters_.refused_invalid;
    return SubmitResult::kInvalid;
  }
  return enqueue(AppendJob{std::move(r), std::move(on_done)});
}

SubmitResult CaptureWriter::post(StoreTask task) { return enqueue(std::move(task)); }

SubmitResult CaptureWriter::enqueue(Job&& job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return SubmitResult::kStopped;
    if (queue_.size() >= opt_.max_jobs) {
      ++counters_.refused_full;
      return SubmitResult::kFull;
    }
    queue_.push_back(std::move(job));
    ++counters_.queued;
    counters_.depth = queue_.size();
    if (queue_.size() > counters_.high_water) counters_.high_water = queue_.size();
  }
  cv_.notify_one();
  return SubmitResult::kQueued;
}

void CaptureWriter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

WriterCounters CaptureWriter::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void CaptureWriter::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
      counters_.depth = queue_.size();
    }
    if (auto* a = std::get_if<AppendJob>(&job)) {
      AppendOutcome out;
      try {
        out.id = store_->append(a->record);
      } catch (const StorageFullError& e) {
        out.error = e.what();
        out.code = AppendError::kStorageFull;
      } catch (const std::exception& e) {
        out.error = e.what();
        out.code = AppendError::kOther;
      }
      {
        std::lock_guard lock(mu_);
        ++(out.ok() ? counters_.written : counters_.failed);
        if (out.storage_full()) ++counters_.storage_full;
      }
      if (out.storage_full()) {
        note_storage_full(out.error);
      } else if (out.ok()) {
        note_written();
      }
      if (a->on_done) {
        try {
          a->on_done(out);
        } catch (...) {
          std::lock_guard lock(mu_);
          ++counters_.callback_errors;
        }
      }
    } else {
      bool failed = false;
      try {
        std::get<StoreTask>(job)(*store_);
      } catch (...) {
        failed = true;
      }
      if (failed) {
        std::lock_guard lock(mu_);
        ++counters_.task_errors;
      }
    }
  }
}

void CaptureWriter::note_storage_full(const std::string& error) {
  ++full_since_written_;
  if (const std::uint64_t n = full_log_.note(SteadyTimeSource::instance().now_ns())) {
    spdlog::warn("capture: storage full, {} capture(s) not stored since the last warning: {}", n,
                 error);
  }
}

void CaptureWriter::note_written() {
  if (full_since_written_ == 0) return;
  spdlog::info(
      "capture: the store is writable again; {} capture(s) were not stored while it was "
      "full",
      full_since_written_);
  full_since_written_ = 0;
  full_log_.reset();
}

}  // namespace primus::capture
