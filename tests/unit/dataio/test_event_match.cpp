// The event matching rule (src/dataio/event_match.h), from tables of segments and events.
#include <gtest/gtest.h>

#include "src/dataio/event_match.h"

using namespace primus::dataio;

namespace {

constexpr std::int64_t kS = 1'000'000'000;  // 1 s in ns

TruthSegment seg(const char* label, double a, double b) {
  return {label, static_cast<std::int64_t>(a * kS), static_cast<std::int64_t>(b * kS)};
}
/// An event whose first message comes `delay` s after its onset.
ScoredEvent ev(const char* label, double onset, double offset, double delay = 0.0) {
  return {label, static_cast<std::int64_t>(onset * kS), static_cast<std::int64_t>(offset * kS),
          static_cast<std::int64_t>((onset + delay) * kS)};
}

struct Case {
  const char* name;
  std::vector<TruthSegment> segments;
  std::vector<ScoredEvent> events;
  double tolerance_s;
  std::vector<EventOutcome> outcomes;  // per event, in the order given
  std::int64_t detected, fragments, wrong_label, in_null;
};

using O = EventOutcome;

const Case kCases[] = {
    {"one event inside its segment",
     {seg("wave", 10, 12)},
     {ev("wave", 11, 12)},
     1.0,
     {O::kDetected},
     1,
     0,
     0,
     0},
    {"onset within the tolerance before the start",
     {seg("wave", 10, 12)},
     {ev("wave", 9.2, 12)},
     1.0,
     {O::kDetected},
     1,
     0,
     0,
     0},
    {"onset within the tolerance after the end",
     {seg("wave", 10, 12)},
     {ev("wave", 12.9, 13)},
     1.0,
     {O::kDetected},
     1,
     0,
     0,
     0},
    {"onset beyond the tolerance is a false event in null",
     {seg("wave", 10, 12)},
     {ev("wave", 13.5, 14)},
     1.0,
     {O::kInNull},
     0,
     0,
     0,
     1},
    {"tolerance 0: exactly at the end still matches",
     {seg("wave", 10, 12)},
     {ev("wave", 12, 12.5)},
     0.0,
     {O::kDetected},
     1,
     0,
     0,
     0},
    {"a second event on the same segment is a fragment",
     {seg("wave", 10, 20)},
     {ev("wave", 11, 14), ev("wave", 15, 19)},
     1.0,
     {O::kDetected, O::kFragment},
     1,
     1,
     0,
     0},
    {"fragments are counted in onset order whatever the input order",
     {seg("wave", 10, 20)},
     {ev("wave", 15, 19), ev("wave", 11, 14)},
     1.0,
     {O::kFragment, O::kDetected},
     1,
     1,
     0,
     0},
    {"wrong label inside a segment",
     {seg("wave", 10, 12)},
     {ev("tap", 11, 12)},
     1.0,
     {O::kWrongLabel},
     0,
     0,
     1,
     0},
    {"wrong label plus the right one",
     {seg("wave", 10, 12)},
     {ev("tap", 10.5, 11), ev("wave", 11, 12)},
     1.0,
     {O::kWrongLabel, O::kDetected},
     1,
     0,
     1,
     0},
    {"two adjacent segments of one label: each event goes to the nearest",
     {seg("wave", 10, 12), seg("wave", 12.5, 14)},
     {ev("wave", 12.2, 12.4), ev("wave", 13, 14)},
     1.0,
     {O::kDetected, O::kDetected},
     2,
     0,
     0,
     0},
    {"an event near two segments of its label goes to the one it lies in",
     {seg("wave", 10, 12), seg("wave", 12.5, 14)},
     {ev("wave", 12.6, 13)},
     1.0,
     {O::kDetected},
     1,
     0,
     0,
     0},
    {"no events: recall 0", {seg("wave", 10, 12), seg("tap", 20, 21)}, {}, 1.0, {}, 0, 0, 0, 0},
    {"no segments: every event is in null",
     {},
     {ev("wave", 1, 2), ev("tap", 5, 6)},
     1.0,
     {O::kInNull, O::kInNull},
     0,
     0,
     0,
     2},
    {"a transition between two gestures that fires a third label",
     {seg("wave", 10, 12), seg("tap", 12, 13)},
     {ev("wave", 10.5, 12), ev("shake", 12, 12.2), ev("tap", 12.3, 13)},
     0.5,
     {O::kDetected, O::kWrongLabel, O::kDetected},
     2,
     0,
     1,
     0},
};

}  // namespace

