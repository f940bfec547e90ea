#pragma once
// Training windows cut from labelled captures, split into train/validation BY CAPTURE.
//
// A capture may hold context around the labelled span: the daemon stores, for a gesture shorter
// than a window, enough samples on both sides that every window containing the whole gesture can
// be cut (docs/training.md). Where the label lies inside the capture is recorded in the capture's
// `conversion` JSON as {"label_first": i, "label_count": n}; captures without it are labelled
// throughout.
//
// Which windows a capture gives (window_starts): windows of `length` samples every `stride`
// samples, inside the capture, that
//   - contain the whole labelled span when the span is shorter than a window, or
//   - lie inside the labelled span when it is at least a window long.
// The last admissible start is always included, so a capture gives at least one window when any
// fits. Captures shorter than `length` give none (reported as too short).
//
// Negatives (DatasetOptions::negatives): a capture of a gesture holds a window of context on each
// side (capture::context_seconds), where the live model sees windows that hold only part of the
// gesture, or the end of one gesture and the start of the next: that is where stray events come
// from. Windows of such a capture (every `stride` samples, inside the capture) become windows of
// the null class when, for every gesture span they touch, they hold less than `negative_overlap`
// of it; a span's share is overlap / min(span, length) (of the gesture when it is shorter than a
// window, of the window otherwise). The spans considered are the capture's own and those of
// every other gesture capture of the same device and recording (the same "import.file" in the
// conversion JSON, or the live daemon's host clock) that comes near it in host time: the
// unlabelled time between two labels is null, a window holding the whole or most of another
// gesture is not. Null captures give no negatives (their windows are null already).
//
// Partial positives (DatasetOptions::positive_overlap < 1): windows of a gesture capture just
// beyond the whole-gesture ones (on a finer step than `stride`, so that the narrow band gives
// about two on each side), holding at least `positive_overlap` of the capture's own span (the
// same share) but not all of it, and less than `negative_overlap` of every other nearby span, train
// as the capture's label: the live model sees a gesture first as a window holding most of it,
// and calling that window the gesture moves the onset forward. Windows between the two rules
// (more than negative_overlap but less than positive_overlap of a gesture) are left out.
//
// Split: per label, the captures are shuffled with the seed and round(val_fraction * n) of them
// (at least 1 when n >= 2, none when n == 1) go to validation. Overlapping windows of one capture
// therefore never sit on both sides.
//
// Threads: pure functions and plain values; any thread.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "src/capture/capture_record.h"
#include "src/config/config.h"

namespace primus::training {

/// The labelled part of a capture, in samples.
struct LabelSpan {
  std::int64_t first = 0;
  std::int64_t count = 0;
};

/// {"label_first","label_count"} from r.conversion, clamped to the capture; the whole capture
/// when absent or unreadable.
[[nodiscard]] LabelSpan labelled_span(const capture::CaptureRecord& r);
/// The same from a capture's conversion JSON text and sample count.
[[nodiscard]] LabelSpan labelled_span(const std::string& conversion, std::int64_t n);

/// Start samples of the windows a capture of n samples gives (see above). Empty if n < length.
[[nodiscard]] std::vector<std::int64_t> window_starts(std::int64_t n, LabelSpan span, int length,
                                                      int stride);

/// Start samples of the negative windows (rule above) of a capture of n samples, given every
/// gesture span near it in the capture's sample index (a span may lie partly or wholly outside
/// the capture). Empty if n < length.
[[nodiscard]] std::vector<std::int64_t> negative_starts(std::int64_t n,
                                                        const std::vector<LabelSpan>& gestures,
                                                        int length, int stride, double max_overlap);

/// Start samples of the partial positives (rule above) of a capture of n samples with its own
/// span `own` and the other gesture spans near it: stepping outwards from both ends of
/// window_starts' range, every min(stride, (1 - min_share) * min(span, length) / 2) samples (at
/// least 1) while a window holds at least `min_share` of `own`, those holding less than
/// `max_other` of every other span; ascending. Empty if min_share >= 1 or n < length.
[[nodiscard]] std::vector<std::int64_t> partial_starts(std::int64_t n, LabelSpan own,
                                                       const std::vector<LabelSpan>& others,
                                                       int length, int stride, double min_share,
                                                       double max_other);

/// A gesture span of another capture near a capture, in that capture's sample index (it may lie
/// partly or wholly outside it).
struct NearbyGesture {
  std::string label;
  LabelSpan span;
};

/// For each capture of `of`: the labelled spans of the other gesture captures of `all` from the
/// same device and recording that come within `length` samples of it (the negatives rule above;
/// a capture is "other" by id). The neighbours a validation replay must not call null.
[[nodiscard]] std::vector<std::vector<NearbyGesture>> nearby_gestures(
    const std::vector<capture::CaptureRecord>& all, const std::vector<capture::CaptureRecord>& of,
    int length, const std::string& null_label);

/// Windows as one contiguous buffer: window i is x[i*6*length .. (i+1)*6*length), channel-major
/// ([6, length], the model's input layout), with class y[i] from capture capture_id[i].
struct WindowSet {
  int length = 0;
  std::vector<float> x;
  std::vector<int> y;
  std::vector<std::int64_t> capture_id;

