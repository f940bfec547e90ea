#pragma once
// Rate limit for a warning that may repeat at a high rate (a full disk, a flooding client): at
// most one line per interval, and that line says how many events it stands for.
//
//   LogThrottle t(10'000'000'000);             // one line every 10 s at most
//   if (const auto n = t.note(clock.now_ns()))  // n: events since the last line, this one included
//     spdlog::warn("... ({} since the last warning)", n);
//
// The first event logs at once; events within the interval after a line are counted silently and
// reported by the next line (the first event after the interval). Time is passed in (host
// steady-clock ns, see time_source.h), so tests need no sleeps.
//
// Threads: not thread-safe; one owner thread calls it (or the caller locks).
#include <cstdint>

namespace primus {

class LogThrottle {
 public:
  /// interval_ns: the shortest time between two lines (ns, > 0).
  explicit LogThrottle(std::int64_t interval_ns) noexcept : interval_ns_(interval_ns) {}

  /// Counts `events` events (default one) at now_ns. Returns 0 if no line is due; otherwise the
  /// number of events the line stands for (those since the previous line, these included), and
  /// restarts the count.
  std::uint64_t note(std::int64_t now_ns, std::uint64_t events = 1) noexcept {
    pending_ += events;
    if (logged_once_ && now_ns - last_line_ns_ < interval_ns_) return 0;
    logged_once_ = true;
    last_line_ns_ = now_ns;
    const std::uint64_t n = pending_;
    pending_ = 0;
    return n;
  }

  /// Events counted since the last line and not reported yet.
  [[nodiscard]] std::uint64_t pending() const noexcept { return pending_; }
  /// Forgets the pending events (e.g. the condition cleared and that has been logged) and returns
  /// how many there were. The next event logs at once.
  std::uint64_t reset() noexcept {
    const std::uint64_t n = pending_;
    pending_ = 0;
    logged_once_ = false;
    return n;
  }

 private:
  std::int64_t interval_ns_;
  std::int64_t last_line_ns_ = 0;
  std::uint64_t pending_ = 0;
  bool logged_once_ = false;
};

}  // namespace primus
