// Offline evaluation through the daemon's chain (src/evaluation/evaluate.h), with a scoring model
// that reads the class off the data (acc_x = 5 + class index during a span), so every figure is
// known: window truth, events, matching, latency.
#include <gtest/gtest.h>

#include <cmath>

#include "src/dataio/stream.h"
#include "src/evaluation/evaluate.h"
#include "tests/unit/dataio/dataio_test_util.h"

using namespace primus;
using namespace primus::dataio::test;

namespace {

/// Class k (1-based) when at least 25 % of the window's samples carry acc_x near 5 + (k - 1).
evaluation::ScoringModel reading_model() {
  evaluation::ScoringModel m;
  m.labels = {"null", "wave", "tap", "circle"};
  m.version = "reader";
  m.predict = [](const float* x, int batch, int length, float* probs) {
    for (int b = 0; b < batch; ++b) {
      const float* acc_x = x + static_cast<std::ptrdiff_t>(b) * 6 * length;
      int hits[4] = {0, 0, 0, 0};
      for (int i = 0; i < length; ++i) {
        const int k = static_cast<int>(std::lround(acc_x[i] - 5.0f)) + 1;
        if (acc_x[i] > 4.5f && k >= 1 && k <= 3) ++hits[k];
      }
      int best = 0;
      for (int k = 1; k <= 3; ++k)
        if (hits[k] >= length / 4 && hits[k] > hits[best]) best = k;
      for (int k = 0; k < 4; ++k) probs[b * 4 + k] = k == best ? 0.94f : 0.02f;
    }
  };
  return m;
}

/// The captures `primusctl captures import` would store from a csv recording, with ids 1, 2, ...
std::vector<capture::CaptureRecord> imported_captures(const std::string& file, const Config& cfg,
                                                      bool include_null) {
  dataio::LabelOptions lo;
  const auto rec =
      dataio::read_labelled_recording(replay_device(file), dataio::RecordingFormat::kCsv, lo);
  const auto stream = dataio::run_signal_path(rec, cfg.window);
  dataio::CutCounts counts;
  auto caps = dataio::captures_from_segments(stream, dataio::find_segments(stream), cfg, rec.dev,
                                             include_null, {}, counts);
  for (std::size_t i = 0; i < caps.size(); ++i) caps[i].id = static_cast<std::int64_t>(i) + 1;
  return caps;
}

evaluation::EvaluateOptions options(const std::string& file) {
  evaluation::EvaluateOptions o;
  o.cfg = default_config();
  o.dev = replay_device(file);
  o.labels.null_label = "null";
  return o;
}

}  // namespace

TEST(Evaluate, KnownScoresGiveKnownFigures) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 100, 60, {{"wave", 10, 12}, {"tap", 25, 26.5}, {"circle", 40, 48}});
  const auto r = evaluation::evaluate_recording(reading_model(), options(file));
  EXPECT_EQ(r.events.segments, 3);
  EXPECT_EQ(r.events.detected, 3);
  EXPECT_EQ(r.events.false_events, 0);
  EXPECT_EQ(r.events.fragments, 0);
  EXPECT_DOUBLE_EQ(r.events.f1, 1.0);
  ASSERT_EQ(r.event_rows.size(), 3u);
  EXPECT_EQ(r.event_rows[0].label, "wave");
  EXPECT_EQ(r.event_rows[1].label, "tap");
  EXPECT_EQ(r.event_rows[2].label, "circle");
  // Onset = end of the first window voting: inside each segment.
  EXPECT_GT(r.event_rows[0].onset_s, 10.0);
  EXPECT_LT(r.event_rows[0].onset_s, 12.0);
  EXPECT_GT(r.event_rows[2].onset_s, 40.0);
  EXPECT_LT(r.event_rows[2].onset_s, 45.0);
  // The first message is the start message: the model flips once a quarter of the window
  // (1.25 s) holds the gesture, and the 3-window moving average passes onset_threshold 0.6 two
  // windows (0.4 s) later, so 1.65 s after each segment's start, before its end.
  EXPECT_EQ(r.events.from_start.n, 3);
  EXPECT_NEAR(r.events.from_start.p50_s, 1.65, 0.25);
  EXPECT_LT(r.events.from_end.p50_s, 0.0);
  // Windows: every definite window right; those partly over a segment are left out.
  EXPECT_GT(r.windows.n, 150u);  // of about 275: those partly over a segment are ambiguous
  EXPECT_DOUBLE_EQ(r.windows.accuracy, 1.0);
  EXPECT_GT(r.windows_ambiguous, 0);
  EXPECT_EQ(r.windows_total, static_cast<std::int64_t>(r.windows.n) + r.windows_ambiguous);
  EXPECT_NEAR(r.data_seconds, 60.0, 0.2);
  EXPECT_NEAR(r.events.null_hours * 3600, 60.0 - 2 - 1.5 - 8, 0.3);
}

