#include "src/core/sample_clock.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace primus {
namespace {

/// Median of v[0..n) (reorders v). n >= 1.
double median(double* v, int n) noexcept {
  std::nth_element(v, v + n / 2, v + n);
  return v[n / 2];
}

}  // namespace

SampleClock::SampleClock(const SampleClockConfig& cfg) noexcept
    : cfg_(cfg),
      prior_period_ns_(1e9 / (cfg.nominal_rate_hz > 0.0 ? cfg.nominal_rate_hz : 100.0)),
      period_ns_(prior_period_ns_),
      jitter_ns_(cfg.initial_jitter_s * 1e9) {
  if (!(cfg_.block_s > 0.0)) cfg_.block_s = 0.1;
  cfg_.blocks = std::clamp(cfg_.blocks, 4, kMaxBlocks);
  cfg_.trend_blocks = std::clamp(cfg_.trend_blocks, 2, std::min(8, cfg_.blocks));
  if (!(cfg_.slew > 0.0)) cfg_.slew = 0.05;
  if (!(cfg_.initial_jitter_s >= 0.0)) jitter_ns_ = 0.05e9;
}

void SampleClock::reset() noexcept {
  started_ = false;
  period_ns_ = prior_period_ns_;
  jitter_ns_ = std::max(cfg_.initial_jitter_s, 0.0) * 1e9;
  stalls_ = resyncs_ = lost_ = rate_changes_ = 0;
}

void SampleClock::restart() noexcept { started_ = false; }

double SampleClock::late_threshold_ns() const noexcept {
  return std::max({2.0 * jitter_ns_ + 2.0 * period_ns_, 4.0 * period_ns_, 20e6});
}

const SampleClock::Block& SampleClock::recent(int i) const noexcept {
  const int cap = cfg_.blocks;
  return blocks_[static_cast<std::size_t>(((next_ - 1 - i) % cap + cap) % cap)];
}

void SampleClock::start(std::int64_t index, std::int64_t arrival_ns) noexcept {
  started_ = true;
  origin_index_ = index;
  origin_ns_ = arrival_ns;
  offset_ = 0;
  c_ns_ = 0.0;
  last_x_ = 0.0;
  last_out_ = 0.0;
  warm_ = true;
  block_has_ = true;
  block_start_y_ = 0.0;
  block_ = Block{};
  nblocks_ = 0;
  next_ = 0;
  since_check_ = 0;
  pending_blocks_ = 0;
  late_ = false;
  pending_lost_ = 0;
  pending_rate_changed_ = false;
}

SampleTime SampleClock::observe(std::int64_t index, std::int64_t arrival_ns) noexcept {
  if (!started_) {
    start(index, arrival_ns);
    return SampleTime{arrival_ns, 0, false, false};
  }
  const double y = static_cast<double>(arrival_ns - origin_ns_);
  if (y - block_start_y_ >= cfg_.block_s * 1e9) close_block(y);
  auto x_of = [&] {
    return std::max(static_cast<double>(index + offset_ - origin_index_), last_x_ + 1.0);
  };
  double x = x_of();
  double e = y - line(x);

  // A silence far longer than any buffer holds: the samples in it are gone.
  if (cfg_.resync_on_lag && e > cfg_.resync_lag_s * 1e9 && e > late_threshold_ns()) {
    resync(std::llround(e / period_ns_), true);
    x = x_of();
    c_ns_ = y - period_ns_ * x;
    e = 0.0;
  }

  // Stall episode: behind by more than the delivery jitter explains, until it catches up.
  const double late_ns = late_threshold_ns();
  bool stall_ended = false;
  if (e > late_ns) {
    if (!late_) {
      late_ = true;
      resyncs_at_late_ = resyncs_ + rate_changes_;
    }
  } else if (late_) {
    late_ = false;
    if (resyncs_ + rate_changes_ == resyncs_at_late_) {
      ++stalls_;
      stall_ended = true;
    }
  }

  if (warm_ && e < 0.0) {
    c_ns_ += e;
    e = 0.0;
  }
  const double lag = std::clamp(e, 0.0, 2.0 * late_ns);
  if (!block_has_) {
    block_has_ = true;
    block_ = Block{x, y, 0.0, lag};
  } else {
    if (y - line(x) < block_.y - line(block_.x)) {
      block_.x = x;
      block_.y = y;
    }
    block_.max_lag = std::max(block_.max_lag, lag);
  }

  // Disciplined output: the step at the estimated period, steered towards the line.
  const double dk = x - last_x_;
  const double pred = last_out_ + dk * period_ns_;
  const double diff = line(x) - pred;
  const double max_corr = cfg_.slew * dk * period_ns_;
  double out =
      pred + (std::abs(diff) > 3.0 * period_ns_ ? diff : std::clamp(diff, -max_corr, max_corr));
  out = std::min(out, y);  // a sample is never taken after it arrived
  out = std::max(out, last_out_ + std::max(0.05 * period_ns_, 2000.0));
  last_out_ = out;
  last_x_ = x;

  SampleTime r{origin_ns_ + std::llround(out), pending_lost_, stall_ended, pending_rate_changed_};
  pending_lost_ = 0;
  pending_rate_changed_ = false;
  return r;
}

