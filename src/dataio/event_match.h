#pragma once
// Event-level scoring: gesture events against labelled segments (docs/training.md "Evaluate").
//
// Matching rule. An event matches a segment when their labels agree and the event's onset lies
// inside the segment widened by `tolerance_s` on both sides: start - tol <= onset <= end + tol
// (+ the segment's late_ns, when the first window able to announce it ends after it).
// Events are taken in onset order; an event that matches several segments goes to the one whose
// (unwidened) span is nearest its onset (0 inside), the earlier on a tie.
//   - the first event matching a segment detects it (a true positive);
//   - a later event matching an already detected segment is a *fragment* (one gesture reported as
//     several events): not a false event, counted apart;
//   - an event matching no segment is a *false event*: "wrong label" when its onset lies inside a
//     segment of another label, "in null" otherwise.
// A segment may be *unscored* (TruthSegment::scored = false): a gesture that is really there but
// that this scoring does not ask for, e.g. a neighbouring gesture in the context of a validation
// capture, which that gesture's own capture scores. It is matched like the others; an event it
// takes is *ignored* (neither detection nor false event, counted apart), and it does not count
// as a segment, but its time is not null and an event of another label inside it is "wrong
// label".
// precision = detected / (detected + false events); recall = detected / segments;
// F1 = 2PR / (P + R) (0 when both are 0). Per class the same with that class's segments and
// events. Null time = the recording's duration minus the union of the segments; false events in
// null per hour of it. Latency: for each detected segment, the time of the first message about
// the detecting event (the start message when there is one) minus the segment's start, and minus
// its end.
//
// Threads: pure functions; any thread.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace primus::dataio {

struct TruthSegment {
  std::string label;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;  ///< >= start_ns
  bool scored = true;       ///< false: matched, but neither asked for nor counted (see above)
  /// An event may also match up to this long after end + tolerance: the first window able to
  /// announce the gesture ends this long after it (a neighbour that a capture's first windows see
  /// whole, up to a window after it; a gesture that ends before its stream's first window is
  /// complete). >= 0; 0 for the rest.
  std::int64_t late_ns = 0;
};

struct ScoredEvent {
  std::string label;
  std::int64_t onset_ns = 0;
  std::int64_t offset_ns = 0;
  std::int64_t first_message_ns = 0;  ///< when the first message about it was published
};

struct MatchOptions {
  double tolerance_s = 1.0;  ///< >= 0
};

enum class EventOutcome { kDetected, kFragment, kWrongLabel, kInNull, kIgnored };
[[nodiscard]] const char* to_string(EventOutcome o) noexcept;

struct LatencyStats {
  std::int64_t n = 0;
  double p50_s = 0, p95_s = 0, max_s = 0;  ///< 0 when n = 0
};

struct ClassEventStats {
  std::int64_t segments = 0;
  std::int64_t detected = 0;
  std::int64_t false_events = 0;  ///< events of this label that matched nothing
  std::int64_t fragments = 0;
  double precision = 0, recall = 0, f1 = 0;
  LatencyStats from_end;              ///< of this class's detections (see EventReport)
  std::vector<double> latency_end_s;  ///< per detected segment of this class
};

struct EventReport {
  std::int64_t segments = 0;  ///< scored ones
  std::int64_t events = 0;
  std::int64_t ignored = 0;  ///< events taken by an unscored segment
  std::int64_t detected = 0;
  std::int64_t fragments = 0;
  std::int64_t false_events = 0;  ///< wrong_label + in_null
  std::int64_t wrong_label = 0;
  std::int64_t in_null = 0;
  double precision = 0, recall = 0, f1 = 0;
  double null_hours = 0;
  double false_per_hour_null = 0;  ///< in_null / null_hours (0 when there is no null time)
  double fragment_fraction = 0;    ///< fragments / segments
  LatencyStats from_start, from_end;
  std::map<std::string, ClassEventStats> per_class;    ///< labels of segments and of events
  std::vector<EventOutcome> outcomes;                  ///< per event, in the order given
  std::vector<int> matched_segment;                    ///< per event: segment index or -1
  std::vector<double> latency_start_s, latency_end_s;  ///< per detected segment
  std::int64_t null_ns = 0;
};

/// Scores `events` against `segments` over a recording of `duration_ns` (for null time).
/// Throws std::invalid_argument for a negative tolerance or a segment ending before it starts.
[[nodiscard]] EventReport match_events(const std::vector<TruthSegment>& segments,
                                       const std::vector<ScoredEvent>& events,
                                       std::int64_t duration_ns, const MatchOptions& opt = {});

/// Combines reports of separate recordings (counts summed, rates and latencies recomputed from
/// the pooled values; outcomes concatenated).
[[nodiscard]] EventReport merge_reports(const std::vector<EventReport>& parts);

[[nodiscard]] nlohmann::json to_json(const EventReport& r);

}  // namespace primus::dataio