TEST(EventMatch, Table) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    const auto r = match_events(c.segments, c.events, 100 * kS, {c.tolerance_s});
    EXPECT_EQ(r.outcomes, c.outcomes);
    EXPECT_EQ(r.detected, c.detected);
    EXPECT_EQ(r.fragments, c.fragments);
    EXPECT_EQ(r.wrong_label, c.wrong_label);
    EXPECT_EQ(r.in_null, c.in_null);
    EXPECT_EQ(r.false_events, c.wrong_label + c.in_null);
    EXPECT_EQ(r.segments, static_cast<std::int64_t>(c.segments.size()));
    EXPECT_EQ(r.events, static_cast<std::int64_t>(c.events.size()));
  }
}

TEST(EventMatch, PrecisionRecallF1LeaveFragmentsOut) {
  // 4 segments; 3 detected, 1 fragment, 1 false: P = 3/4, R = 3/4.
  const auto r = match_events(
      {seg("a", 0, 1), seg("a", 10, 11), seg("b", 20, 25), seg("b", 30, 31)},
      {ev("a", 0.5, 1), ev("a", 10.5, 11), ev("b", 21, 22), ev("b", 23, 24), ev("a", 50, 51)},
      100 * kS);
  EXPECT_DOUBLE_EQ(r.precision, 0.75);
  EXPECT_DOUBLE_EQ(r.recall, 0.75);
  EXPECT_DOUBLE_EQ(r.f1, 0.75);
  EXPECT_DOUBLE_EQ(r.fragment_fraction, 0.25);
  EXPECT_EQ(r.per_class.at("a").segments, 2);
  EXPECT_EQ(r.per_class.at("a").detected, 2);
  EXPECT_EQ(r.per_class.at("a").false_events, 1);
  EXPECT_DOUBLE_EQ(r.per_class.at("a").precision, 2.0 / 3.0);
  EXPECT_EQ(r.per_class.at("b").fragments, 1);
  EXPECT_DOUBLE_EQ(r.per_class.at("b").recall, 0.5);
}

TEST(EventMatch, NullTimeIsTheDurationLessTheUnionOfSegments) {
  // 1 h of recording, segments 0-600 s and 300-900 s overlap: 900 s covered, 2700 s of null.
  const auto r =
      match_events({seg("a", 0, 600), seg("b", 300, 900)},
                   {ev("a", 1000, 1001), ev("a", 2000, 2001), ev("b", 3000, 3001)}, 3600 * kS);
  EXPECT_EQ(r.null_ns, 2700 * kS);
  EXPECT_DOUBLE_EQ(r.null_hours, 0.75);
  EXPECT_EQ(r.in_null, 3);
  EXPECT_DOUBLE_EQ(r.false_per_hour_null, 4.0);
}

TEST(EventMatch, LatencyIsFromSegmentStartAndEndToTheFirstMessage) {
  // Segments of 2 s; first messages 0.3, 0.5 and 0.7 s after each segment's END.
  const auto r = match_events(
      {seg("a", 0, 2), seg("a", 10, 12), seg("a", 20, 22)},
      {ev("a", 1, 2.3, 1.3), ev("a", 11, 12.5, 1.5), ev("a", 21, 22.7, 1.7)}, 100 * kS);
  EXPECT_EQ(r.from_end.n, 3);
  EXPECT_NEAR(r.from_end.p50_s, 0.5, 1e-9);
  EXPECT_NEAR(r.from_end.max_s, 0.7, 1e-9);
  EXPECT_NEAR(r.from_start.p50_s, 2.5, 1e-9);
  EXPECT_NEAR(r.from_start.p95_s, 2.5 + 0.2 * 0.9, 1e-9);  // linear between 2.5 and 2.7
}

