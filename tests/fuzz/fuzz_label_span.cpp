// libFuzzer target: the labelled span of a capture's conversion JSON and the training windows cut
// around it (src/training/dataset.h), built from the torch-free dataset sources.
// Input: 8 bytes n (little-endian int64, clamped to 0..100000 samples), 2 bytes window length and
// 2 bytes stride (each 1..300), the rest the conversion text. Checks:
//   - the span lies in [0, n], is non-empty when n > 0, and is the whole capture unless the text
//     is an object with integer "label_first" and "label_count" (then it is those, clamped);
//   - every window start s has 0 <= s <= n - length, starts increase, and each window contains the
//     span (span shorter than a window) or lies inside it (otherwise);
//   - the starts are exactly: the first admissible start, then every stride, then the last
//     admissible start; none exactly when no start is admissible, i.e. when n < length (found by
//     brute force for small captures, from the interval's ends for large ones);
//   - small captures: negatives hold less than half of the span, and the partial positives are
//     exactly the windows stepping out of the admissible ones while they hold 3/4 of it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/training/dataset.h"

namespace {

// Aborts (a crash for libFuzzer) naming the broken check.
#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace primus::training;
  if (size < 12) return 0;
  std::uint64_t raw = 0;
  for (int i = 7; i >= 0; --i) raw = (raw << 8) | data[i];
  const std::int64_t n = std::clamp<std::int64_t>(static_cast<std::int64_t>(raw), 0, 100000);
  const int length = 1 + u16(data + 8) % 300;
  const int stride = 1 + u16(data + 10) % 300;
  const std::string conversion(reinterpret_cast<const char*>(data + 12), size - 12);

  const LabelSpan span = labelled_span(conversion, n);
  CHECK(span.first >= 0 && span.count >= 0 && span.first + span.count <= n);
  CHECK(n == 0 || span.count >= 1);

  // The span from an independent reading of the text (values beyond int64 are left out: the
  // function reads them through int64).
  const auto j = nlohmann::json::parse(conversion, nullptr, /*allow_exceptions=*/false);
  LabelSpan expect{0, n};
  if (j.is_object() && j.contains("label_first") && j.contains("label_count")) {
    const auto& f = j["label_first"];
    const auto& c = j["label_count"];
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    const auto fits = [&](const nlohmann::json& v) {
      return v.is_number_integer() && (!v.is_number_unsigned() || v.get<std::uint64_t>() <= kMax);
    };
    if (fits(f) && fits(c)) {
      const auto first = std::clamp<std::int64_t>(f.get<std::int64_t>(), 0, n);
      const auto count = std::clamp<std::int64_t>(c.get<std::int64_t>(), 0, n - first);
      if (count > 0) expect = {first, count};
    } else if (f.is_number_integer() && c.is_number_integer()) {
      expect = span;  // out of int64: not checked
    }
  }
  CHECK(span.first == expect.first && span.count == expect.count);

  const auto starts = window_starts(n, span, length, stride);
  const bool contain = span.count < length;
  const auto admissible = [&](std::int64_t s) {
    return contain ? s <= span.first && s + length >= span.first + span.count
                   : s >= span.first && s + length <= span.first + span.count;
  };
  // The admissible starts form one interval (both rules bound s from below and above). Small
  // captures: find it by brute force. Large ones (brute force would dominate the run time): the
  // ends of the result must be admissible with inadmissible (or impossible) neighbours, and a
  // capture at least a window long always has an admissible start (the span lies inside it).
  std::int64_t lo = -1, hi = -1;
  if (n <= 4096 || starts.empty()) {
    for (std::int64_t s = 0; s + length <= n; ++s) {
      if (!admissible(s)) continue;
      if (lo < 0) lo = s;
      hi = s;
    }
  } else {
    lo = starts.front();
    hi = starts.back();
    CHECK(lo == 0 || !admissible(lo - 1));
    CHECK(hi == n - length || !admissible(hi + 1));
  }
  if (lo < 0) {
    CHECK(starts.empty());
    CHECK(n < length);
    return 0;
  }
  CHECK(!starts.empty());
  CHECK(starts.front() == lo && starts.back() == hi);
  // lo, lo + stride, ... below hi, then hi: all inside [lo, hi], hence admissible (checked in
  // full for the ends only, to keep runs with 10^5 starts fast).
  const std::size_t last = starts.size() - 1;
  for (std::size_t i = 0; i < last; ++i) {
    if (starts[i] != lo + static_cast<std::int64_t>(i) * stride) CHECK(!"starts not every stride");
  }
  CHECK(last == 0 || (starts[last - 1] < hi && hi - starts[last - 1] <= stride));
  for (const std::int64_t s : {lo, hi}) CHECK(s >= 0 && s <= n - length && admissible(s));

  // Negatives (small captures only): on the stride grid, inside the capture, never a window that
  // holds the whole span (every positive does), each holding less than half of the span.
  if (n <= 2000) {
    const auto neg = negative_starts(n, {span}, length, stride, 0.5);
    for (const std::int64_t s : neg) {
      CHECK(s >= 0 && s <= n - length && s % stride == 0);
      const std::int64_t overlap =
          std::min(s + length, span.first + span.count) - std::max(s, span.first);
      CHECK(2 * overlap < std::min<std::int64_t>(span.count, length));
      CHECK(!admissible(s));
    }
    // Partial positives at 0.75: exactly the windows stepping out of [lo, hi] by
    // clamp(min(span, length) / 8, 1, stride) while they hold at least 3/4 of the span (integer
    // arithmetic, independent of the function's doubles), inside the capture, none a negative.
    const auto part = partial_starts(n, span, {}, length, stride, 0.75, 0.5);
    const std::int64_t whole = std::min<std::int64_t>(span.count, length);
    const std::int64_t step = std::clamp<std::int64_t>(whole / 8, 1, stride);
    const auto holds = [&](std::int64_t s) {
      const std::int64_t overlap =
          std::min(s + length, span.first + span.count) - std::max(s, span.first);
      return 4 * overlap >= 3 * whole;
    };
    std::vector<std::int64_t> expect_part;
    for (std::int64_t s = lo - step; s >= 0 && holds(s); s -= step)
      expect_part.insert(expect_part.begin(), s);
    for (std::int64_t s = hi + step; s + length <= n && holds(s); s += step)
      expect_part.push_back(s);
    CHECK(part == expect_part);
    for (const std::int64_t s : part)
      CHECK(std::find(neg.begin(), neg.end(), s) == neg.end() && !admissible(s));
  }

  // The CaptureRecord overload reads the same (small captures only: it needs the samples).
  if (n <= 2000) {
    primus::capture::CaptureRecord r;
    r.conversion = conversion;
    r.data.assign(static_cast<std::size_t>(n) * primus::capture::kCaptureChannels, 0.0F);
    const LabelSpan s2 = labelled_span(r);
    CHECK(s2.first == span.first && s2.count == span.count);
  }
  return 0;
}
