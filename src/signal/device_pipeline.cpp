#include "src/signal/device_pipeline.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace primus::signal {
namespace {

bool finite3(const std::array<float, 3>& v) noexcept {
  return std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]);
}
bool finite3(const Eigen::Vector3f& v) noexcept {
  return std::isfinite(v.x()) && std::isfinite(v.y()) && std::isfinite(v.z());
}

SampleClockConfig sample_clock_config(const DeviceConfig& dev, const PipelineOptions& opt) {
  SampleClockConfig c = opt.sample_clock;
  c.nominal_rate_hz = dev.rate_hz;
  c.resync_lag_s = std::max(c.resync_lag_s, dev.max_gap_s);
  return c;
}

std::size_t ring_capacity(const WindowConfig& win, const PipelineOptions& opt) {
  const double want = std::max(0.0, opt.ring_seconds) * win.rate_hz;
  const auto two_windows = static_cast<std::size_t>(2 * std::max(win.length, 1));
  return std::max(two_windows, static_cast<std::size_t>(std::min(want, 1e8)));
}

}  // namespace

DevicePipeline::DevicePipeline(const DeviceConfig& dev, const WindowConfig& win,
                               std::uint32_t device_index, const PipelineOptions& opt)
    : device_(device_index),
      gyro_source_(dev.gyro_source),
      timing_(dev.timing),
      nominal_rate_hz_(dev.rate_hz),
      max_gap_ns_(std::llround(std::max(dev.max_gap_s, 1e-3) * 1e9)),
      restart_back_us_(std::llround(std::max(opt.restart_back_s, 0.0) * 1e6)),
      units_(dev.acc_unit, dev.gyro_unit, dev.quat_order, dev.axis_map),
      sample_clock_(sample_clock_config(dev, opt)),
      clock_(opt.clock),
      quat_(opt.quat_method),
      resampler_(win.rate_hz, dev.rate_hz),
      ring_(ring_capacity(win, opt)),
      windower_(win, device_index) {
  if (!(dev.rate_hz > 0.0)) throw std::invalid_argument("device rate_hz must be > 0");
}

const PipelineCounters& DevicePipeline::counters() const noexcept {
  counters_.ring_overflow = ring_.dropped() - ring_dropped_base_;
  const auto& q = quat_.counters();
  counters_.quat_renormalised = q.renormalised;
  return counters_;
}

void DevicePipeline::reset() {
  seq_.reset();
  clock_.reset();
  sample_clock_.reset();
  quat_ = QuatRate(quat_.method());
  restart_chain();
  sample_counter_ = 0;
  time_from_set_ = false;
  counters_ = PipelineCounters{};
  ring_dropped_base_ = ring_.dropped();
  last_acc_.setZero();
}

void DevicePipeline::restart_chain() noexcept {
  chain_started_ = false;
  quat_.reset();
  resampler_.reset();
  windower_.reset();
  pending_ = false;
  path_ = GyroPath::kNone;
}

