#include "src/training/dataset.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace primus::training {

LabelSpan labelled_span(const capture::CaptureRecord& r) {
  return labelled_span(r.conversion, r.n_samples());
}

LabelSpan labelled_span(const std::string& conversion, std::int64_t n) {
  const auto [first, count] = capture::label_span(conversion, n);
  return {first, count};
}

namespace {

/// The share of span g a window [s, s+length) holds: overlap / min(span, length).
double share(std::int64_t s, int length, LabelSpan g) {
  const std::int64_t overlap = std::min(s + length, g.first + g.count) - std::max(s, g.first);
  const std::int64_t whole = std::min<std::int64_t>(g.count, length);
  return whole > 0 && overlap > 0 ? static_cast<double>(overlap) / static_cast<double>(whole) : 0;
}

/// Whether the window [s, s+length) holds less than `max` of every span.
bool holds_less_of_each(std::int64_t s, int length, const std::vector<LabelSpan>& spans,
                        double max) {
  return std::none_of(spans.begin(), spans.end(),
                      [&](const LabelSpan& g) { return share(s, length, g) >= max; });
}

}  // namespace

std::vector<std::int64_t> window_starts(std::int64_t n, LabelSpan span, int length, int stride) {
  std::vector<std::int64_t> out;
  if (length < 1 || stride < 1 || n < length) return out;
  std::int64_t lo = 0;
  std::int64_t hi = n - length;  // inclusive bounds of admissible starts
  if (span.count < length) {
    // The window must contain [first, first+count): start <= first, start+length >= first+count.
    lo = std::max<std::int64_t>(lo, span.first + span.count - length);
    hi = std::min<std::int64_t>(hi, span.first);
  } else {
    lo = std::max<std::int64_t>(lo, span.first);
    hi = std::min<std::int64_t>(hi, span.first + span.count - length);
  }
  if (hi < lo) return out;
  for (std::int64_t s = lo; s <= hi; s += stride) out.push_back(s);
  if (out.back() != hi) out.push_back(hi);
  return out;
}

std::vector<std::int64_t> negative_starts(std::int64_t n, const std::vector<LabelSpan>& gestures,
                                          int length, int stride, double max_overlap) {
  std::vector<std::int64_t> out;
  if (length < 1 || stride < 1 || n < length) return out;
  for (std::int64_t s = 0; s + length <= n; s += stride)
    if (holds_less_of_each(s, length, gestures, max_overlap)) out.push_back(s);
  return out;
}

std::vector<std::int64_t> partial_starts(std::int64_t n, LabelSpan own,
                                         const std::vector<LabelSpan>& others, int length,
                                         int stride, double min_share, double max_other) {
  std::vector<std::int64_t> out;
  if (length < 1 || stride < 1 || n < length || !(min_share < 1)) return out;
  const auto whole = window_starts(n, own, length, stride);
  if (whole.empty()) return out;
  // The share falls monotonically as a window moves off the whole-gesture range [lo, hi]; the
  // band where it stays >= min_share is (1 - min_share) * min(span, length) samples wide on each
  // side, often narrower than the stride: step so that it holds about two windows.
  const auto band =
      (1 - min_share) * static_cast<double>(std::min<std::int64_t>(own.count, length));
  const auto step = std::clamp<std::int64_t>(static_cast<std::int64_t>(band / 2 + 1e-9), 1, stride);
  const auto keep = [&](std::int64_t s) {
    return holds_less_of_each(s, length, others, max_other);
  };
  for (std::int64_t s = whole.front() - step; s >= 0 && share(s, length, own) >= min_share;
       s -= step)
    if (keep(s)) out.push_back(s);
  std::reverse(out.begin(), out.end());
  for (std::int64_t s = whole.back() + step; s + length <= n && share(s, length, own) >= min_share;
       s += step)
    if (keep(s)) out.push_back(s);
  return out;
}

namespace {

/// A gesture capture's labelled span in host time, for the negatives rule.
struct HostSpan {
  std::int64_t from_ns = 0, to_ns = 0;  ///< [from, to)
  std::int64_t capture = 0;
  const std::string* label = nullptr;  ///< the capture's, which outlives this
};

/// Which recording a capture comes from: its device, and the imported file (live: "").
std::string recording_key(const capture::CaptureRecord& c) {
  std::string file;
  const auto j = nlohmann::json::parse(c.conversion, nullptr, false);
  if (j.is_object() && j.contains("import") && j["import"].is_object()) {
    const auto& f = j["import"].value("file", nlohmann::json());
    if (f.is_string()) file = f.get<std::string>();
  }
  return c.device + '\x1f' + file;
}

double period_ns(const capture::CaptureRecord& c) { return c.rate_hz > 0 ? 1e9 / c.rate_hz : 2e7; }

HostSpan host_span(const capture::CaptureRecord& c, LabelSpan span) {
  const double p = period_ns(c);
  const auto from = c.t_start_host_ns + std::llround(static_cast<double>(span.first) * p);
  return {from, from + std::llround(static_cast<double>(span.count) * p), c.id, &c.label};
}

/// The gesture spans of other captures of the capture's recording that reach within a window of
/// it, in its sample index.
class NearbySpans {
 public:
  NearbySpans(const std::vector<capture::CaptureRecord>& captures, const std::string& null_label) {
    for (const auto& c : captures) {
      if (c.label == null_label) continue;
      auto& g = groups_[recording_key(c)];
      g.spans.push_back(host_span(c, labelled_span(c)));
      g.longest = std::max(g.longest, g.spans.back().to_ns - g.spans.back().from_ns);
    }
    for (auto& [key, g] : groups_)
      std::sort(g.spans.begin(), g.spans.end(),
                [](const HostSpan& a, const HostSpan& b) { return a.from_ns < b.from_ns; });
  }

