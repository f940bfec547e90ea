#include "src/signal/quat_rate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <Eigen/Geometry>

namespace primus::signal {
namespace {

std::array<double, 4> to_arr(const Eigen::Quaterniond& q) { return {q.w(), q.x(), q.y(), q.z()}; }

// Integrate a constant body rate w from identity: q(t) = exp(w t / 2).
Eigen::Quaterniond rot(const Eigen::Vector3d& w, double t) {
  const double a = w.norm() * t;
  if (a == 0.0) return Eigen::Quaterniond::Identity();
  return Eigen::Quaterniond(Eigen::AngleAxisd(a, w.normalized()));
}

std::vector<QuatRateOut> run(QuatRate& qr, const std::vector<double>& t,
                             const std::vector<Eigen::Quaterniond>& q) {
  std::vector<QuatRateOut> outs;
  for (std::size_t i = 0; i < t.size(); ++i) {
    QuatRateOut o;
    bool has = false;
    qr.push(t[i], to_arr(q[i]), o, has);
    if (has) outs.push_back(o);
  }
  QuatRateOut o;
  if (qr.flush(o)) outs.push_back(o);
  return outs;
}

TEST(QuatLog, TableOfKnownRotations) {
  struct Row {
    Eigen::Vector3d axis;
    double angle;
  };
  const Row rows[] = {{{1, 0, 0}, 0.0},        {{1, 0, 0}, 0.1}, {{0, 1, 0}, 1.0},
                      {{0, 0, 1}, 3.0},        {{1, 1, 0}, 2.5}, {{1, -2, 3}, 1e-7},
                      {{0, 0, 1}, M_PI - 1e-6}};
  for (const Row& r : rows) {
    const Eigen::Vector3d ax = r.axis.normalized();
    const Eigen::Quaterniond q(Eigen::AngleAxisd(r.angle, ax));
    const Eigen::Vector3d v = quat_log_rotvec(q.w(), q.x(), q.y(), q.z());
    EXPECT_NEAR((v - ax * r.angle).norm(), 0.0, 1e-9) << "angle " << r.angle;
    // −q is the same rotation: same rotation vector (shortest path)
    const Eigen::Vector3d vn = quat_log_rotvec(-q.w(), -q.x(), -q.y(), -q.z());
    EXPECT_NEAR((vn - v).norm(), 0.0, 1e-9);
  }
}

TEST(QuatLog, SeriesBranchAgreesWithAtan2AcrossItsBoundary) {
  const Eigen::Vector3d ax = Eigen::Vector3d(0.3, -0.5, 0.8).normalized();
  for (double angle = 1e-9; angle < 3.1; angle *= 1.07) {
    const Eigen::Quaterniond q(Eigen::AngleAxisd(angle, ax));
    const Eigen::Vector3d v = quat_log_rotvec(q.w(), q.x(), q.y(), q.z());
    EXPECT_NEAR((v - ax * angle).norm() / angle, 0.0, 1e-13) << angle;
  }
}

TEST(QuatRate, ConstantRateInConstantRateOutEveryMethodAndUnevenSteps) {
  const Eigen::Vector3d w(0.3, -1.2, 2.0);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> jitter(0.004, 0.016);
  std::vector<double> t{0.0};
  for (int i = 1; i < 300; ++i) t.push_back(t.back() + jitter(rng));
  std::vector<Eigen::Quaterniond> q;
  const Eigen::Quaterniond q0(Eigen::AngleAxisd(0.7, Eigen::Vector3d(1, 2, 3).normalized()));
  for (double ti : t) q.push_back(q0 * rot(w, ti));
  for (auto m : {QuatRateMethod::kCentred, QuatRateMethod::kCentredChord, QuatRateMethod::kForward,
                 QuatRateMethod::kBackward}) {
    QuatRate qr(m);
    const auto outs = run(qr, t, q);
    ASSERT_EQ(outs.size(), t.size());
    for (std::size_t i = 0; i < outs.size(); ++i) {
      EXPECT_EQ(outs[i].index, i);
      EXPECT_DOUBLE_EQ(outs[i].t_s, t[i]);
      EXPECT_NEAR((outs[i].w - w).norm(), 0.0, 1e-9) << "method " << int(m) << " i " << i;
    }
  }
}

TEST(QuatRate, SignFlipsDoNotChangeTheResult) {
  const Eigen::Vector3d w(2.0, 0.5, -0.4);
  std::vector<double> t;
  std::vector<Eigen::Quaterniond> q, qflip;
  for (int i = 0; i < 100; ++i) {
    t.push_back(i * 0.01);
    q.push_back(rot(w, t.back()));
    Eigen::Quaterniond f = q.back();
    if (i % 3 == 1) f.coeffs() *= -1.0;
    qflip.push_back(f);
  }
  QuatRate a, b;
  const auto oa = run(a, t, q);
  const auto ob = run(b, t, qflip);
  ASSERT_EQ(oa.size(), ob.size());
  for (std::size_t i = 0; i < oa.size(); ++i) EXPECT_NEAR((oa[i].w - ob[i].w).norm(), 0.0, 1e-9);
}

TEST(QuatRate, FastRotationNearPiPerStepUsesExactLog) {
  // 2.8 rad per 10 ms step: a small-angle shortcut would be off by ~30 %.
  const Eigen::Vector3d w(0.0, 0.0, 280.0);
  QuatRate qr;
  std::vector<double> t;
  std::vector<Eigen::Quaterniond> q;
  for (int i = 0; i < 10; ++i) {
    t.push_back(i * 0.01);
    q.push_back(rot(w, t.back()));
  }
  for (const auto& o : run(qr, t, q)) EXPECT_NEAR((o.w - w).norm(), 0.0, 1e-6);
}

TEST(QuatRate, RejectsBadQuaternionsAndTimesAndRenormalises) {
  QuatRate qr;
  QuatRateOut o;
  bool has = false;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(qr.push(0.0, {nan, 0, 0, 0}, o, has), QuatPush::kBadQuat);
  EXPECT_EQ(qr.push(0.0, {0, 0, 0, 0}, o, has), QuatPush::kBadQuat);
  EXPECT_EQ(qr.push(0.0, {inf, 0, 0, 0}, o, has), QuatPush::kBadQuat);
  EXPECT_EQ(qr.push(0.0, {2.0, 0, 0, 0}, o, has), QuatPush::kOk);  // renormalised
  EXPECT_FALSE(has);
  EXPECT_EQ(qr.push(0.0, {1, 0, 0, 0}, o, has), QuatPush::kBadDt);   // zero step
  EXPECT_EQ(qr.push(-1.0, {1, 0, 0, 0}, o, has), QuatPush::kBadDt);  // backwards
  EXPECT_EQ(qr.push(nan, {1, 0, 0, 0}, o, has), QuatPush::kBadDt);
  const Eigen::Quaterniond q1 = rot({0, 0, 1}, 0.01);
  EXPECT_EQ(qr.push(0.01, {3 * q1.w(), 3 * q1.x(), 3 * q1.y(), 3 * q1.z()}, o, has), QuatPush::kOk);
  ASSERT_TRUE(has);
  EXPECT_EQ(o.index, 0u);
  EXPECT_NEAR((o.w - Eigen::Vector3d(0, 0, 1)).norm(), 0.0, 1e-9);
  EXPECT_EQ(qr.counters().bad_quat, 3u);
  EXPECT_EQ(qr.counters().bad_dt, 3u);
  EXPECT_EQ(qr.counters().renormalised, 2u);
  EXPECT_EQ(qr.counters().accepted, 2u);
}

TEST(QuatRate, SingleSampleStreamGivesZeroOnFlush) {
  QuatRate qr;
  QuatRateOut o;
  bool has = false;
  qr.push(1.0, {1, 0, 0, 0}, o, has);
  ASSERT_TRUE(qr.flush(o));
  EXPECT_EQ(o.w.norm(), 0.0);
  EXPECT_FALSE(qr.flush(o));
}

TEST(QuatRate, CentredRemovesTheHalfSampleLagOfForward) {
  // Sinusoidal rate about z: w(t) = A sin(2π f t). Centred error is O(dt²), forward O(dt).
  const double A = 3.0, f = 2.0, dt = 0.02;
  std::vector<double> t;
  std::vector<Eigen::Quaterniond> q;
  for (int i = 0; i < 200; ++i) {
    const double ti = i * dt;
    t.push_back(ti);
    const double angle = A / (2 * M_PI * f) * (1 - std::cos(2 * M_PI * f * ti));
    q.push_back(rot({0, 0, 1}, 1.0) *
                Eigen::Quaterniond(Eigen::AngleAxisd(angle, Eigen::Vector3d::UnitZ())));
  }
  auto rms = [&](QuatRateMethod m) {
    QuatRate qr(m);
    const auto outs = run(qr, t, q);
    double s = 0;
    for (std::size_t i = 1; i + 1 < outs.size(); ++i) {
      const double truth = A * std::sin(2 * M_PI * f * t[i]);
      s += std::pow(outs[i].w.z() - truth, 2);
    }
    return std::sqrt(s / static_cast<double>(outs.size() - 2));
  };
  const double fwd = rms(QuatRateMethod::kForward);
  const double cen = rms(QuatRateMethod::kCentred);
  EXPECT_GT(fwd, 0.2);
  EXPECT_LT(cen, 0.05);
  EXPECT_LT(cen * 10, fwd);
}

}  // namespace
}  // namespace primus::signal