  [[nodiscard]] std::size_t size() const noexcept { return y.size(); }
  [[nodiscard]] const float* window(std::size_t i) const {
    return x.data() + i * 6 * static_cast<std::size_t>(length);
  }
  /// Appends samples [start, start+length) of a channel-major capture of n samples.
  void add(const std::vector<float>& data, std::int64_t n, std::int64_t start, int label,
           std::int64_t capture);
  /// Windows per class index (size = classes).
  [[nodiscard]] std::vector<std::int64_t> class_counts(std::size_t classes) const;
};

struct DatasetOptions {
  int length = 250;  ///< window length (the inference window), >= 1
  int stride = 25;   ///< samples between windows, >= 1
  double val_fraction = 0.25;
  std::uint64_t seed = 1;
  bool negatives = true;          ///< cut negatives from the context (rule above)
  double negative_overlap = 0.5;  ///< (0, 1)
  double positive_overlap = 1.0;  ///< (negative_overlap, 1]; 1: no partial positives
  std::string null_label = "null";
};

/// The daemon's options: window.length, training.stride/val_fraction/seed/negatives/
/// negative_overlap/positive_overlap, events.null_label.
[[nodiscard]] DatasetOptions dataset_options(const Config& cfg);

/// Per label: what went where.
struct LabelCounts {
  std::int64_t train_captures = 0, val_captures = 0;
  std::int64_t train_windows = 0, val_windows = 0;
};

struct Dataset {
  /// Class order: the base labels first (as given), then labels first seen in the captures,
  /// sorted. A label never seen before thus grows the head; existing classes keep their index.
  std::vector<std::string> labels;
  WindowSet train, val;
  std::map<std::string, LabelCounts> counts;
  std::int64_t too_short = 0;                           ///< captures shorter than one window
  std::int64_t max_capture_id = 0;                      ///< newest capture used
  std::int64_t train_negatives = 0, val_negatives = 0;  ///< null windows from gesture context
  std::int64_t train_partials = 0, val_partials = 0;    ///< positives holding part of a gesture
  [[nodiscard]] std::vector<std::string> new_labels(const std::vector<std::string>& base) const;
};

/// Cuts and splits. `is_val`, when given, decides the split instead of the seeded shuffle
/// (cross-validation). Throws std::invalid_argument for bad options.
[[nodiscard]] Dataset build_dataset(const std::vector<capture::CaptureRecord>& captures,
                                    const std::vector<std::string>& base_labels,
                                    const DatasetOptions& opt,
                                    const std::function<bool(std::int64_t)>& is_val = {});

}  // namespace primus::training