  [[nodiscard]] std::vector<NearbyGesture> of(const capture::CaptureRecord& c, int length) const {
    std::vector<NearbyGesture> out;
    const auto it = groups_.find(recording_key(c));
    if (it == groups_.end()) return out;
    const double p = period_ns(c);
    const auto reach = std::llround(static_cast<double>(length) * p);
    const std::int64_t lo = c.t_start_host_ns - reach, hi = c.t_end_host_ns + reach;
    const auto& spans = it->second.spans;
    auto first = std::lower_bound(spans.begin(), spans.end(), lo - it->second.longest,
                                  [](const HostSpan& s, std::int64_t t) { return s.from_ns < t; });
    for (auto s = first; s != spans.end() && s->from_ns < hi; ++s) {
      if (s->capture == c.id || s->to_ns <= lo) continue;
      const auto a = std::llround(static_cast<double>(s->from_ns - c.t_start_host_ns) / p);
      const auto b = std::llround(static_cast<double>(s->to_ns - c.t_start_host_ns) / p);
      out.push_back({*s->label, {a, std::max<std::int64_t>(1, b - a)}});
    }
    return out;
  }

 private:
  struct Group {
    std::vector<HostSpan> spans;
    std::int64_t longest = 0;
  };
  std::map<std::string, Group> groups_;
};

}  // namespace

void WindowSet::add(const std::vector<float>& data, std::int64_t n, std::int64_t start, int label,
                    std::int64_t capture) {
  const auto L = static_cast<std::size_t>(length);
  const std::size_t base = x.size();
  x.resize(base + 6 * L);
  for (std::size_t c = 0; c < 6; ++c) {
    const float* src = data.data() + c * static_cast<std::size_t>(n) + start;
    std::copy(src, src + L, x.begin() + static_cast<std::ptrdiff_t>(base + c * L));
  }
  y.push_back(label);
  capture_id.push_back(capture);
}

std::vector<std::int64_t> WindowSet::class_counts(std::size_t classes) const {
  std::vector<std::int64_t> c(classes, 0);
  for (int v : y)
    if (v >= 0 && static_cast<std::size_t>(v) < classes) ++c[static_cast<std::size_t>(v)];
  return c;
}

std::vector<std::string> Dataset::new_labels(const std::vector<std::string>& base) const {
  std::vector<std::string> out;
  for (const auto& l : labels)
    if (std::find(base.begin(), base.end(), l) == base.end()) out.push_back(l);
  return out;
}

std::vector<std::vector<NearbyGesture>> nearby_gestures(
    const std::vector<capture::CaptureRecord>& all, const std::vector<capture::CaptureRecord>& of,
    int length, const std::string& null_label) {
  const NearbySpans nearby(all, null_label);
  std::vector<std::vector<NearbyGesture>> out;
  out.reserve(of.size());
  for (const auto& c : of) out.push_back(nearby.of(c, length));
  return out;
}

DatasetOptions dataset_options(const Config& cfg) {
  DatasetOptions o;
  o.length = cfg.window.length;
  o.stride = cfg.training.stride;
  o.val_fraction = cfg.training.val_fraction;
  o.seed = cfg.training.seed;
  o.negatives = cfg.training.negatives;
  o.negative_overlap = cfg.training.negative_overlap;
  o.positive_overlap = cfg.training.positive_overlap;
  o.null_label = cfg.events.null_label;
  return o;
}

