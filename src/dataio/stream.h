#pragma once
// A labelled recording run through the daemon's own signal path (signal::DevicePipeline, the same
// code a live device uses), with each model-rate frame labelled, cut into segments, and turned
// into captures by the daemon's labelling rule. Used by import (src/dataio/importer.h), evaluate
// (src/evaluation/evaluate.h) and the benchmarks.
//
// Frame labels: a frame (grid time T) takes the label of the last input sample at or before T.
// Chunks: the pipeline restarts its grid after a gap longer than max_gap_s, a clock jump or a new
// sequence (CMI, captures); frames further apart than 1.5 periods start a new chunk. Segments
// never cross chunks.
// Segment: a maximal run of frames of one chunk with the same label (null runs included, with
// the empty label).
// Captures (captures_from_segments): a non-null segment is stored with a window of context on
// both sides (capture::context_seconds), clipped to its chunk, exactly as app::Labeller stores a
// live label; a null segment is stored without context, and only when it holds at least
// one window; a segment shorter than capture.min_label_s is skipped (counted). Longer segments are
// split into pieces of at most capture::kMaxCaptureSamples.
//
// Threads: pure functions; any thread.
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/capture/capture_record.h"
#include "src/config/config.h"
#include "src/core/window.h"
#include "src/dataio/recording.h"
#include "src/signal/device_pipeline.h"

namespace primus::dataio {

struct LabelledStream {
  std::vector<signal::ModelFrame> frames;
  std::vector<std::string> labels;    ///< per frame, "" = null
  std::vector<std::size_t> chunks;    ///< first frame of each chunk, ascending, [0] = 0
  signal::PipelineCounters counters;  ///< of the pipeline run
  double input_rate_hz = 0;           ///< measured by the pipeline at the end
  std::int64_t duration_ns = 0;       ///< sum over chunks of (last - first frame time)

  /// Chunk index of frame i.
  [[nodiscard]] std::size_t chunk_of(std::size_t i) const;
  /// One past the last frame of chunk c.
  [[nodiscard]] std::size_t chunk_end(std::size_t c) const;
};

/// Runs rec through a DevicePipeline for `dev` and `win`. on_window (optional) receives every
/// window the pipeline emits, in order, as a live device's would reach the batcher.
/// Throws std::invalid_argument for a window config the pipeline refuses.
[[nodiscard]] LabelledStream run_signal_path(const LabelledRecording& rec, const WindowConfig& win,
                                             const std::function<void(Window&&)>& on_window = {});

struct Segment {
  std::string label;  ///< "" = null
  std::size_t first = 0;
  std::size_t count = 0;  ///< frames [first, first + count)
  std::size_t chunk = 0;
  std::int64_t t_start_ns = 0;  ///< host time of the first frame
  std::int64_t t_end_ns = 0;    ///< host time of the last frame
};

[[nodiscard]] std::vector<Segment> find_segments(const LabelledStream& s);

/// The conversion JSON a capture carries (docs/capture.md "conversion"): where the label lies,
/// the device's conversion keys and the window length. app::Labeller writes the same.
[[nodiscard]] nlohmann::json conversion_json(const Config& cfg, const DeviceConfig& dev,
                                             std::int64_t label_first, std::int64_t label_count,
                                             std::int64_t from_ns, std::int64_t to_ns);

struct CutCounts {
  std::map<std::string, std::int64_t> segments;  ///< per label ("null" for null), cut or not
  std::int64_t too_short = 0;                    ///< labelled segments under min_label_s
  std::int64_t null_too_short = 0;               ///< null segments under one window
};

/// Captures of the segments (rule above), device id dev.id, labelled `cfg.events.null_label`
/// for null segments (with include_null). `extra` is merged into each conversion JSON (e.g.
/// {"import": {...}}).
[[nodiscard]] std::vector<capture::CaptureRecord> captures_from_segments(
    const LabelledStream& s, const std::vector<Segment>& segs, const Config& cfg,
    const DeviceConfig& dev, bool include_null, const nlohmann::json& extra, CutCounts& counts);

}  // namespace primus::dataio
