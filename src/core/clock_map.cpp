#include "src/core/clock_map.h"

#include <algorithm>
#include <cmath>

namespace primus {

ClockMap::ClockMap(const ClockMapConfig& cfg) noexcept : cfg_(cfg) {
  if (!(cfg_.block_s > 0.0)) cfg_.block_s = 1.0;
  cfg_.blocks = std::clamp(cfg_.blocks, 2, kMaxBlocks);
  if (!(cfg_.slew > 0.0)) cfg_.slew = 0.02;
}

void ClockMap::reset() noexcept {
  anchored_ = false;
  drift_ns_per_s_ = 0.0;
  rate_hz_ = 0.0;
}

void ClockMap::reanchor(std::int64_t t_device_us, std::int64_t t_host_ns) noexcept {
  anchored_ = true;
  origin_dev_us_ = t_device_us;
  origin_host_ns_ = t_host_ns;
  last_dev_us_ = t_device_us;
  mapped_ns_ = t_host_ns;
  a_ns_ = 0.0;
  block_open_ = false;
  nblocks_ = 0;
  next_block_ = 0;
  warm_min_d_ = 0.0;
  late_ = false;
  n_since_anchor_ = 1;
  block_open_ = true;
  block_start_x_ = 0.0;
  block_first_x_ = 0.0;
  block_last_x_ = 0.0;
  block_n_ = 1;
  block_min_ = Block{0.0, 0.0};
}

ClockEvent ClockMap::observe(std::int64_t t_device_us, std::int64_t t_host_ns) noexcept {
  if (!anchored_) {
    reanchor(t_device_us, t_host_ns);
    return ClockEvent::kAnchored;
  }
  const std::int64_t step_us = t_device_us - last_dev_us_;
  if (step_us <= 0) return ClockEvent::kBackwards;

  const double x = static_cast<double>(t_device_us - origin_dev_us_) * 1e-6;
  const double d = static_cast<double>(t_host_ns - origin_host_ns_) -
                   static_cast<double>(t_device_us - origin_dev_us_) * 1e3;
  const double e = d - (a_ns_ + drift_ns_per_s_ * x);  // this sample's latency above the model

  if (nblocks_ > 0 && e < -cfg_.early_tolerance_s * 1e9) {
    reanchor(t_device_us, t_host_ns);
    return ClockEvent::kJumpForward;
  }
  if (e > cfg_.late_tolerance_s * 1e9) {
    if (!late_) {
      late_ = true;
      late_since_x_ = x;
    } else if (x - late_since_x_ >= cfg_.late_persist_s) {
      reanchor(t_device_us, t_host_ns);
      return ClockEvent::kJumpLate;
    }
  } else {
    late_ = false;
  }

  ++n_since_anchor_;
  if (x - block_start_x_ >= cfg_.block_s) {
    close_block();
    block_open_ = true;
    block_start_x_ = x;
    block_first_x_ = x;
    block_n_ = 0;
    block_min_ = Block{x, d};
  }
  ++block_n_;
  block_last_x_ = x;
  if (d < block_min_.d) block_min_ = Block{x, d};
  if (nblocks_ == 0) {
    warm_min_d_ = std::min(warm_min_d_, d);
    a_ns_ = warm_min_d_;
    if (x > 0.0) rate_hz_ = static_cast<double>(n_since_anchor_ - 1) / x;
  }

  // Disciplined clock: advance by the scaled step, steer towards the estimate within the slew.
  const double step_ns = static_cast<double>(step_us) * 1e3;
  const double predicted =
      static_cast<double>(mapped_ns_ - origin_host_ns_) + step_ns * (1.0 + drift_ns_per_s_ * 1e-9);
  const double target = x * 1e9 + a_ns_ + drift_ns_per_s_ * x;
  const double max_corr = cfg_.slew * step_ns;
  const double corr = std::clamp(target - predicted, -max_corr, max_corr);
  mapped_ns_ = origin_host_ns_ + std::llround(predicted + corr);
  last_dev_us_ = t_device_us;
  return ClockEvent::kOk;
}

void ClockMap::close_block() noexcept {
  if (block_n_ >= 2 && block_last_x_ > block_first_x_) {
    const double r = static_cast<double>(block_n_ - 1) / (block_last_x_ - block_first_x_);
    rate_hz_ = nblocks_ == 0 ? r : 0.5 * (rate_hz_ + r);
  }
  blocks_[static_cast<std::size_t>(next_block_)] = block_min_;
  next_block_ = (next_block_ + 1) % cfg_.blocks;
  nblocks_ = std::min(nblocks_ + 1, cfg_.blocks);
  refit();
}

void ClockMap::refit() noexcept {
  const int n = nblocks_;
  double b = drift_ns_per_s_;
  if (n >= 3) {
    double mx = 0.0, md = 0.0;
    for (int i = 0; i < n; ++i) {
      mx += blocks_[static_cast<std::size_t>(i)].x;
      md += blocks_[static_cast<std::size_t>(i)].d;
    }
    mx /= n;
    md /= n;
    double sxx = 0.0, sxd = 0.0;
    for (int i = 0; i < n; ++i) {
      const Block& k = blocks_[static_cast<std::size_t>(i)];
      sxx += (k.x - mx) * (k.x - mx);
      sxd += (k.x - mx) * (k.d - md);
    }
    if (sxx > 1e-9) b = sxd / sxx;
    const double lim = cfg_.max_drift_ppm * 1e3;
    b = std::clamp(b, -lim, lim);
  }
  // Lower bound: the line through the lowest point(s), slope b.
  double a = 1e300;
  for (int i = 0; i < n; ++i) {
    const Block& k = blocks_[static_cast<std::size_t>(i)];
    a = std::min(a, k.d - b * k.x);
  }
  a_ns_ = a;
  drift_ns_per_s_ = b;
}

std::int64_t ClockMap::to_device_us(std::int64_t t_host_ns) const noexcept {
  const double dt_ns = static_cast<double>(t_host_ns - mapped_ns_) / (1.0 + drift_ns_per_s_ * 1e-9);
  return last_dev_us_ + std::llround(dt_ns * 1e-3);
}

double ClockMap::offset_s() const noexcept {
  return (static_cast<double>(mapped_ns_) - static_cast<double>(last_dev_us_) * 1e3) * 1e-9;
}

}  // namespace primus