Dataset build_dataset(const std::vector<capture::CaptureRecord>& captures,
                      const std::vector<std::string>& base_labels, const DatasetOptions& opt,
                      const std::function<bool(std::int64_t)>& is_val) {
  if (opt.length < 1)
    throw std::invalid_argument("dataset: length " + std::to_string(opt.length) + " must be >= 1");
  if (opt.stride < 1)
    throw std::invalid_argument("dataset: stride " + std::to_string(opt.stride) + " must be >= 1");
  if (!(opt.val_fraction >= 0 && opt.val_fraction < 1))
    throw std::invalid_argument("dataset: val_fraction must be in [0, 1)");
  if (!(opt.negative_overlap > 0 && opt.negative_overlap < 1))
    throw std::invalid_argument("dataset: negative_overlap must be in (0, 1)");
  if (!(opt.positive_overlap > opt.negative_overlap && opt.positive_overlap <= 1))
    throw std::invalid_argument("dataset: positive_overlap must be in (negative_overlap, 1]");
  Dataset d;
  d.labels = base_labels;
  d.train.length = d.val.length = opt.length;

  // Each capture's labelled span (parsed from its JSON) and whole-gesture windows, once.
  std::vector<LabelSpan> spans;
  std::vector<std::vector<std::int64_t>> starts;
  spans.reserve(captures.size());
  starts.reserve(captures.size());
  for (const auto& c : captures) {
    spans.push_back(labelled_span(c));
    starts.push_back(window_starts(c.n_samples(), spans.back(), opt.length, opt.stride));
  }

  // The context windows first: negatives may bring the null class in.
  std::vector<std::vector<std::int64_t>> negatives(captures.size()), partials(captures.size());
  if (opt.negatives || opt.positive_overlap < 1) {
    const NearbySpans nearby(captures, opt.null_label);
    for (std::size_t i = 0; i < captures.size(); ++i) {
      const auto& c = captures[i];
      if (c.label == opt.null_label || starts[i].empty()) continue;
      const auto own = spans[i];
      std::vector<LabelSpan> others;
      for (const auto& g : nearby.of(c, opt.length)) others.push_back(g.span);
      partials[i] = partial_starts(c.n_samples(), own, others, opt.length, opt.stride,
                                   opt.positive_overlap, opt.negative_overlap);
      if (!opt.negatives) continue;
      others.push_back(own);
      negatives[i] =
          negative_starts(c.n_samples(), others, opt.length, opt.stride, opt.negative_overlap);
    }
  }
  const bool any_negative =
      std::any_of(negatives.begin(), negatives.end(), [](const auto& v) { return !v.empty(); });
  std::set<std::string> extra;
  for (const auto& c : captures)
    if (std::find(base_labels.begin(), base_labels.end(), c.label) == base_labels.end())
      extra.insert(c.label);
  if (any_negative &&
      std::find(base_labels.begin(), base_labels.end(), opt.null_label) == base_labels.end())
    extra.insert(opt.null_label);
  d.labels.insert(d.labels.end(), extra.begin(), extra.end());
  const int null_cls = static_cast<int>(
      std::find(d.labels.begin(), d.labels.end(), opt.null_label) - d.labels.begin());

  // Group usable captures by label, in id order, then decide the split per label.
  std::map<std::string, std::vector<std::size_t>> by_label;
  for (std::size_t i = 0; i < captures.size(); ++i) {
    const auto& c = captures[i];
    d.max_capture_id = std::max(d.max_capture_id, c.id);
    if (starts[i].empty()) {
      ++d.too_short;
      continue;
    }
    by_label[c.label].push_back(i);
  }
  std::mt19937_64 rng(opt.seed);
  std::set<std::size_t> val_set;
  for (auto& [label, idx] : by_label) {
    std::sort(idx.begin(), idx.end(),
              [&](std::size_t a, std::size_t b) { return captures[a].id < captures[b].id; });
    if (is_val) {
      for (auto i : idx)
        if (is_val(captures[i].id)) val_set.insert(i);
      continue;
    }
    if (idx.size() < 2) continue;
    auto order = idx;
    std::shuffle(order.begin(), order.end(), rng);
    auto k =
        static_cast<std::size_t>(std::llround(opt.val_fraction * static_cast<double>(idx.size())));
    k = std::clamp<std::size_t>(k, opt.val_fraction > 0 ? 1 : 0, idx.size() - 1);
    for (std::size_t j = 0; j < k; ++j) val_set.insert(order[j]);
  }
  for (const auto& [label, idx] : by_label) {
    const int cls =
        static_cast<int>(std::find(d.labels.begin(), d.labels.end(), label) - d.labels.begin());
    auto& counts = d.counts[label];
    for (auto i : idx) {
      const auto& c = captures[i];
      const bool val = val_set.count(i) > 0;
      auto& set = val ? d.val : d.train;
      for (auto s : starts[i]) set.add(c.data, c.n_samples(), s, cls, c.id);
      for (auto s : partials[i]) set.add(c.data, c.n_samples(), s, cls, c.id);
      for (auto s : negatives[i]) set.add(c.data, c.n_samples(), s, null_cls, c.id);
      (val ? d.val_negatives : d.train_negatives) += static_cast<std::int64_t>(negatives[i].size());
      (val ? d.val_partials : d.train_partials) += static_cast<std::int64_t>(partials[i].size());
      (val ? counts.val_captures : counts.train_captures) += 1;
      (val ? counts.val_windows : counts.train_windows) +=
          static_cast<std::int64_t>(starts[i].size() + partials[i].size());
    }
  }
  return d;
}

}  // namespace primus::training