TEST(Evaluate, AGestureBeforeTheFirstWindowIsCompleteIsDetectedLate) {
  // The first window (5 s) ends 2.5 s after the wave: its event cannot come sooner, and is the
  // wave's (not a miss and a false event); the latency says how late. The tap, mid-stream,
  // keeps the plain tolerance: a second, late tap event would be a false one.
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 100, 40, {{"wave", 1.0, 2.5}, {"tap", 20, 21.5}});
  const auto r = evaluation::evaluate_recording(reading_model(), options(file));
  EXPECT_EQ(r.events.segments, 2);
  EXPECT_EQ(r.events.detected, 2);
  EXPECT_EQ(r.events.false_events, 0);
  ASSERT_FALSE(r.event_rows.empty());
  EXPECT_GE(r.event_rows[0].onset_s, 4.9);  // the first window's end
  EXPECT_EQ(r.event_rows[0].outcome, dataio::EventOutcome::kDetected);
  ASSERT_EQ(r.events.latency_end_s.size(), 2u);
  EXPECT_GT(r.events.latency_end_s[0], 2.3);
  EXPECT_LT(r.events.latency_end_s[1], 1.0);
  ASSERT_EQ(r.trace.segments.size(), 2u);
  EXPECT_GT(r.trace.segments[0].late_ns, 0);
  EXPECT_EQ(r.trace.segments[1].late_ns, 0);
}

TEST(Evaluate, IsDeterministic) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 119, 40, {{"wave", 5, 7}, {"circle", 20, 30}});
  const auto a =
      evaluation::to_json(evaluation::evaluate_recording(reading_model(), options(file)));
  const auto b =
      evaluation::to_json(evaluation::evaluate_recording(reading_model(), options(file)));
  EXPECT_EQ(a.dump(), b.dump());
}

TEST(Evaluate, LabelsTheModelLacksCountAsErrors) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 50, 40, {{"wave", 5, 7}, {"jump", 20, 30}});
  const auto r = evaluation::evaluate_recording(reading_model(), options(file));
  const auto& c = r.classes;
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c.back(), "jump");
  EXPECT_LT(r.windows.accuracy, 1.0);
  EXPECT_EQ(r.events.per_class.at("jump").segments, 1);
  EXPECT_EQ(r.events.per_class.at("jump").detected, 0);
}

TEST(Evaluate, CapturesAreScoredEachOnItsOwn) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 100, 60, {{"wave", 10, 12}, {"tap", 25, 26.5}, {"circle", 40, 48}});
  const auto cfg = default_config();
  const auto caps = imported_captures(file, cfg, true);
  std::int64_t expect_windows = 0, labelled = 0;
  for (const auto& c : caps) {
    expect_windows += (c.n_samples() - cfg.window.length) / cfg.window.hop + 1;
    labelled += c.label != "null";
  }
  ASSERT_EQ(labelled, 3);
  const auto r = evaluation::evaluate_captures(reading_model(), caps, cfg);
  EXPECT_EQ(r.windows_total, expect_windows);
  EXPECT_EQ(r.events.segments, 3);
  EXPECT_EQ(r.events.detected, 3);
  EXPECT_EQ(r.events.false_events, 0);
}

TEST(Evaluate, NeighboursInACapturesContextAreNeitherNullNorScored) {
  // Gestures 3 s apart, windows of 5 s: every capture's context holds its neighbours whole, and
  // the first windows of the tap's capture see the wave ending 3 s before they do.
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 100, 40, {{"wave", 10, 12}, {"tap", 15, 17}, {"circle", 20, 22}});
  const auto cfg = default_config();
  const auto caps = imported_captures(file, cfg, false);
  ASSERT_EQ(caps.size(), 3u);
  const auto alone = evaluation::evaluate_captures(reading_model(), caps, cfg);
  EXPECT_GT(alone.events.false_events, 0);  // the neighbours, taken for stray events
  const auto r = evaluation::evaluate_captures(
      reading_model(), caps, cfg,
      training::nearby_gestures(caps, caps, cfg.window.length, cfg.events.null_label));
  EXPECT_EQ(r.events.segments, 3);
  EXPECT_EQ(r.events.detected, 3);
  EXPECT_EQ(r.events.false_events, 0);
  EXPECT_EQ(r.events.ignored, alone.events.false_events);
  EXPECT_LT(alone.windows.accuracy, 1.0);     // windows holding a neighbour counted as null
  EXPECT_DOUBLE_EQ(r.windows.accuracy, 1.0);  // they take the neighbour's label
}

TEST(Evaluate, RefusesAModelOfAnotherWindow) {
  TempDir dir;
  const std::string file = dir / "rec.csv";
  write_csv(file, 50, 20, {{"wave", 5, 7}});
  auto m = reading_model();
  m.window_length = 125;
  try {
    (void)evaluation::evaluate_recording(m, options(file));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("windows of 125 samples"), std::string::npos) << e.what();
  }
}
