#pragma once
// The bounded queue between the device pipelines (producers, io thread) and the inference thread
// (the one consumer), with the batch-or-timeout rule.
//
// - push(): never blocks. When the queue holds `capacity` windows, the oldest window of the
//   device with the most queued windows is dropped and counted (a chatty device pays first).
// - pop_batch(): blocks until a batch is due: `max_batch` windows are queued, or the oldest queued
//   window has waited `max_delay_us`, or close() was called. The wait is computed from the oldest
//   window's enqueue time (no polling). Windows are taken round-robin across devices, oldest
//   first within a device, so no device starves another. Windows that have waited longer than
//   `max_queue_delay_us` (0 = never) when a batch forms are expired: dropped and counted, so the
//   latency bound holds for the windows that are run.
// - Times come from the injected TimeSource (enqueue stamps, deadlines).
//
// Thread-safety: all methods are thread-safe; intended for many producers, one consumer.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "src/core/time_source.h"
#include "src/core/window.h"

namespace primus::inference {

struct BatcherStats {
  std::uint64_t enqueued = 0;
  std::uint64_t dropped_overload = 0;  ///< windows dropped because the queue was full
  std::uint64_t expired = 0;           ///< windows dropped for waiting > max_queue_delay_us
  std::uint64_t batches = 0;
  std::uint64_t batched_windows = 0;
  std::size_t depth = 0;
};

class Batcher {
 public:
  Batcher(std::size_t capacity, int max_batch, std::int64_t max_delay_us, const TimeSource& clock,
          std::int64_t max_queue_delay_us = 0);

  /// Queue a window (stamps its enqueue time). Returns false if the batcher is closed.
  bool push(Window&& w);
  /// Wait for the next batch (see the rule above) and move it into `out` (cleared first).
  /// Returns false when closed and empty: the consumer should exit.
  bool pop_batch(std::vector<Window>& out);
  /// Wake the consumer; after close, pop_batch drains what is queued without waiting.
  void close();
  /// Make one pending or the next pop_batch return at once (true, possibly with an empty batch)
  /// so the consumer can act between batches while no windows arrive (a model swap).
  void wake();

  [[nodiscard]] BatcherStats stats() const;

 private:
  struct Item {
    Window w;
    std::int64_t enq_ns;
    std::uint64_t id;  ///< push order
  };
  struct Device {
    std::uint32_t id = 0;
    std::deque<Item> q;
    std::size_t heap_pos = 0;  ///< index in busiest_
  };
  [[nodiscard]] std::int64_t oldest_enq_ns_locked();
  /// Drops stale entries at the front of arrivals_; returns the slot holding the oldest queued
  /// window (its queue's front), or npos when empty.
  std::size_t oldest_slot_locked();
  void take_batch_locked(std::vector<Window>& out);
  std::size_t slot_locked(std::uint32_t device);
  /// Removes the front window of `slot` (keeps busiest_ a heap).
  Item pop_front_locked(std::size_t slot);
  [[nodiscard]] bool busier(std::size_t a, std::size_t b) const;
  void sift_up(std::size_t pos);
  void sift_down(std::size_t pos);

  const std::size_t capacity_;
  const int max_batch_;
  const std::int64_t max_delay_ns_;
  const TimeSource& clock_;
  const std::int64_t max_queue_delay_ns_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Per device (slots in first-seen order): its FIFO. busiest_ is a max-heap of slots on (queued
  // windows, then lower device id), so push() finds the busiest device in O(1) and updates in
  // O(log devices); arrivals_ lists (item id, slot) in push order, pruned lazily at the front, so
  // the oldest queued window (deadlines, expiry) is found in amortised O(1).
  std::vector<Device> devs_;
  std::unordered_map<std::uint32_t, std::size_t> slot_of_;
  std::vector<std::size_t> by_id_;  ///< slots sorted by device id: the round-robin order
  std::vector<std::size_t> busiest_;
  std::deque<std::pair<std::uint64_t, std::size_t>> arrivals_;
  std::uint64_t next_id_ = 0;
  std::size_t size_ = 0;
  std::uint32_t rr_next_ = 0;  ///< device to start the next round-robin from
  bool closed_ = false;
  bool wake_ = false;
  BatcherStats stats_;
};

}  // namespace primus::inference
