#include "src/signal/resampler.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace primus::signal {
namespace {

constexpr double kPi = 3.14159265358979323846;

double lanczos(double u) {
  u = std::abs(u);
  if (u >= Resampler::kLobes) return 0.0;
  if (u < 1e-9) return 1.0;
  const double a = Resampler::kLobes;
  return a * std::sin(kPi * u) * std::sin(kPi * u / a) / (kPi * kPi * u * u);
}

const std::vector<float>& kernel_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(static_cast<std::size_t>(Resampler::kLobes * Resampler::kTableRes + 2));
    for (std::size_t j = 0; j < t.size(); ++j) {
      t[j] = static_cast<float>(lanczos(static_cast<double>(j) / Resampler::kTableRes));
    }
    return t;
  }();
  return table;
}

std::int64_t ceil_multiple(std::int64_t t, std::int64_t p) {
  std::int64_t q = t / p;
  if (q * p < t) ++q;
  return q * p;
}

}  // namespace

Resampler::Resampler(double rate_out_hz, double rate_in_hz)
    : rate_out_hz_(rate_out_hz),
      rate_in_hz_(rate_in_hz),
      f_kernel_(0.0),
      period_out_ns_(0.0),
      interp_flag_s_(0.0),
      table_(kernel_table().data()) {
  if (!(rate_out_hz > 0.0) || !std::isfinite(rate_out_hz)) {
    throw std::invalid_argument("Resampler: rate_out_hz must be > 0");
  }
  if (!(rate_in_hz > 0.0) || !std::isfinite(rate_in_hz)) {
    throw std::invalid_argument("Resampler: rate_in_hz must be > 0");
  }
  period_out_ns_ = 1e9 / rate_out_hz_;
  set_input_rate(rate_in_hz);
}

void Resampler::set_input_rate(double rate_in_hz) noexcept {
  if (!(rate_in_hz > 0.0) || !std::isfinite(rate_in_hz)) return;
  rate_in_hz_ = rate_in_hz;
  f_kernel_ = std::min(rate_in_hz_, rate_out_hz_);
  interp_flag_s_ = 0.75 * std::min(1.0 / rate_in_hz_, 1.0 / rate_out_hz_);
}

float Resampler::kernel(double u) noexcept { return static_cast<float>(lanczos(u)); }

void Resampler::start(std::int64_t t_ns) noexcept {
  anchor_ns_ = t_ns;
  const std::int64_t p = std::max<std::int64_t>(1, std::llround(period_out_ns_));
  origin_ns_ = t_ns >= 0 ? ceil_multiple(t_ns, p) : -((-t_ns) / p) * p;
  k_ = 0;
  tail_ = 0;
  next_t_ = grid_time_s(0);
}

double Resampler::grid_time_s(std::int64_t k) const noexcept {
  const std::int64_t t =
      origin_ns_ + std::llround(static_cast<double>(k) * period_out_ns_) - anchor_ns_;
  return static_cast<double>(t) * 1e-9;
}

bool Resampler::gap_before(double t_newest) const noexcept {
  const double prev = hist_[(count_ - 2) & kMask].t;
  return (t_newest - prev) * f_kernel_ > 1.5;
}

void Resampler::compute(ResampledFrame& f) noexcept {
  const double t = next_t_;
  const double hw = half_width_s();
  // Keep one input at or before t - hw so the left neighbour of t is always in the history.
  while (tail_ + 1 < count_ && hist_[(tail_ + 1) & kMask].t <= t - hw) ++tail_;

  float acc[8] = {};
  double wsum = 0.0;
  std::uint64_t j = tail_;  // last input with time <= t
  const double scale = f_kernel_ * kTableRes;
  for (std::uint64_t i = tail_; i < count_; ++i) {
    const Input& in = hist_[i & kMask];
    if (in.t <= t) j = i;
    const double d = in.t - t;
    if (d >= hw) break;
    const double x = std::abs(d) * scale;
    const auto idx = static_cast<std::size_t>(x);
    if (idx >= static_cast<std::size_t>(kLobes * kTableRes)) continue;
    const auto frac = static_cast<float>(x - static_cast<double>(idx));
    const float w = table_[idx] + frac * (table_[idx + 1] - table_[idx]);
    wsum += w;
    for (std::size_t c = 0; c < 8; ++c) acc[c] += w * in.v[c];
  }

  const Input& left = hist_[j & kMask];
  const bool has_right = j + 1 < count_;
  const Input& right = has_right ? hist_[(j + 1) & kMask] : left;
  const double span = right.t - left.t;
  const double nearest = has_right ? std::min(t - left.t, right.t - t) : t - left.t;
  f.t_ns = anchor_ns_ + std::llround(t * 1e9);
  f.interpolated = nearest > interp_flag_s_;
  if (has_right && (span * f_kernel_ > 1.5 || wsum < 0.5)) {
    const double a = span > 0.0 ? (t - left.t) / span : 0.0;
    for (std::size_t c = 0; c < 6; ++c) {
      f.v[c] = static_cast<float>(left.v[c] + a * (right.v[c] - left.v[c]));
    }
    return;
  }
  if (!(wsum > 1e-6)) {
    for (std::size_t c = 0; c < 6; ++c) f.v[c] = left.v[c];
    return;
  }
  const auto inv = static_cast<float>(1.0 / wsum);
  for (std::size_t c = 0; c < 6; ++c) f.v[c] = acc[c] * inv;
}

}  // namespace primus::signal
