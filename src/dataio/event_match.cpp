#include "src/dataio/event_match.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace primus::dataio {
namespace {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

LatencyStats latency(const std::vector<double>& v) {
  LatencyStats s;
  s.n = static_cast<std::int64_t>(v.size());
  if (v.empty()) return s;
  s.p50_s = quantile(v, 0.5);
  s.p95_s = quantile(v, 0.95);
  s.max_s = *std::max_element(v.begin(), v.end());
  return s;
}

void prf(std::int64_t detected, std::int64_t false_events, std::int64_t segments, double& p,
         double& r, double& f1) {
  p = detected + false_events > 0
          ? static_cast<double>(detected) / static_cast<double>(detected + false_events)
          : 0;
  r = segments > 0 ? static_cast<double>(detected) / static_cast<double>(segments) : 0;
  f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
}

void finish(EventReport& r) {
  prf(r.detected, r.false_events, r.segments, r.precision, r.recall, r.f1);
  for (auto& [label, c] : r.per_class) {
    prf(c.detected, c.false_events, c.segments, c.precision, c.recall, c.f1);
    c.from_end = latency(c.latency_end_s);
  }
  r.null_hours = static_cast<double>(r.null_ns) / 3.6e12;
  r.false_per_hour_null = r.null_hours > 0 ? static_cast<double>(r.in_null) / r.null_hours : 0;
  r.fragment_fraction =
      r.segments > 0 ? static_cast<double>(r.fragments) / static_cast<double>(r.segments) : 0;
  r.from_start = latency(r.latency_start_s);
  r.from_end = latency(r.latency_end_s);
}

}  // namespace

const char* to_string(EventOutcome o) noexcept {
  switch (o) {
    case EventOutcome::kDetected:
      return "detected";
    case EventOutcome::kFragment:
      return "fragment";
    case EventOutcome::kWrongLabel:
      return "wrong_label";
    case EventOutcome::kInNull:
      return "in_null";
    case EventOutcome::kIgnored:
      return "ignored";
  }
  return "?";
}

EventReport match_events(const std::vector<TruthSegment>& segments,
                         const std::vector<ScoredEvent>& events, std::int64_t duration_ns,
                         const MatchOptions& opt) {
  if (!(opt.tolerance_s >= 0)) throw std::invalid_argument("tolerance_s must be >= 0");
  for (std::size_t i = 0; i < segments.size(); ++i)
    if (segments[i].end_ns < segments[i].start_ns)
      throw std::invalid_argument("segment " + std::to_string(i) + " ends before it starts");
  const auto tol = static_cast<std::int64_t>(std::llround(opt.tolerance_s * 1e9));
  EventReport r;
  r.events = static_cast<std::int64_t>(events.size());
  for (const auto& s : segments)
    if (s.scored) ++r.segments, ++r.per_class[s.label].segments;

  // Null time: duration minus the union of the segments.
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  spans.reserve(segments.size());
  for (const auto& s : segments) spans.emplace_back(s.start_ns, s.end_ns);
  std::sort(spans.begin(), spans.end());
  std::int64_t covered = 0, cur_a = 0, cur_b = -1;
  bool open = false;
  for (const auto& [a, b] : spans) {
    if (!open || a > cur_b) {
      if (open) covered += cur_b - cur_a;
      cur_a = a, cur_b = b, open = true;
    } else {
      cur_b = std::max(cur_b, b);
    }
  }
  if (open) covered += cur_b - cur_a;
  r.null_ns = std::max<std::int64_t>(0, duration_ns - covered);

  std::vector<std::size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return events[a].onset_ns < events[b].onset_ns;
  });
  r.outcomes.assign(events.size(), EventOutcome::kInNull);
  r.matched_segment.assign(events.size(), -1);
  std::vector<bool> detected(segments.size(), false);
  for (const std::size_t ei : order) {
    const auto& e = events[ei];
    int best = -1;
    std::int64_t best_dist = 0;
    bool inside_other = false;
    for (std::size_t si = 0; si < segments.size(); ++si) {
      const auto& s = segments[si];
      const bool inside = e.onset_ns >= s.start_ns && e.onset_ns <= s.end_ns;
      if (s.label != e.label) {
        inside_other = inside_other || inside;
        continue;
      }
      const std::int64_t late = std::max<std::int64_t>(0, s.late_ns);
      if (e.onset_ns < s.start_ns - tol || e.onset_ns > s.end_ns + tol + late) continue;
      const std::int64_t dist = inside                    ? 0
                                : e.onset_ns < s.start_ns ? s.start_ns - e.onset_ns
                                                          : e.onset_ns - s.end_ns;
      if (best < 0 || dist < best_dist) best = static_cast<int>(si), best_dist = dist;
    }
    if (best >= 0 && !segments[static_cast<std::size_t>(best)].scored) {
      r.matched_segment[ei] = best;
      r.outcomes[ei] = EventOutcome::kIgnored;
      ++r.ignored;
      continue;
    }
    auto& cls = r.per_class[e.label];
    if (best >= 0) {
      r.matched_segment[ei] = best;
      const auto& s = segments[static_cast<std::size_t>(best)];
      if (!detected[static_cast<std::size_t>(best)]) {
        detected[static_cast<std::size_t>(best)] = true;
        r.outcomes[ei] = EventOutcome::kDetected;
        ++r.detected;
        ++cls.detected;
        r.latency_start_s.push_back(static_cast<double>(e.first_message_ns - s.start_ns) / 1e9);
        r.latency_end_s.push_back(static_cast<double>(e.first_message_ns - s.end_ns) / 1e9);
        cls.latency_end_s.push_back(r.latency_end_s.back());
      } else {
        r.outcomes[ei] = EventOutcome::kFragment;
        ++r.fragments;
        ++cls.fragments;
      }
    } else {
      r.outcomes[ei] = inside_other ? EventOutcome::kWrongLabel : EventOutcome::kInNull;
      ++(inside_other ? r.wrong_label : r.in_null);
      ++r.false_events;
      ++cls.false_events;
    }
  }
  finish(r);
  return r;
}

