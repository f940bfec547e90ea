#include "src/signal/resampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace primus::signal {
namespace {

constexpr std::int64_t kT0 = 7'000'000'123;  // ns, deliberately off-grid

struct Out {
  std::vector<ResampledFrame> frames;
};

// Feed x(t) sampled at rate_in (optionally jittered) for dur_s seconds.
template <typename F>
Out run(Resampler& r, double rate_in, double dur_s, F x, double jitter_frac = 0.0,
        unsigned seed = 1) {
  Out o;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-jitter_frac, jitter_frac);
  const int n = static_cast<int>(dur_s * rate_in);
  for (int i = 0; i < n; ++i) {
    const double t = (i + u(rng)) / rate_in;
    const std::int64_t t_ns = kT0 + std::llround(t * 1e9);
    const float v = static_cast<float>(x(t));
    r.push(t_ns, {v, 1.0f, -2.0f, 0.5f, 0.0f, 3.0f},
           [&](const ResampledFrame& f) { o.frames.push_back(f); });
  }
  return o;
}

double t_of(const ResampledFrame& f) { return static_cast<double>(f.t_ns - kT0) * 1e-9; }

// Amplitude of a sinusoid of frequency f in the steady part of the output (least squares).
double amplitude(const Out& o, double f) {
  double sc = 0, ss = 0, cc = 0, s2 = 0, c2 = 0;
  for (std::size_t i = o.frames.size() / 5; i < o.frames.size() * 4 / 5; ++i) {
    const double t = t_of(o.frames[i]);
    const double s = std::sin(2 * M_PI * f * t), c = std::cos(2 * M_PI * f * t);
    ss += o.frames[i].v[0] * s;
    cc += o.frames[i].v[0] * c;
    s2 += s * s;
    c2 += c * c;
    sc += s * c;
  }
  (void)sc;
  return std::hypot(ss / s2, cc / c2);
}

TEST(Resampler, KernelIsLanczos3) {
  EXPECT_FLOAT_EQ(Resampler::kernel(0.0), 1.0f);
  EXPECT_NEAR(Resampler::kernel(1.0), 0.0f, 1e-7);
  EXPECT_NEAR(Resampler::kernel(2.0), 0.0f, 1e-7);
  EXPECT_EQ(Resampler::kernel(3.0), 0.0f);
  EXPECT_EQ(Resampler::kernel(-4.0), 0.0f);
  EXPECT_GT(Resampler::kernel(0.5), 0.5f);
  EXPECT_LT(Resampler::kernel(1.5), 0.0f);
}

TEST(Resampler, ConstantInConstantOutForManyRatesAndJitter) {
  for (double rate_in : {10.0, 25.0, 50.0, 52.0, 100.0, 104.0, 119.0, 400.0}) {
    Resampler r(50.0, rate_in);
    const Out o = run(
        r, rate_in, 4.0, [](double) { return 2.5; }, 0.2);
    ASSERT_GT(o.frames.size(), 150u) << rate_in;
    for (std::size_t i = 0; i < o.frames.size(); ++i) {
      const auto& f = o.frames[i];
      EXPECT_NEAR(f.v[0], 2.5f, 1e-5) << rate_in;
      EXPECT_NEAR(f.v[3], 0.5f, 1e-5);
      EXPECT_EQ(f.t_ns % 20'000'000, 0) << "grid is on multiples of the period";
      if (i > 0) {
        EXPECT_EQ(f.t_ns - o.frames[i - 1].t_ns, 20'000'000);
      }
    }
  }
}