void SampleClock::close_block(double now_y) noexcept {
  block_start_y_ = now_y;
  if (!block_has_) return;
  block_has_ = false;
  Block b = block_;
  b.r = b.y - line(b.x);
  blocks_[static_cast<std::size_t>(next_)] = b;
  next_ = (next_ + 1) % cfg_.blocks;
  nblocks_ = std::min(nblocks_ + 1, cfg_.blocks);
  ++since_check_;
  warm_ = false;
  update_jitter();
  // A minimum off the line waits outside the fit until check_recent() explains it (lost samples,
  // a new rate) or trend_blocks of them have passed (a new latency): fitting it at once would
  // tilt the line and hide the step it is evidence of.
  const bool off = std::abs(b.r) > step_threshold_ns();
  pending_blocks_ = off ? pending_blocks_ + 1 : 0;
  const std::uint64_t events = resyncs_ + rate_changes_;
  check_recent();
  if (resyncs_ + rate_changes_ != events) pending_blocks_ = 0;
  if (pending_blocks_ == 0 || pending_blocks_ >= cfg_.trend_blocks) refit(false);
}

double SampleClock::noise_ns() const noexcept {
  // The median residual of the blocks before the newest trend_blocks ones.
  std::array<double, 8> v{};
  int nv = 0;
  for (int i = cfg_.trend_blocks; i < nblocks_ && nv < 8; ++i)
    v[static_cast<std::size_t>(nv++)] = std::abs(recent(i).r);
  return nv >= 3 ? median(v.data(), nv) : 0.25 * period_ns_;
}

double SampleClock::step_threshold_ns() const noexcept {
  return std::max(0.6 * period_ns_, 3.0 * noise_ns());
}

void SampleClock::update_jitter() noexcept {
  std::array<double, 8> v{};
  const int n = std::min(nblocks_, 8);
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = recent(i).max_lag;
  if (n >= 3) jitter_ns_ = median(v.data(), n);
}

void SampleClock::check_recent() noexcept {
  const int m = cfg_.trend_blocks;
  if (since_check_ < m || nblocks_ < m) return;
  const double p = period_ns_;
  const double noise = noise_ns();
  const double step_thr = std::max(0.6 * p, 3.0 * noise);
  const double flat_tol = std::max(0.3 * p, 2.0 * noise);

  // Level step first: the newest m minima level and at least a period late (lost samples).
  bool level_late = since_check_ >= m && nblocks_ >= m;
  double late_lo = 0.0;
  if (level_late) {
    double lo = recent(0).r, hi = recent(0).r;
    for (int i = 1; i < m; ++i) {
      lo = std::min(lo, recent(i).r);
      hi = std::max(hi, recent(i).r);
    }
    level_late = lo > step_thr && hi - lo <= flat_tol;
    late_lo = lo;
  }
  if (!level_late) {
    // A steady trend: every step between the recent minima the same way and above the noise.
    // Falling counts only below the line (a backlog draining also falls, towards it).
    bool up = true, down = recent(0).r < -step_thr;
    double peak = 0.0;
    for (int i = 0; i < m; ++i) peak = std::max(peak, std::abs(recent(i).r));
    for (int i = 1; i < m; ++i) {
      const double step = recent(i - 1).r - recent(i).r;  // newer minus older
      up = up && step > flat_tol;
      down = down && step < -flat_tol;
    }
    if ((up || down) && peak > step_thr) {
      // The rate changed. The minima so far were picked with the old period (the earliest
      // sample of a block looks least delayed when the period is too short), so they go: the new
      // period comes from the two newest and the fit starts again on blocks picked with it.
      const Block b1 = recent(1), b0 = recent(0);
      const double slope = (b0.y - b1.y) / (b0.x - b1.x);
      if (b0.x > b1.x && std::isfinite(slope) && slope > prior_period_ns_ / 16.0 &&
          slope < prior_period_ns_ * 16.0)
        period_ns_ = slope;
      c_ns_ = b0.y - period_ns_ * b0.x;
      nblocks_ = 0;
      next_ = 0;
      warm_ = true;
      since_check_ = 0;
      ++rate_changes_;
      pending_rate_changed_ = true;
      return;
    }
  }
  // Level minima at least a period late: that many samples never arrived.
  if (!cfg_.resync_on_lag || !level_late) return;
  const std::int64_t n = std::llround(late_lo / p);
  if (n >= 1) resync(n, false);
}

