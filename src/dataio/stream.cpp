#include "src/dataio/stream.h"

#include <algorithm>
#include <cmath>

#include "src/capture/ring_capture.h"

namespace primus::dataio {

std::size_t LabelledStream::chunk_of(std::size_t i) const {
  const auto it = std::upper_bound(chunks.begin(), chunks.end(), i);
  return static_cast<std::size_t>(it - chunks.begin()) - 1;
}

std::size_t LabelledStream::chunk_end(std::size_t c) const {
  return c + 1 < chunks.size() ? chunks[c + 1] : frames.size();
}

LabelledStream run_signal_path(const LabelledRecording& rec, const WindowConfig& win,
                               const std::function<void(Window&&)>& on_window) {
  LabelledStream out;
  signal::DevicePipeline p(rec.dev, win, 0);
  std::vector<signal::ModelFrame> buf(4096);
  std::uint64_t next = 0;
  const auto& samples = rec.rec.samples;
  auto drain = [&] {
    for (;;) {
      const auto r = p.ring().read(next, buf.data(), buf.size());
      out.frames.insert(out.frames.end(), buf.begin(),
                        buf.begin() + static_cast<std::ptrdiff_t>(r.count));
      next = r.first + r.count;
      if (r.count < buf.size()) break;
    }
  };
  const std::function<void(Window &&)> sink = on_window ? on_window : [](Window&&) {};
  for (std::size_t i = 0; i < samples.size(); ++i) {
    p.push(samples[i], sink);
    if ((i & 63) == 63) drain();
  }
  drain();
  out.counters = p.counters();
  out.input_rate_hz = p.input_rate_hz();

  // Labels: the last input sample at or before each frame.
  out.labels.resize(out.frames.size());
  const bool labelled = rec.rec.labels.size() == samples.size();
  std::size_t j = 0;
  for (std::size_t k = 0; k < out.frames.size(); ++k) {
    const auto t = out.frames[k].t_host_ns;
    while (j + 1 < samples.size() && samples[j + 1].t_host_ns <= t) ++j;
    if (labelled) out.labels[k] = rec.rec.labels[j];
  }
  // Chunks: a restart shows as a jump in the grid.
  const auto period_ns = static_cast<std::int64_t>(1e9 / win.rate_hz);
  out.chunks.push_back(0);
  for (std::size_t k = 1; k < out.frames.size(); ++k)
    if (out.frames[k].t_host_ns - out.frames[k - 1].t_host_ns > period_ns * 3 / 2)
      out.chunks.push_back(k);
  for (std::size_t c = 0; c < out.chunks.size() && !out.frames.empty(); ++c)
    out.duration_ns +=
        out.frames[out.chunk_end(c) - 1].t_host_ns - out.frames[out.chunks[c]].t_host_ns;
  return out;
}

std::vector<Segment> find_segments(const LabelledStream& s) {
  std::vector<Segment> out;
  for (std::size_t c = 0; c < s.chunks.size() && !s.frames.empty(); ++c) {
    const std::size_t end = s.chunk_end(c);
    std::size_t k = s.chunks[c];
    while (k < end) {
      std::size_t e = k + 1;
      while (e < end && s.labels[e] == s.labels[k]) ++e;
      out.push_back({s.labels[k], k, e - k, c, s.frames[k].t_host_ns, s.frames[e - 1].t_host_ns});
      k = e;
    }
  }
  return out;
}

nlohmann::json conversion_json(const Config& cfg, const DeviceConfig& dc, std::int64_t label_first,
                               std::int64_t label_count, std::int64_t from_ns, std::int64_t to_ns) {
  return {{"label_first", label_first},
          {"label_count", label_count},
          {"label_from_host_ns", from_ns},
          {"label_to_host_ns", to_ns},
          {"adapter", to_string(dc.adapter)},
          {"acc_unit_in", dc.acc_unit == AccUnit::kG ? "g" : "m/s2"},
          {"gyro_unit_in", dc.gyro_unit == GyroUnit::kDegPerSec ? "deg/s" : "rad/s"},
          {"gyro_source", dc.gyro_source == GyroSource::kMeasured         ? "measured"
                          : dc.gyro_source == GyroSource::kFromQuaternion ? "quaternion"
                                                                          : "auto"},
          {"axis_perm", dc.axis_map.perm},
          {"axis_sign", dc.axis_map.sign},
          {"window_length", cfg.window.length}};
}

std::vector<capture::CaptureRecord> captures_from_segments(
    const LabelledStream& s, const std::vector<Segment>& segs, const Config& cfg,
    const DeviceConfig& dev, bool include_null, const nlohmann::json& extra, CutCounts& counts) {
  std::vector<capture::CaptureRecord> out;
  const auto L = static_cast<std::size_t>(cfg.window.length);
  const double rate = cfg.window.rate_hz;
  const auto max_piece = static_cast<std::size_t>(capture::kMaxCaptureSamples);
  const std::string& null_label = cfg.events.null_label;
  for (std::size_t si = 0; si < segs.size(); ++si) {
    const auto& g = segs[si];
    const bool is_null = g.label.empty();
    ++counts.segments[is_null ? null_label : g.label];
    if (is_null) {
      if (!include_null) continue;
      if (g.count < L) {
        ++counts.null_too_short;
        continue;
      }
    } else if (static_cast<double>(g.count) / rate < cfg.capture.min_label_s) {
      ++counts.too_short;
      continue;
    }
    const std::size_t c0 = s.chunks[g.chunk], c1 = s.chunk_end(g.chunk);
    for (std::size_t a = g.first; a < g.first + g.count;) {
      const std::size_t n = std::min(g.first + g.count - a, max_piece - 2 * L);
      const auto pad = static_cast<std::size_t>(
          std::llround(capture::context_seconds(is_null, static_cast<double>(L) / rate) * rate));
      const std::size_t from = a >= c0 + pad ? a - pad : c0;
      const std::size_t to = std::min(c1, a + n + pad);
      std::vector<signal::ModelFrame> span(s.frames.begin() + static_cast<std::ptrdiff_t>(from),
                                           s.frames.begin() + static_cast<std::ptrdiff_t>(to));
      auto conv = conversion_json(cfg, dev, static_cast<std::int64_t>(a - from),
                                  static_cast<std::int64_t>(n), s.frames[a].t_host_ns,
                                  s.frames[a + n - 1].t_host_ns);
      if (extra.is_object()) conv.update(extra);
      const double src_rate = s.input_rate_hz > 0 ? s.input_rate_hz : dev.rate_hz;
      out.push_back(capture::record_from_frames(span, dev.id, is_null ? null_label : g.label, rate,
                                                src_rate, conv.dump()));
      a += n;
    }
  }
  return out;
}

}  // namespace primus::dataio
