#pragma once
// Bounded, preallocated, drop-oldest ring of trivially copyable values.
//
// Contract
// - Capacity is fixed at construction (rounded up to a power of two) and all storage is allocated
//   then; push() never allocates.
// - Overflow policy: drop oldest. A push into a full ring overwrites the oldest element; the number
//   of elements overwritten so far is dropped() (= pushed() - capacity() once full).
// - Elements are addressed by their absolute index: the n-th element ever pushed has index n
//   (0-based, 64-bit, never wraps in practice). The ring holds indices [oldest(), pushed()).
// - Threads: exactly ONE producer thread calls push()/clear(). Any number of reader threads may
//   call the const members concurrently with the producer; they never block it and never see a
//   torn element: read() copies, then validates with a sequence check (a seqlock over the whole
//   ring) and reports only the elements that were not overwritten while being copied.
//   Storage is std::atomic words accessed relaxed plus fences, so this is race-free in the C++
//   memory model (and clean under ThreadSanitizer).
#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <type_traits>

namespace primus {

template <typename T>
class RingBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "RingBuffer<T> needs a trivially copyable T");

 public:
  /// Result of read(): `count` elements were copied to out[0..count), the first of them has
  /// absolute index `first`. `lost` elements the caller asked for had already been overwritten.
  struct ReadResult {
    std::uint64_t first = 0;
    std::size_t count = 0;
    std::uint64_t lost = 0;
  };

  /// min_capacity >= 1; the real capacity is the next power of two.
  explicit RingBuffer(std::size_t min_capacity)
      : capacity_(std::bit_ceil(std::max<std::size_t>(min_capacity, 1))),
        mask_(capacity_ - 1),
        words_(std::make_unique<std::atomic<std::uint64_t>[]>(capacity_ * kWords)) {
    if (min_capacity == 0) throw std::invalid_argument("RingBuffer: capacity must be >= 1");
    for (std::size_t i = 0; i < capacity_ * kWords; ++i) {
      words_[i].store(0, std::memory_order_relaxed);
    }
  }

  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// Elements ever pushed (the index the next push gets).
  [[nodiscard]] std::uint64_t pushed() const noexcept {
    return head_.load(std::memory_order_acquire);
  }
  /// Elements overwritten by drop-oldest so far (never counts elements forgotten by clear()).
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }
  /// Index of the oldest element still held.
  [[nodiscard]] std::uint64_t oldest() const noexcept {
    const std::uint64_t h = pushed();
    const std::uint64_t base = base_.load(std::memory_order_acquire);
    return std::max(base, h > capacity_ ? h - capacity_ : 0);
  }
  /// Number of elements held (<= capacity()).
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(pushed() - oldest());
  }

  /// Producer only. O(sizeof(T)/8) relaxed stores, never blocks, never allocates.
  void push(const T& v) noexcept {
    const std::uint64_t n = head_.load(std::memory_order_relaxed);
    if (n - base_.load(std::memory_order_relaxed) >= capacity_) {
      dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    claim_.store(n + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    std::uint64_t tmp[kWords] = {};
    std::memcpy(tmp, &v, sizeof(T));
    std::atomic<std::uint64_t>* slot = &words_[(n & mask_) * kWords];
    for (std::size_t w = 0; w < kWords; ++w) slot[w].store(tmp[w], std::memory_order_relaxed);
    head_.store(n + 1, std::memory_order_release);
  }

  /// Producer only: forget the contents (indices keep counting; oldest() becomes pushed()).
  void clear() noexcept {
    base_.store(head_.load(std::memory_order_relaxed), std::memory_order_release);
  }

  /// Any thread: copy up to `max` elements starting at absolute index `from` into out[].
  /// Elements older than oldest() (or overwritten during the copy) are skipped and counted in
  /// `lost`; the copy stops at pushed().
  ReadResult read(std::uint64_t from, T* out, std::size_t max) const noexcept {
    ReadResult r;
    const std::uint64_t h = head_.load(std::memory_order_acquire);
    const std::uint64_t lo = oldest_for(h);
    std::uint64_t start = std::max(from, lo);
    if (start >= h || max == 0) {
      r.first = start;
      r.lost = start > from ? start - from : 0;
      return r;
    }
    std::uint64_t end = std::min<std::uint64_t>(h, start + max);
    for (std::uint64_t i = start; i < end; ++i) load_slot(i, &out[i - start]);
    std::atomic_thread_fence(std::memory_order_acquire);
    const std::uint64_t c = claim_.load(std::memory_order_relaxed);
    // Elements with index < c - capacity may have been overwritten while we copied.
    const std::uint64_t valid_from = c > capacity_ ? c - capacity_ : 0;
    std::size_t skip = 0;
    if (valid_from > start) {
      skip = static_cast<std::size_t>(std::min(valid_from, end) - start);
      if (skip > 0 && skip < end - start) {
        std::memmove(out, out + skip, static_cast<std::size_t>(end - start - skip) * sizeof(T));
      }
    }
    r.first = start + skip;
    r.count = static_cast<std::size_t>(end - start) - skip;
    r.lost = (start > from ? start - from : 0) + skip;
    return r;
  }

  /// Any thread: copy the newest `n` elements (fewer if the ring holds fewer) into out[].
  ReadResult read_last(T* out, std::size_t n) const noexcept {
    const std::uint64_t h = pushed();
    const std::uint64_t from = h > n ? h - n : 0;
    return read(from, out, n);
  }

 private:
  static constexpr std::size_t kWords = (sizeof(T) + 7) / 8;

  std::uint64_t oldest_for(std::uint64_t h) const noexcept {
    const std::uint64_t base = base_.load(std::memory_order_acquire);
    return std::max(base, h > capacity_ ? h - capacity_ : 0);
  }

  void load_slot(std::uint64_t i, T* out) const noexcept {
    std::uint64_t tmp[kWords];
    const std::atomic<std::uint64_t>* slot = &words_[(i & mask_) * kWords];
    for (std::size_t w = 0; w < kWords; ++w) tmp[w] = slot[w].load(std::memory_order_relaxed);
    std::memcpy(out, tmp, sizeof(T));
  }

  const std::size_t capacity_;
  const std::size_t mask_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
  std::atomic<std::uint64_t> head_{0};     ///< elements published
  std::atomic<std::uint64_t> claim_{0};    ///< elements whose write has begun
  std::atomic<std::uint64_t> base_{0};     ///< index of the first element after the last clear()
  std::atomic<std::uint64_t> dropped_{0};  ///< written by the producer only
};

}  // namespace primus