void SampleClock::resync(std::int64_t n, bool relearn) noexcept {
  if (n <= 0) return;
  offset_ += n;
  lost_ += static_cast<std::uint64_t>(n);
  pending_lost_ += static_cast<std::uint32_t>(std::min<std::int64_t>(n, 0xffffffff));
  ++resyncs_;
  since_check_ = 0;
  if (relearn) {
    nblocks_ = 0;
    next_ = 0;
    warm_ = true;
    block_has_ = false;
    return;
  }
  // The tested blocks lie after the loss: renumber them.
  const int cap = cfg_.blocks;
  for (int i = 0; i < cfg_.trend_blocks && i < nblocks_; ++i) {
    Block& b = blocks_[static_cast<std::size_t>(((next_ - 1 - i) % cap + cap) % cap)];
    b.x += static_cast<double>(n);
    b.r -= static_cast<double>(n) * period_ns_;
  }
}

void SampleClock::refit(bool force_slope) noexcept {
  const int n = nblocks_;
  if (n == 0) return;
  // The minima in index order (the ring holds them in arrival order, indices increase).
  std::array<Block, kMaxBlocks> pts{};
  const int cap = cfg_.blocks;
  for (int i = 0; i < n; ++i)
    pts[static_cast<std::size_t>(i)] =
        blocks_[static_cast<std::size_t>(((next_ - n + i) % cap + cap) % cap)];
  const double span_ns = (pts[static_cast<std::size_t>(n - 1)].x - pts[0].x) * period_ns_;
  if (n >= 2 && (force_slope || span_ns >= cfg_.min_fit_s * 1e9)) {
    // Lower convex hull (monotone chain), then its edge above the mean index: the line below
    // every minimum that is highest on average (the linear-programming estimate of clock skew).
    // Minima raised by a backlog or a stall lie above the hull and do not move it.
    std::array<int, kMaxBlocks> hull{};
    int h = 0;
    double mx = 0.0;
    for (int i = 0; i < n; ++i) {
      const Block& q = pts[static_cast<std::size_t>(i)];
      mx += q.x;
      while (h >= 2) {
        const Block& o = pts[static_cast<std::size_t>(hull[static_cast<std::size_t>(h - 2)])];
        const Block& a = pts[static_cast<std::size_t>(hull[static_cast<std::size_t>(h - 1)])];
        if ((a.x - o.x) * (q.y - o.y) - (a.y - o.y) * (q.x - o.x) > 0.0) break;
        --h;
      }
      hull[static_cast<std::size_t>(h++)] = i;
    }
    mx /= n;
    int e = 0;
    while (e + 2 < h && pts[static_cast<std::size_t>(hull[static_cast<std::size_t>(e + 1)])].x < mx)
      ++e;
    if (h >= 2) {
      const Block& a = pts[static_cast<std::size_t>(hull[static_cast<std::size_t>(e)])];
      const Block& b = pts[static_cast<std::size_t>(hull[static_cast<std::size_t>(e + 1)])];
      const double slope = (b.y - a.y) / (b.x - a.x);
      if (b.x > a.x && std::isfinite(slope) && slope > prior_period_ns_ / 16.0 &&
          slope < prior_period_ns_ * 16.0) {
        period_ns_ = slope;
      }
    }
  }
  double c = std::numeric_limits<double>::max();
  for (int i = 0; i < n; ++i) {
    const Block& q = pts[static_cast<std::size_t>(i)];
    c = std::min(c, q.y - period_ns_ * q.x);
  }
  c_ns_ = c;
}

}  // namespace primus
