#include "src/inference/batcher.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace primus::inference {

Batcher::Batcher(std::size_t capacity, int max_batch, std::int64_t max_delay_us,
                 const TimeSource& clock, std::int64_t max_queue_delay_us)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      max_batch_(std::max(max_batch, 1)),
      max_delay_ns_(max_delay_us * 1000),
      clock_(clock),
      max_queue_delay_ns_(max_queue_delay_us * 1000) {}

bool Batcher::push(Window&& w) {
  {
    std::lock_guard lk(mu_);
    if (closed_) return false;
    if (size_ >= capacity_) {
      // Drop the oldest window of the busiest device.
      auto busiest = per_device_.end();
      for (auto it = per_device_.begin(); it != per_device_.end(); ++it) {
        if (busiest == per_device_.end() || it->second.size() > busiest->second.size())
          busiest = it;
      }
      busiest->second.pop_front();
      --size_;
      ++stats_.dropped_overload;
    }
    const auto dev = w.device;
    per_device_[dev].push_back(Item{std::move(w), clock_.now_ns()});
    ++size_;
    ++stats_.enqueued;
  }
  cv_.notify_one();
  return true;
}

std::int64_t Batcher::oldest_enq_ns_locked() const {
  std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
  for (const auto& [dev, q] : per_device_) {
    if (!q.empty()) oldest = std::min(oldest, q.front().enq_ns);
  }
  return oldest;
}

void Batcher::take_batch_locked(std::vector<Window>& out) {
  if (max_queue_delay_ns_ > 0) {
    const std::int64_t too_old = clock_.now_ns() - max_queue_delay_ns_;
    for (auto& [dev, q] : per_device_) {
      while (!q.empty() && q.front().enq_ns < too_old) {
        q.pop_front();
        --size_;
        ++stats_.expired;
      }
    }
  }
  // Round-robin over devices, starting after the device served first last time.
  std::vector<std::deque<Item>*> queues;
  std::vector<std::uint32_t> ids;
  for (auto& [dev, q] : per_device_) {
    if (!q.empty()) {
      queues.push_back(&q);
      ids.push_back(dev);
    }
  }
  std::size_t start = 0;
  while (start < ids.size() && ids[start] < rr_next_) ++start;
  if (start == ids.size()) start = 0;
  std::size_t i = start;
  bool took_any = true;
  while (static_cast<int>(out.size()) < max_batch_ && took_any) {
    took_any = false;
    for (std::size_t k = 0; k < queues.size() && static_cast<int>(out.size()) < max_batch_; ++k) {
      auto& q = *queues[(i + k) % queues.size()];
      if (q.empty()) continue;
      out.push_back(std::move(q.front().w));
      q.pop_front();
      --size_;
      took_any = true;
    }
  }
  if (!ids.empty()) rr_next_ = ids[start] + 1;
  ++stats_.batches;
  stats_.batched_windows += out.size();
}

bool Batcher::pop_batch(std::vector<Window>& out) {
  out.clear();
  std::unique_lock lk(mu_);
  for (;;) {
    if (wake_) {
      wake_ = false;
      if (size_ == 0 && !closed_) return true;  // empty batch: the consumer acts, then waits again
    }
    if (size_ == 0) {
      if (closed_) return false;
      cv_.wait(lk, [&] { return size_ > 0 || closed_ || wake_; });
      continue;
    }
    if (!closed_ && static_cast<int>(size_) < max_batch_) {
      const std::int64_t due = oldest_enq_ns_locked() + max_delay_ns_;
      const std::int64_t wait = due - clock_.now_ns();
      if (wait > 0) {
        cv_.wait_for(lk, std::chrono::nanoseconds(wait));
        continue;
      }
    }
    take_batch_locked(out);
    if (!out.empty()) return true;  // else everything queued had expired: wait again
  }
}

void Batcher::close() {
  {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

void Batcher::wake() {
  {
    std::lock_guard lk(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

BatcherStats Batcher::stats() const {
  std::lock_guard lk(mu_);
  BatcherStats s = stats_;
  s.depth = size_;
  return s;
}

}  // namespace primus::inference
