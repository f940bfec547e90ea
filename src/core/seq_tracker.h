#pragma once
// Classifies a device's 32-bit wrapping sequence numbers: next, gap (with how many were lost),
// duplicate, late (out of order), restart.
//
// Rules (d = seq − last accepted seq, as a signed 32-bit difference):
//   d == 1 next; 1 < d <= kMaxForward gap (lost = d − 1); d == 0 duplicate;
//   −kWindow <= d < 0: duplicate if that number was already seen (64-entry bitmap), else late;
//   kRestartBack < −d or d > kMaxForward: restart (the device's counter was reset / nonsense jump);
//   otherwise (−kRestartBack <= d < −kWindow) late.
// Only next, gap and restart move the "last accepted" number; duplicates and late ones are for the
// caller to drop. Threads: not thread-safe (one per device). No allocation.
#include <cstdint>

namespace primus {

enum class SeqVerdict { kFirst, kNext, kGap, kDuplicate, kLate, kRestart };

struct SeqResult {
  SeqVerdict verdict = SeqVerdict::kFirst;
  std::uint32_t lost = 0;       ///< numbers skipped (kGap only)
  std::uint64_t unwrapped = 0;  ///< 64-bit sequence count since the first/restart (accepted only)
};

class SeqTracker {
 public:
  static constexpr std::int64_t kWindow = 64;
  static constexpr std::int64_t kRestartBack = 1000;
  static constexpr std::int64_t kMaxForward = 1 << 20;

  SeqResult observe(std::uint32_t seq) noexcept;
  void reset() noexcept { started_ = false; }

 private:
  bool started_ = false;
  std::uint32_t last_ = 0;
  std::uint64_t unwrapped_ = 0;
  std::uint64_t seen_ = 0;  ///< bit k set: last_ − k was seen
};

}  // namespace primus
