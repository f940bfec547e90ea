#pragma once
// Injectable time. Production code asks a TimeSource for "now" so tests can drive time by hand
// (no sleeps in unit tests). All times are host steady-clock nanoseconds.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace primus {

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  /// Host steady-clock time in ns. Thread-safe.
  [[nodiscard]] virtual std::int64_t now_ns() const noexcept = 0;
};

/// The real steady clock.
class SteadyTimeSource final : public TimeSource {
 public:
  [[nodiscard]] std::int64_t now_ns() const noexcept override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  /// Process-wide instance (stateless, so sharing it is harmless).
  static const SteadyTimeSource& instance() noexcept {
    static const SteadyTimeSource s;
    return s;
  }
};

/// A clock tests advance by hand. Thread-safe.
class ManualTimeSource final : public TimeSource {
 public:
  explicit ManualTimeSource(std::int64_t start_ns = 0) : now_(start_ns) {}
  [[nodiscard]] std::int64_t now_ns() const noexcept override { return now_.load(); }
  void set_ns(std::int64_t t) noexcept { now_.store(t); }
  void advance_ns(std::int64_t dt) noexcept { now_.fetch_add(dt); }

 private:
  std::atomic<std::int64_t> now_;
};

/// Wall-clock (UTC) time in ns since the Unix epoch, for messages humans read.
inline std::int64_t wall_clock_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace primus