TEST(Resampler, DecimationPassesSlowMotionAndSuppressesAliases) {
  // 119 -> 50 Hz: 3 Hz passes, 40 Hz (folds to 10 Hz at 50 Hz) must be suppressed.
  Resampler pass(50.0, 119.0), stop(50.0, 119.0);
  const Out a = run(pass, 119.0, 10.0, [](double t) { return std::sin(2 * M_PI * 3.0 * t); });
  const Out b = run(stop, 119.0, 10.0, [](double t) { return std::sin(2 * M_PI * 40.0 * t); });
  EXPECT_NEAR(amplitude(a, 3.0), 1.0, 0.01);
  EXPECT_LT(amplitude(b, 10.0), 0.03);  // the alias at |40 − 50| Hz
  double peak = 0;
  for (const auto& f : b.frames) peak = std::max(peak, std::abs(static_cast<double>(f.v[0])));
  EXPECT_LT(peak, 0.06);
  // a plain linear interpolator would pass most of the 40 Hz tone as a 10 Hz alias
}

TEST(Resampler, UpsamplingInterpolatesAndFlagsPointsBetweenInputs) {
  Resampler r(50.0, 10.0);
  const Out o = run(r, 10.0, 20.0, [](double t) { return std::sin(2 * M_PI * 1.0 * t); });
  ASSERT_GT(o.frames.size(), 900u);
  EXPECT_NEAR(amplitude(o, 1.0), 1.0, 0.01);
  int flagged = 0;
  double max_err = 0;
  for (const auto& f : o.frames) {
    flagged += f.interpolated ? 1 : 0;
    const double t = t_of(f);
    if (t > 1.0 && t < 18.0) max_err = std::max(max_err, std::abs(f.v[0] - std::sin(2 * M_PI * t)));
  }
  EXPECT_LT(max_err, 0.01);
  // 4 of 5 output points fall between inputs (100 ms apart, outputs every 20 ms)
  EXPECT_NEAR(static_cast<double>(flagged) / static_cast<double>(o.frames.size()), 0.8, 0.02);
}

TEST(Resampler, BridgesAHoleLinearlyAndFlagsIt) {
  Resampler r(50.0, 100.0);
  std::vector<ResampledFrame> out;
  for (int i = 0; i < 300; ++i) {
    if (i >= 100 && i < 120) continue;  // 200 ms hole
    const std::int64_t t = kT0 + std::int64_t{i} * 10'000'000;
    const float v = static_cast<float>(i);  // a ramp: linear bridging is exact
    r.push(t, {v, v, v, v, v, v}, [&](const ResampledFrame& f) { out.push_back(f); });
  }
  int flagged = 0;
  for (std::size_t k = 1; k < out.size(); ++k) {
    ASSERT_EQ(out[k].t_ns - out[k - 1].t_ns, 20'000'000);
    const double expect = static_cast<double>(out[k].t_ns - kT0) / 10'000'000.0;
    // inside the hole: linear between its edges (exact on a ramp); next to it the kernel sees
    // one side only, which biases a ramp by < 0.15 input periods
    const bool inside = expect > 99.0 && expect < 120.0;
    EXPECT_NEAR(out[k].v[0], expect, inside ? 0.02 : 0.15) << k;
    flagged += out[k].interpolated ? 1 : 0;
  }
  EXPECT_GE(flagged, 8);
  EXPECT_LE(flagged, 11);
}

TEST(Resampler, StableWhenTheInputRateDrifts) {
  // input period sweeps 9.5 .. 10.5 ms; a 2 Hz sine must come out clean
  Resampler r(50.0, 100.0);
  std::vector<ResampledFrame> out;
  double t = 0;
  for (int i = 0; i < 1500; ++i) {
    t += 0.010 + 0.0005 * std::sin(i * 0.01);
    const float v = static_cast<float>(std::sin(2 * M_PI * 2.0 * t));
    r.push(kT0 + std::llround(t * 1e9), {v, 0, 0, 0, 0, 0},
           [&](const ResampledFrame& f) { out.push_back(f); });
  }
  for (std::size_t k = 10; k < out.size(); ++k) {
    const double tk = t_of(out[k]);
    EXPECT_NEAR(out[k].v[0], std::sin(2 * M_PI * 2.0 * tk), 0.01);
  }
}

}  // namespace
}  // namespace primus::signal