void DevicePipeline::push(const Sample& s, const std::function<void(Window&&)>& on_window) {
  ++counters_.samples_in;

  // 0. Where this sample's time comes from. A counted sample takes its slot even if it is
  // dropped below: it was sent at its time all the same.
  TimeFrom from = TimeFrom::kArrival;
  switch (timing_) {
    case TimingMode::kAuto:
      from = s.has(kFieldTDevice) ? TimeFrom::kDevice
                                  : (s.has(kFieldSeq) ? TimeFrom::kSequence : TimeFrom::kCounter);
      break;
    case TimingMode::kDevice:
      if (!s.has(kFieldTDevice)) {
        ++counters_.missing_fields;
        return;
      }
      from = TimeFrom::kDevice;
      break;
    case TimingMode::kCounter:
      from = s.has(kFieldSeq) ? TimeFrom::kSequence : TimeFrom::kCounter;
      break;
    case TimingMode::kArrival:
      from = TimeFrom::kArrival;
      break;
  }
  if (from == TimeFrom::kCounter) ++sample_counter_;

  // 1. Which angular velocity source this sample uses, and are its fields usable?
  GyroPath path = GyroPath::kNone;
  const bool has_gyro = s.has(kFieldGyro);
  const bool has_quat = s.has(kFieldQuat);
  switch (gyro_source_) {
    case GyroSource::kMeasured:
      path = has_gyro ? GyroPath::kMeasured : GyroPath::kNone;
      break;
    case GyroSource::kFromQuaternion:
      path = has_quat ? GyroPath::kQuat : GyroPath::kNone;
      break;
    case GyroSource::kAuto:
      path = has_gyro ? GyroPath::kMeasured : (has_quat ? GyroPath::kQuat : GyroPath::kNone);
      break;
  }
  if (path == GyroPath::kNone) {
    ++counters_.missing_fields;
    return;
  }
  if ((s.has(kFieldAcc) && !finite3(s.acc)) || (path == GyroPath::kMeasured && !finite3(s.gyro))) {
    ++counters_.nan_dropped;
    return;
  }
  Eigen::Vector3f acc = s.has(kFieldAcc) ? units_.acc(s.acc) : last_acc_;
  Eigen::Vector3f gyro =
      path == GyroPath::kMeasured ? units_.gyro(s.gyro) : Eigen::Vector3f::Zero();
  if (!finite3(acc) || !finite3(gyro)) {  // finite in device units, overflowing after scaling
    ++counters_.nan_dropped;
    return;
  }
  std::array<double, 4> q{};
  if (path == GyroPath::kQuat) {
    q = units_.quat_wxyz(s.quat);
    const double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    if (!std::isfinite(n2) || n2 < QuatRate::kMinNorm * QuatRate::kMinNorm) {
      ++counters_.bad_quat;
      return;
    }
  }

  // 2. Sequence number.
  bool seq_restart = false;
  std::uint32_t lost = 0;
  if (s.has(kFieldSeq)) {
    SeqResult r = seq_.observe(s.seq);
    // A sequence number far behind is a late packet unless the device clock went far back too:
    // then the device restarted with a counter that did not jump far enough to say so.
    if ((r.verdict == SeqVerdict::kLate || r.verdict == SeqVerdict::kDuplicate) &&
        from == TimeFrom::kDevice && clock_.anchored() &&
        clock_.last_device_us() - s.t_device_us > restart_back_us_) {
      seq_.reset();
      r = seq_.observe(s.seq);
      r.verdict = SeqVerdict::kRestart;
    }
    switch (r.verdict) {
      case SeqVerdict::kDuplicate:
        ++counters_.dropped_duplicate;
        return;
      case SeqVerdict::kLate:
        ++counters_.out_of_order;
        return;
      case SeqVerdict::kRestart:
        seq_restart = true;
        break;
      case SeqVerdict::kGap:
        lost = r.lost;
        counters_.samples_lost += r.lost;
        break;
      case SeqVerdict::kFirst:
      case SeqVerdict::kNext:
        break;
    }
    seq_unwrapped_ = r.unwrapped;
  }

  // 3. Device time, then the clock map. A change of time source (auto, mixed samples) starts a
  // new epoch like a device restart.
  const bool source_changed = time_from_set_ && from != time_from_;
  if (source_changed) seq_restart = true;
  time_from_ = from;
  time_from_set_ = true;
  const bool synthetic = from == TimeFrom::kSequence || from == TimeFrom::kCounter;
  std::int64_t t_dev_us = 0;
  std::int64_t t_synthetic_ns = 0;
  switch (from) {
    case TimeFrom::kDevice:
      t_dev_us = s.t_device_us;
      break;
    case TimeFrom::kSequence:
    case TimeFrom::kCounter: {
      if (seq_restart) sample_clock_.restart();
      // Sequence numbers tell losses themselves; a counter learns them from a persistent lag.
      sample_clock_.set_resync_on_lag(from == TimeFrom::kCounter);
      const std::int64_t k =
          from == TimeFrom::kSequence ? static_cast<std::int64_t>(seq_unwrapped_) : sample_counter_;
      const SampleTime st = sample_clock_.observe(k, s.t_host_ns);
      if (st.stall_ended) ++counters_.timing_stalls;
      if (st.lost > 0) {
        ++counters_.timing_resyncs;
        counters_.samples_lost += st.lost;
        lost += st.lost;
      }
      t_synthetic_ns = st.t_ns;
      t_dev_us = st.t_ns / 1000;
      break;
    }
    case TimeFrom::kArrival:
      t_dev_us = s.t_host_ns / 1000;
      break;
  }

  // The sample clock's time is host time on the lower envelope already; a ClockMap on top only
  // adds its own transients (its 32 s drift fit sees the sample clock converging), so it maps
  // device clocks and raw arrival times only.
  if (seq_restart) {
    ++counters_.restarts;
    clock_.reanchor(t_dev_us, s.t_host_ns);
    restart_chain();
  } else if (!synthetic) {
    switch (clock_.observe(t_dev_us, s.t_host_ns)) {
      case ClockEvent::kAnchored:
      case ClockEvent::kOk:
        break;
      case ClockEvent::kBackwards:
        if (clock_.last_device_us() - t_dev_us <= restart_back_us_) {
          ++counters_.out_of_order;
          return;
        }
        ++counters_.restarts;
        clock_.reanchor(t_dev_us, s.t_host_ns);
        seq_.reset();
        if (s.has(kFieldSeq)) seq_.observe(s.seq);
        restart_chain();
        break;
      case ClockEvent::kJumpForward:
      case ClockEvent::kJumpLate:
        ++counters_.clock_jumps;
        restart_chain();
        break;
    }
  }
  const std::int64_t t_ns = synthetic ? t_synthetic_ns : clock_.mapped_ns();
  last_t_ns_ = t_ns;
  synthetic_ = synthetic;

  // 4. Gap check against the previous sample of this chain. Samples placed by the sample clock
  // are a period apart unless some were lost, which it says (or the sequence numbers do).
  if (chain_started_) {
    const std::int64_t dt = t_ns - prev_t_ns_;
    if (dt > max_gap_ns_) {
      ++counters_.gaps_reset;
      restart_chain();
    } else if (lost > 0 || (!synthetic && static_cast<double>(dt) * nominal_rate_hz_ > 1.5e9)) {
      ++counters_.gaps_bridged;
    }
  }
  if (!chain_started_) {
    chain_started_ = true;
    chain_anchor_ns_ = t_ns;
  }
  prev_t_ns_ = t_ns;

  const double measured = synthetic ? sample_clock_.rate_hz() : clock_.rate_hz();
  if (measured > 0.0 && std::abs(measured / resampler_.input_rate_hz() - 1.0) > 0.1) {
    resampler_.set_input_rate(measured);
  }
  last_acc_ = acc;

  // 5. Angular velocity.
  if (path != path_) {
    quat_.reset();
    pending_ = false;
    path_ = path;
  }
  if (path == GyroPath::kMeasured) {
    feed(t_ns, acc, gyro, s.t_host_ns, on_window);
    return;
  }
  const double t_s = static_cast<double>(t_ns - chain_anchor_ns_) * 1e-9;
  QuatRateOut out;
  bool has_out = false;
  const QuatPush pr = quat_.push(t_s, q, out, has_out);
  if (pr == QuatPush::kBadQuat) {
    ++counters_.bad_quat;
    return;
  }
  if (pr == QuatPush::kBadDt) {
    ++counters_.out_of_order;
    return;
  }
  if (has_out && pending_) {
    const Eigen::Vector3f w = units_.map_rate(out.w.cast<float>());
    if (finite3(w)) feed(pending_t_ns_, pending_acc_, w, s.t_host_ns, on_window);
  }
  pending_ = true;
  pending_t_ns_ = t_ns;
  pending_acc_ = acc;
}

void DevicePipeline::feed(std::int64_t t_ns, const Eigen::Vector3f& acc,
                          const Eigen::Vector3f& gyro, std::int64_t t_arrival_ns,
                          const std::function<void(Window&&)>& on_window) {
  ++counters_.samples_used;
  const std::array<float, 6> v{acc.x(), acc.y(), acc.z(), gyro.x(), gyro.y(), gyro.z()};
  resampler_.push(t_ns, v, [&](const ResampledFrame& f) {
    ModelFrame m;
    m.v = f.v;
    m.t_host_ns = f.t_ns;
    m.t_device_us = synthetic_ ? f.t_ns / 1000 : clock_.to_device_us(f.t_ns);
    m.flags = f.interpolated ? kFrameInterpolated : 0u;
    ring_.push(m);
    ++counters_.frames_out;
    if (f.interpolated) ++counters_.frames_interpolated;
    Window w;
    if (windower_.push(m, t_arrival_ns, w)) {
      ++counters_.windows_out;
      on_window(std::move(w));
    }
  });
}

}  // namespace primus::signal
