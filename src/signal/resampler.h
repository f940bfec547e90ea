#pragma once
// Streaming resampler: irregularly timed 6-channel input -> uniform grid at rate_out_hz in host
// time.
//
// Filter: normalised Lanczos kernel in continuous time,
//   y(t_k) = Σ_i x_i·L(f_k·(t_k − t_i)) / Σ_i L(f_k·(t_k − t_i)),
//   L(u) = sinc(u)·sinc(u/a) for |u| < a (a = kLobes = 3), else 0,
// with kernel rate f_k = min(rate_in, rate_out). Decimating (rate_in > rate_out) it is a low-pass
// with its −6 dB point at the output Nyquist frequency (anti-aliasing); upsampling (f_k = rate_in)
// it interpolates (L is 1 at 0 and 0 at the other input instants). Working in continuous time
// makes it indifferent to jitter and rate drift; normalising by Σ L keeps DC gain exactly 1 with
// uneven spacing. Response figures: docs/signal.md.
// Gaps: an output whose two neighbouring inputs are more than 1.5 kernel periods apart, or whose
// kernel weight sum is below 0.5, is linearly interpolated between those neighbours instead.
// An output is flagged `interpolated` when the nearest input is further than
// 0.75·min(input period, output period) from it (bridged gap or upsampled point).
// Latency: an output at t_k is emitted once an input at or after t_k + a/f_k has arrived
// (60 ms for 100 -> 50 Hz).
// Grid: t_k = origin + round(k·1e9/rate_out) ns, origin = first input time after reset() rounded
// up to a multiple of the (rounded) output period, so devices share grid phase.
//
// Contract: push() times must strictly increase (the pipeline guarantees it); inputs are finite.
// History holds kHistory inputs (enough for 2000 Hz input into a 50 Hz grid); older ones fall out.
// Threads: not thread-safe, one per device. No allocation after construction.
#include <array>
#include <cmath>
#include <cstdint>

namespace primus::signal {

struct ResampledFrame {
  std::array<float, 6> v{};
  std::int64_t t_ns = 0;  ///< grid time, host ns
  bool interpolated = false;
};

class Resampler {
 public:
  static constexpr int kLobes = 3;
  static constexpr int kHistory = 256;    ///< power of two
  static constexpr int kTableRes = 1024;  ///< kernel table points per unit of u

  /// rate_out_hz > 0; rate_in_hz > 0 (nominal input rate, may be updated with set_input_rate).
  Resampler(double rate_out_hz, double rate_in_hz);

  /// Change the assumed input rate (e.g. the measured rate); takes effect immediately.
  void set_input_rate(double rate_in_hz) noexcept;
  [[nodiscard]] double input_rate_hz() const noexcept { return rate_in_hz_; }
  [[nodiscard]] double output_rate_hz() const noexcept { return rate_out_hz_; }
  /// Kernel half-width in seconds (= latency of an output).
  [[nodiscard]] double half_width_s() const noexcept { return kLobes / f_kernel_; }

  /// Forget the stream; the next input starts a new grid.
  void reset() noexcept {
    count_ = 0;
    tail_ = 0;
  }

  /// Feed one input at host time t_ns. Calls emit(const ResampledFrame&) for every grid point
  /// that has become computable, in order.
  template <typename Emit>
  void push(std::int64_t t_ns, const std::array<float, 6>& v, Emit&& emit) {
    if (count_ == 0) start(t_ns);
    Input& in = hist_[count_ & kMask];
    in.t = static_cast<double>(t_ns - anchor_ns_) * 1e-9;
    for (std::size_t c = 0; c < 6; ++c) in.v[c] = v[c];
    ++count_;
    if (count_ - tail_ > kHistory) tail_ = count_ - kHistory;
    const double hw = half_width_s();
    while (next_t_ + hw <= in.t || (next_t_ <= in.t && count_ >= 2 && gap_before(in.t))) {
      ResampledFrame f;
      compute(f);
      emit(static_cast<const ResampledFrame&>(f));
      ++k_;
      next_t_ = grid_time_s(k_);
    }
  }

  /// Evaluate the normalised kernel L(u) (exposed for tests and docs).
  [[nodiscard]] static float kernel(double u) noexcept;

 private:
  static constexpr std::uint64_t kMask = kHistory - 1;
  struct Input {
    double t = 0.0;            ///< seconds since anchor_ns_
    std::array<float, 8> v{};  ///< 6 channels, padded to 8 for vectorised accumulation
  };

  void start(std::int64_t t_ns) noexcept;
  [[nodiscard]] double grid_time_s(std::int64_t k) const noexcept;
  /// True when the newest input closes a gap wider than the kernel can bridge.
  [[nodiscard]] bool gap_before(double t_newest) const noexcept;
  void compute(ResampledFrame& f) noexcept;

  double rate_out_hz_;
  double rate_in_hz_;
  double f_kernel_;       ///< min(rate_in, rate_out)
  double period_out_ns_;  ///< 1e9 / rate_out
  double interp_flag_s_;  ///< nearest-input distance beyond which an output is "interpolated"
  const float* table_;    ///< kLobes * kTableRes + 2 entries, L at u = j / kTableRes

  std::array<Input, kHistory> hist_{};
  std::uint64_t count_ = 0;  ///< inputs since reset
  std::uint64_t tail_ = 0;   ///< oldest input that can still matter
  std::int64_t anchor_ns_ = 0;
  std::int64_t origin_ns_ = 0;  ///< grid origin
  std::int64_t k_ = 0;          ///< next grid index
  double next_t_ = 0.0;         ///< grid_time_s(k_)
};

}  // namespace primus::signal
