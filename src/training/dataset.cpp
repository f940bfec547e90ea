#include "src/training/dataset.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <stdexcept>

namespace primus::training {

LabelSpan labelled_span(const capture::CaptureRecord& r) {
  return labelled_span(r.conversion, r.n_samples());
}

LabelSpan labelled_span(const std::string& conversion, std::int64_t n) {
  const auto [first, count] = capture::label_span(conversion, n);
  return {first, count};
}

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

Dataset build_dataset(const std::vector<capture::CaptureRecord>& captures,
                      const std::vector<std::string>& base_labels, const DatasetOptions& opt,
                      const std::function<bool(std::int64_t)>& is_val) {
  if (opt.length < 1)
    throw std::invalid_argument("dataset: length " + std::to_string(opt.length) + " must be >= 1");
  if (opt.stride < 1)
    throw std::invalid_argument("dataset: stride " + std::to_string(opt.stride) + " must be >= 1");
  if (!(opt.val_fraction >= 0 && opt.val_fraction < 1))
    throw std::invalid_argument("dataset: val_fraction must be in [0, 1)");
  Dataset d;
  d.labels = base_labels;
  d.train.length = d.val.length = opt.length;
  std::set<std::string> extra;
  for (const auto& c : captures)
    if (std::find(base_labels.begin(), base_labels.end(), c.label) == base_labels.end())
      extra.insert(c.label);
  d.labels.insert(d.labels.end(), extra.begin(), extra.end());

  // Group usable captures by label, in id order, then decide the split per label.
  std::map<std::string, std::vector<std::size_t>> by_label;
  for (std::size_t i = 0; i < captures.size(); ++i) {
    const auto& c = captures[i];
    d.max_capture_id = std::max(d.max_capture_id, c.id);
    if (window_starts(c.n_samples(), labelled_span(c), opt.length, opt.stride).empty()) {
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
      const auto starts = window_starts(c.n_samples(), labelled_span(c), opt.length, opt.stride);
      for (auto s : starts) set.add(c.data, c.n_samples(), s, cls, c.id);
      (val ? counts.val_captures : counts.train_captures) += 1;
      (val ? counts.val_windows : counts.train_windows) += static_cast<std::int64_t>(starts.size());
    }
  }
  return d;
}

}  // namespace primus::training
