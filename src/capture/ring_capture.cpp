#include "src/capture/ring_capture.h"

#include <cmath>

namespace primus::capture {

const char* to_string(RingSpan::Status s) noexcept {
  switch (s) {
    case RingSpan::Status::kOk:
      return "ok";
    case RingSpan::Status::kNotYet:
      return "not yet";
    case RingSpan::Status::kNotInHistory:
      return "not in history";
    case RingSpan::Status::kDiscontinuous:
      return "discontinuous";
    case RingSpan::Status::kEmpty:
      return "empty";
  }
  return "?";
}

RingSpan copy_ring_span(const signal::FrameRing& ring, std::int64_t t_from_host_ns,
                        std::int64_t t_to_host_ns, double rate_hz) {
  RingSpan out;
  if (t_to_host_ns < t_from_host_ns) {
    out.why = "span ends before it starts";
    return out;
  }
  const auto period_ns = static_cast<std::int64_t>(std::llround(1e9 / rate_hz));
  std::vector<signal::ModelFrame> all(ring.capacity());
  const auto r = ring.read(ring.oldest(), all.data(), all.size());
  all.resize(r.count);
  if (all.empty()) {
    out.status = RingSpan::Status::kNotYet;
    out.why = "no frames yet";
    return out;
  }
  if (all.back().t_host_ns + period_ns / 2 < t_to_host_ns) {
    out.status = RingSpan::Status::kNotYet;
    out.why = "the newest frame is " +
              std::to_string((t_to_host_ns - all.back().t_host_ns) / 1'000'000) +
              " ms before the end of the span";
    return out;
  }
  if (all.front().t_host_ns - period_ns / 2 > t_from_host_ns) {
    out.status = RingSpan::Status::kNotInHistory;
    out.why = "the oldest frame kept is " +
              std::to_string((all.front().t_host_ns - t_from_host_ns) / 1'000'000) +
              " ms after the start of the span";
    return out;
  }
  for (const auto& f : all) {
    if (f.t_host_ns < t_from_host_ns || f.t_host_ns > t_to_host_ns) continue;
    if (!out.frames.empty()) {
      const std::int64_t dt = f.t_host_ns - out.frames.back().t_host_ns;
      if (dt <= 0 || dt > period_ns + period_ns / 2) {
        out.status = RingSpan::Status::kDiscontinuous;
        out.why = "the stream restarted inside the span (frames " + std::to_string(dt / 1000) +
                  " us apart)";
        out.frames.clear();
        return out;
      }
    }
    out.frames.push_back(f);
  }
  if (out.frames.empty()) {
    out.why = "no frame lies in the span";
    return out;
  }
  // A hole at either edge (the chain started late or stopped early inside the span).
  if (out.frames.front().t_host_ns - t_from_host_ns > period_ns + period_ns / 2 ||
      t_to_host_ns - out.frames.back().t_host_ns > period_ns + period_ns / 2) {
    out.status = RingSpan::Status::kDiscontinuous;
    out.why = "the stream has a hole at the edge of the span";
    out.frames.clear();
    return out;
  }
  out.status = RingSpan::Status::kOk;
  return out;
}

CaptureRecord record_from_frames(const std::vector<signal::ModelFrame>& frames, std::string device,
                                 std::string label, double rate_hz, double source_rate_hz,
                                 std::string conversion) {
  if (frames.empty()) throw CaptureError("record_from_frames: no frames");
  CaptureRecord r;
  r.device = std::move(device);
  r.label = std::move(label);
  r.rate_hz = rate_hz;
  r.source_rate_hz = source_rate_hz;
  r.conversion = std::move(conversion);
  r.t_start_host_ns = frames.front().t_host_ns;
  r.t_end_host_ns = frames.back().t_host_ns;
  r.t_start_device_us = frames.front().t_device_us;
  r.t_end_device_us = frames.back().t_device_us;
  const std::size_t n = frames.size();
  r.data.resize(static_cast<std::size_t>(kCaptureChannels) * n);
  for (std::size_t i = 0; i < n; ++i) {
    for (int c = 0; c < kCaptureChannels; ++c) {
      r.data[static_cast<std::size_t>(c) * n + i] = frames[i].v[static_cast<std::size_t>(c)];
    }
  }
  return r;
}

}  // namespace primus::capture
