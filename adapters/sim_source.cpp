#include "adapters/sim_source.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

namespace primus::adapters {
namespace {
constexpr double kG = 9.80665;
constexpr double kPi = 3.14159265358979323846;

struct Motion {
  Eigen::Vector3d omega{0, 0, 0};  ///< body rad/s
  Eigen::Vector3d lin{0, 0, 0};    ///< body linear acceleration, m/s²
};

double gesture_duration(int g) {
  switch (g) {
    case 0:
      return 1.6;  // wave
    case 1:
      return 2.0;  // circle
    case 2:
      return 1.2;  // shake
    default:
      return 1.0;  // tap
  }
}

/// Body-frame motion of gesture g at time u (s) since its start, amplitude factor a, performed
/// for `len` seconds: once with a half-sine envelope when len is the gesture's own length,
/// repeated (ramped in and out over 0.4 s) when longer.
Motion gesture_motion(int g, double u, double a, double len) {
  Motion m;
  const double d = gesture_duration(g);
  double env = std::sin(kPi * std::clamp(u / d, 0.0, 1.0));  // smooth in and out
  if (len > d) {
    env = std::sin(0.5 * kPi * std::clamp(std::min(u, len - u) / 0.4, 0.0, 1.0));
    if (g == 3) u = std::fmod(u, d);  // tap: the pair of knocks again every second
  }
  switch (g) {
    case 0:  // wave: forearm roll, 2.5 Hz
      m.omega.x() = 6.0 * a * env * std::sin(2 * kPi * 2.5 * u);
      m.lin.y() = 2.0 * a * env * std::cos(2 * kPi * 2.5 * u);
      break;
    case 1:  // circle: the hand draws a circle, 1 Hz
      m.omega.y() = 3.0 * a * env * std::cos(2 * kPi * u);
      m.omega.z() = 3.0 * a * env * std::sin(2 * kPi * u);
      m.lin.y() = 4.0 * a * env * std::sin(2 * kPi * u);
      m.lin.z() = 4.0 * a * env * std::cos(2 * kPi * u);
      break;
    case 2:  // shake: fast linear shake along x, 5 Hz
      m.lin.x() = 15.0 * a * env * std::sin(2 * kPi * 5.0 * u);
      m.omega.z() = 1.0 * a * env * std::sin(2 * kPi * 5.0 * u);
      break;
    default: {  // tap: two sharp knocks
      for (double c : {0.3, 0.65}) {
        const double x = (u - c) / 0.03;
        m.lin.z() += -20.0 * a * std::exp(-0.5 * x * x);
        m.omega.y() += 2.0 * a * std::exp(-0.5 * x * x);
      }
      break;
    }
  }
  return m;
}
}  // namespace

const std::vector<std::string>& sim_gesture_names() {
  static const std::vector<std::string> names{"wave", "circle", "shake", "tap"};
  return names;
}

SimDevice::SimDevice(const DeviceConfig& dev, std::uint32_t index, SimTiming timing)
    : dev_(dev),
      index_(index),
      timing_(timing),
      rate_hz_(dev.rate_hz),
      rng_(dev.seed != 0 ? dev.seed : std::hash<std::string>{}(dev.id)),
      gestures_(dev.gestures.empty() ? sim_gesture_names() : dev.gestures) {
  std::uniform_real_distribution<double> off(0, 1e9), drift(-50e-6, 50e-6);
  clock_offset_us_ = std::floor(off(rng_));
  clock_drift_ = drift(rng_);
  seq0_ = static_cast<std::uint32_t>(rng_());
  std::uniform_int_distribution<std::size_t> first(0, gestures_.size() - 1);
  next_gesture_ = first(rng_);
  pick_next_segment();
}

void SimDevice::pick_next_segment() {
  seg_start_s_ = seg_end_s_;
  if (gesture_ >= 0 || seg_start_s_ == 0) {
    // idle for 1.5-3.5 s (2-5 s between activities)
    gesture_ = -1;
    label_ = "null";
    const bool act = timing_.activity_s > 0;
    seg_end_s_ = seg_start_s_ +
                 std::uniform_real_distribution<double>(act ? 2.0 : 1.5, act ? 5.0 : 3.5)(rng_);
    return;
  }
  const auto& name = gestures_[next_gesture_ % gestures_.size()];
  next_gesture_ += 1 + std::uniform_int_distribution<std::size_t>(0, 1)(rng_);
  const auto& all = sim_gesture_names();
  gesture_ = static_cast<int>(std::find(all.begin(), all.end(), name) - all.begin());
  label_ = name;
  amp_ = std::uniform_real_distribution<double>(0.75, 1.25)(rng_);
  seg_len_s_ = gesture_duration(gesture_);
  if (timing_.activity_s > 0)
    seg_len_s_ = std::max(
        seg_len_s_, timing_.activity_s * std::uniform_real_distribution<double>(0.75, 1.25)(rng_));
  seg_end_s_ = seg_start_s_ + seg_len_s_;
}

Sample SimDevice::next() {
  const double dt = 1.0 / rate_hz_;
  const double t = static_cast<double>(k_) * dt;
  while (t >= seg_end_s_) pick_next_segment();

  Motion m;
  if (gesture_ >= 0) m = gesture_motion(gesture_, t - seg_start_s_, amp_, seg_len_s_);
  std::normal_distribution<double> n_w(0.0, 0.03), n_a(0.0, 0.05);
  m.omega += Eigen::Vector3d(n_w(rng_), n_w(rng_), n_w(rng_));

  // Integrate orientation over one step (body-frame rate: q <- q * exp(omega dt / 2)).
  if (k_ > 0) {
    const double angle = m.omega.norm() * dt;
    if (angle > 0)
      q_ = (q_ * Eigen::Quaterniond(Eigen::AngleAxisd(angle, m.omega.normalized()))).normalized();
  }
  // Specific force in the body frame: gravity reaction (+g up) plus motion, plus noise.
  Eigen::Vector3d f = q_.conjugate() * Eigen::Vector3d(0, 0, kG) + m.lin;
  f += Eigen::Vector3d(n_a(rng_), n_a(rng_), n_a(rng_));
  if (dev_.acc_unit == AccUnit::kG) f /= kG;

  Sample s;
  s.device = index_;
  s.fields = kFieldAcc | kFieldQuat | kFieldSeq | kFieldTDevice;
  s.seq = seq0_ + static_cast<std::uint32_t>(k_);
  s.t_device_us = static_cast<std::int64_t>(clock_offset_us_ + t * 1e6 * (1.0 + clock_drift_));
  s.acc = {static_cast<float>(f.x()), static_cast<float>(f.y()), static_cast<float>(f.z())};
  if (dev_.quat_order == QuatOrder::kWxyz) {
    s.quat = {static_cast<float>(q_.w()), static_cast<float>(q_.x()), static_cast<float>(q_.y()),
              static_cast<float>(q_.z())};
  } else {
    s.quat = {static_cast<float>(q_.x()), static_cast<float>(q_.y()), static_cast<float>(q_.z()),
              static_cast<float>(q_.w())};
  }
  ++k_;
  return s;
}

SimSource::SimSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx)
    : gen_(dev, index),
      ctx_(std::move(ctx)),
      timer_(ctx_.io),
      period_ns_(static_cast<std::int64_t>(1e9 / dev.rate_hz)),
      phase_ns_(static_cast<std::int64_t>(
          std::mt19937_64(dev.seed != 0 ? dev.seed : std::hash<std::string>{}(dev.id))() %
          1'000'000'000)) {}

void SimSource::start() {
  running_ = true;
  // Real devices are switched on at different moments: start each one at its own phase within the
  // first second, so that windows of many simulated devices do not all complete at once.
  start_ns_ = ctx_.clock.now_ns() + phase_ns_;
  ctx_.on_state(SourceState::kConnected, "simulated device");
  tick();
}

void SimSource::stop() {
  running_ = false;
  timer_.cancel();
}

void SimSource::tick() {
  if (!running_) return;
  const std::int64_t now = ctx_.clock.now_ns();
  // Emit every sample that is due; after a stall, skip ahead rather than bursting > 1 s.
  std::int64_t due = start_ns_ + static_cast<std::int64_t>(gen_.sim_time_s() * 1e9);
  if (now - due > 1'000'000'000) {
    while (now - due > period_ns_) {
      gen_.next();
      due = start_ns_ + static_cast<std::int64_t>(gen_.sim_time_s() * 1e9);
    }
  }
  while (due <= now && running_) {
    Sample s = gen_.next();
    s.t_host_ns = due;
    ++stats_.samples;
    ctx_.on_sample(s);
    if (gen_.current_label() != seg_label_) {  // a segment ended with the previous sample
      if (seg_first_ns_ >= 0 && ctx_.on_truth) ctx_.on_truth(seg_label_, seg_first_ns_, last_ns_);
      seg_label_ = gen_.current_label();
      seg_first_ns_ = due;
    }
    last_ns_ = due;
    due = start_ns_ + static_cast<std::int64_t>(gen_.sim_time_s() * 1e9);
  }
  timer_.expires_after(
      std::chrono::nanoseconds(std::max<std::int64_t>(due - ctx_.clock.now_ns(), 0)));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

}  // namespace primus::adapters
