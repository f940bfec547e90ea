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

namespace {
constexpr std::size_t kNone = static_cast<std::size_t>(-1);
}  // namespace

bool Batcher::busier(std::size_t a, std::size_t b) const {
  const auto na = devs_[a].q.size(), nb = devs_[b].q.size();
  return na != nb ? na > nb : devs_[a].id < devs_[b].id;
}

void Batcher::sift_up(std::size_t pos) {
  while (pos > 0) {
    const std::size_t parent = (pos - 1) / 2;
    if (!busier(busiest_[pos], busiest_[parent])) break;
    std::swap(busiest_[pos], busiest_[parent]);
    devs_[busiest_[pos]].heap_pos = pos;
    devs_[busiest_[parent]].heap_pos = parent;
    pos = parent;
  }
}

void Batcher::sift_down(std::size_t pos) {
  for (;;) {
    std::size_t best = pos;
    for (const std::size_t child : {2 * pos + 1, 2 * pos + 2})
      if (child < busiest_.size() && busier(busiest_[child], busiest_[best])) best = child;
    if (best == pos) return;
    std::swap(busiest_[pos], busiest_[best]);
    devs_[busiest_[pos]].heap_pos = pos;
    devs_[busiest_[best]].heap_pos = best;
    pos = best;
  }
}

std::size_t Batcher::slot_locked(std::uint32_t device) {
  const auto it = slot_of_.find(device);
  if (it != slot_of_.end()) return it->second;
  const std::size_t slot = devs_.size();
  devs_.push_back(Device{device, {}, busiest_.size()});
  slot_of_.emplace(device, slot);
  busiest_.push_back(slot);
  sift_up(busiest_.size() - 1);
  const auto at =
      std::lower_bound(by_id_.begin(), by_id_.end(), device,
                       [this](std::size_t s, std::uint32_t id) { return devs_[s].id < id; });
  by_id_.insert(at, slot);
  return slot;
}

Batcher::Item Batcher::pop_front_locked(std::size_t slot) {
  auto& d = devs_[slot];
  Item item = std::move(d.q.front());
  d.q.pop_front();
  --size_;
  sift_down(d.heap_pos);
  return item;
}

std::size_t Batcher::oldest_slot_locked() {
  while (!arrivals_.empty()) {
    const auto [id, slot] = arrivals_.front();
    const auto& q = devs_[slot].q;
    // Windows leave a device's queue only at its front: an entry is live while its id is not
    // older than the front's, and the first live entry is that front.
    if (!q.empty() && q.front().id <= id) return slot;
    arrivals_.pop_front();
  }
  return kNone;
}

bool Batcher::push(Window&& w) {
  {
    std::lock_guard lk(mu_);
    if (closed_) return false;
    if (size_ >= capacity_) {
      pop_front_locked(busiest_.front());  // the oldest window of the busiest device
      ++stats_.dropped_overload;
    }
    const std::size_t slot = slot_locked(w.device);
    const std::uint64_t id = next_id_++;
    devs_[slot].q.push_back(Item{std::move(w), clock_.now_ns(), id});
    arrivals_.emplace_back(id, slot);
    ++size_;
    sift_up(devs_[slot].heap_pos);
    ++stats_.enqueued;
  }
  cv_.notify_one();
  return true;
}

std::int64_t Batcher::oldest_enq_ns_locked() {
  const std::size_t slot = oldest_slot_locked();
  return slot == kNone ? std::numeric_limits<std::int64_t>::max() : devs_[slot].q.front().enq_ns;
}

void Batcher::take_batch_locked(std::vector<Window>& out) {
  if (max_queue_delay_ns_ > 0) {
    const std::int64_t too_old = clock_.now_ns() - max_queue_delay_ns_;
    for (std::size_t slot = oldest_slot_locked();
         slot != kNone && devs_[slot].q.front().enq_ns < too_old; slot = oldest_slot_locked()) {
      pop_front_locked(slot);
      ++stats_.expired;
    }
  }
  // Round-robin over devices in id order, from the first device with windows at or after
  // rr_next_; the next batch starts after the device served first in this one.
  const std::size_t n = by_id_.size();
  std::size_t start = static_cast<std::size_t>(
      std::lower_bound(by_id_.begin(), by_id_.end(), rr_next_,
                       [this](std::size_t s, std::uint32_t id) { return devs_[s].id < id; }) -
      by_id_.begin());
  std::size_t first = kNone;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t slot = by_id_[(start + k) % n];
    if (!devs_[slot].q.empty()) {
      first = (start + k) % n;
      break;
    }
  }
  if (first != kNone) {
    bool took_any = true;
    while (static_cast<int>(out.size()) < max_batch_ && took_any) {
      took_any = false;
      for (std::size_t k = 0; k < n && static_cast<int>(out.size()) < max_batch_; ++k) {
        const std::size_t slot = by_id_[(first + k) % n];
        if (devs_[slot].q.empty()) continue;
        out.push_back(std::move(pop_front_locked(slot).w));
        took_any = true;
      }
    }
    rr_next_ = devs_[by_id_[first]].id + 1;
  }
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
