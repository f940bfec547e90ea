#pragma once
// Capped exponential backoff for reconnect attempts: min, 2 min, 4 min, ... up to max, then max.
// Pure arithmetic (no clock, no timer), so reconnect timing is unit-tested without sleeping.
// Not thread-safe; one per link.
#include <algorithm>
#include <cstdint>

namespace primus::adapters {

class Backoff {
 public:
  Backoff(double min_s, double max_s) noexcept
      : min_ns_(static_cast<std::int64_t>(min_s * 1e9)),
        max_ns_(std::max(min_ns_, static_cast<std::int64_t>(max_s * 1e9))) {}
  /// Delay before the next attempt, in ns; each call doubles the next one up to the cap.
  std::int64_t next_ns() noexcept {
    const std::int64_t d = next_ == 0 ? min_ns_ : next_;
    next_ = std::min(max_ns_, d > max_ns_ / 2 ? max_ns_ : d * 2);
    ++attempts_;
    return d;
  }
  /// After a success: the next failure starts again at min.
  void reset() noexcept {
    next_ = 0;
    attempts_ = 0;
  }
  /// next_ns() calls since the last reset().
  [[nodiscard]] int attempts() const noexcept { return attempts_; }

 private:
  std::int64_t min_ns_;
  std::int64_t max_ns_;
  std::int64_t next_ = 0;
  int attempts_ = 0;
};

}  // namespace primus::adapters
