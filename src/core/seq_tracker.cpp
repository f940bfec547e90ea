#include "src/core/seq_tracker.h"

namespace primus {

SeqResult SeqTracker::observe(std::uint32_t seq) noexcept {
  SeqResult r;
  if (!started_) {
    started_ = true;
    last_ = seq;
    unwrapped_ = 0;
    seen_ = 1;
    r.verdict = SeqVerdict::kFirst;
    r.unwrapped = 0;
    return r;
  }
  const auto d = static_cast<std::int64_t>(static_cast<std::int32_t>(seq - last_));
  if (d == 0) {
    r.verdict = SeqVerdict::kDuplicate;
    return r;
  }
  if (d < 0) {
    if (-d < kWindow) {
      const std::uint64_t bit = std::uint64_t{1} << (-d);
      r.verdict = (seen_ & bit) ? SeqVerdict::kDuplicate : SeqVerdict::kLate;
      seen_ |= bit;
      return r;
    }
    if (-d <= kRestartBack) {
      r.verdict = SeqVerdict::kLate;
      return r;
    }
  }
  if (d < 0 || d > kMaxForward) {
    last_ = seq;
    unwrapped_ = 0;
    seen_ = 1;
    r.verdict = SeqVerdict::kRestart;
    r.unwrapped = 0;
    return r;
  }
  seen_ = d >= 64 ? 1 : ((seen_ << d) | 1);
  last_ = seq;
  unwrapped_ += static_cast<std::uint64_t>(d);
  r.verdict = d == 1 ? SeqVerdict::kNext : SeqVerdict::kGap;
  r.lost = static_cast<std::uint32_t>(d - 1);
  r.unwrapped = unwrapped_;
  return r;
}

}  // namespace primus