TruthSegment unscored(const char* label, double a, double b, double late_s = 0) {
  auto s = seg(label, a, b);
  s.scored = false;
  s.late_ns = static_cast<std::int64_t>(late_s * kS);
  return s;
}

TEST(EventMatch, UnscoredSegmentsTakeTheirEventsWithoutCountingThem) {
  // A capture's own gesture at 10-11 s, a neighbour in its context at 4-5 s (seen whole by
  // windows ending up to 5 s after it), another at 16-17 s.
  const auto r = match_events(
      {seg("punch", 10, 11), unscored("flex", 4, 5, 5.0), unscored("punch", 16, 17, 5.0)},
      {ev("flex", 9.5, 10), ev("punch", 11.2, 12), ev("flex", 4.5, 5), ev("punch", 16.5, 17),
       ev("punch", 21, 22), ev("punch", 23.5, 24), ev("flex", 16.2, 17), ev("wave", 30, 31)},
      40 * kS);
  using O = EventOutcome;
  // flex 9.5 s: 4.5 s after the flex neighbour's end, within its lateness (5 s) + tolerance;
  // punch 11.2: the detection; flex 4.5 and punch 16.5: neighbours, ignored; punch 21: 4 s after
  // the punch neighbour, still its; punch 23.5: beyond 17 + 1 + 5 s, in null; flex 16.2 inside
  // the punch neighbour: wrong label; wave: in null.
  EXPECT_EQ(r.outcomes, (std::vector<O>{O::kIgnored, O::kDetected, O::kIgnored, O::kIgnored,
                                        O::kIgnored, O::kInNull, O::kWrongLabel, O::kInNull}));
  EXPECT_EQ(r.segments, 1);  // only the scored one
  EXPECT_EQ(r.per_class.at("punch").segments, 1);
  EXPECT_EQ(r.per_class.count("flex") != 0 ? r.per_class.at("flex").segments : 0, 0);
  EXPECT_EQ(r.ignored, 4);
  EXPECT_EQ(r.detected, 1);
  EXPECT_EQ(r.false_events, 3);
  EXPECT_EQ(r.null_ns, (40 - 3) * kS);  // unscored time is not null either
  EXPECT_DOUBLE_EQ(r.recall, 1.0);
  EXPECT_EQ(to_json(r)["ignored"], 4);
  // A scored segment's lateness counts too (one its stream's first window announces late):
  // up to end + tolerance + late, and no further.
  auto late = seg("punch", 10, 11);
  late.late_ns = 2 * kS;
  EXPECT_EQ(match_events({late}, {ev("punch", 13.9, 15)}, 40 * kS).outcomes,
            std::vector<O>{O::kDetected});
  EXPECT_EQ(match_events({late}, {ev("punch", 14.1, 15)}, 40 * kS).outcomes,
            std::vector<O>{O::kInNull});
  EXPECT_EQ(match_events({seg("punch", 10, 11)}, {ev("punch", 13.9, 15)}, 40 * kS).outcomes,
            std::vector<O>{O::kInNull});
  EXPECT_EQ(merge_reports({r, r}).ignored, 8);
}

TEST(EventMatch, MergingPoolsCountsAndLatencies) {
  const auto a = match_events({seg("a", 0, 2)}, {ev("a", 1, 2, 1.0)}, 10 * kS);
  const auto b = match_events({seg("a", 0, 2), seg("b", 4, 5)}, {ev("b", 8, 9)}, 10 * kS);
  const auto m = merge_reports({a, b});
  EXPECT_EQ(m.segments, 3);
  EXPECT_EQ(m.detected, 1);
  EXPECT_EQ(m.in_null, 1);
  EXPECT_EQ(m.null_ns, 8 * kS + 7 * kS);
  EXPECT_DOUBLE_EQ(m.recall, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_EQ(m.outcomes.size(), 2u);
  EXPECT_EQ(m.from_start.n, 1);
}

TEST(EventMatch, RefusesBadInput) {
  EXPECT_THROW((void)match_events({seg("a", 2, 1)}, {}, kS), std::invalid_argument);
  EXPECT_THROW((void)match_events({}, {}, kS, {-1.0}), std::invalid_argument);
}