EventReport merge_reports(const std::vector<EventReport>& parts) {
  EventReport r;
  for (const auto& p : parts) {
    r.segments += p.segments;
    r.events += p.events;
    r.ignored += p.ignored;
    r.detected += p.detected;
    r.fragments += p.fragments;
    r.false_events += p.false_events;
    r.wrong_label += p.wrong_label;
    r.in_null += p.in_null;
    r.null_ns += p.null_ns;
    for (const auto& [label, c] : p.per_class) {
      auto& m = r.per_class[label];
      m.segments += c.segments;
      m.detected += c.detected;
      m.false_events += c.false_events;
      m.fragments += c.fragments;
      m.latency_end_s.insert(m.latency_end_s.end(), c.latency_end_s.begin(), c.latency_end_s.end());
    }
    r.outcomes.insert(r.outcomes.end(), p.outcomes.begin(), p.outcomes.end());
    r.matched_segment.insert(r.matched_segment.end(), p.matched_segment.begin(),
                             p.matched_segment.end());
    r.latency_start_s.insert(r.latency_start_s.end(), p.latency_start_s.begin(),
                             p.latency_start_s.end());
    r.latency_end_s.insert(r.latency_end_s.end(), p.latency_end_s.begin(), p.latency_end_s.end());
  }
  finish(r);
  return r;
}

nlohmann::json to_json(const EventReport& r) {
  auto lat = [](const LatencyStats& l) {
    return nlohmann::json{{"n", l.n}, {"p50_s", l.p50_s}, {"p95_s", l.p95_s}, {"max_s", l.max_s}};
  };
  nlohmann::json per = nlohmann::json::object();
  for (const auto& [label, c] : r.per_class)
    per[label] = {{"segments", c.segments},
                  {"detected", c.detected},
                  {"false_events", c.false_events},
                  {"fragments", c.fragments},
                  {"precision", c.precision},
                  {"recall", c.recall},
                  {"f1", c.f1}};
  return {{"segments", r.segments},
          {"events", r.events},
          {"detected", r.detected},
          {"fragments", r.fragments},
          {"false_events", r.false_events},
          {"wrong_label", r.wrong_label},
          {"in_null", r.in_null},
          {"ignored", r.ignored},
          {"precision", r.precision},
          {"recall", r.recall},
          {"f1", r.f1},
          {"null_hours", r.null_hours},
          {"false_per_hour_null", r.false_per_hour_null},
          {"fragment_fraction", r.fragment_fraction},
          {"latency_from_start", lat(r.from_start)},
          {"latency_from_end", lat(r.from_end)},
          {"per_class", per}};
}

}  // namespace primus::dataio
