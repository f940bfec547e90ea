// Per-class calibration: the record (JSON, precedence), the post-processor with per-class
// parameters (tables), and the search on constructed score streams whose best settings are known.
#include <gtest/gtest.h>

#include <tuple>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/core/time_source.h"
#include "src/events/calibrate.h"
#include "src/events/calibration.h"
#include "src/events/events_stage.h"
#include "src/events/post_processor.h"

namespace primus::events {
namespace {

const std::vector<std::string> kLabels{"null", "wave", "tap"};
constexpr std::int64_t kHopNs = 100'000'000;  // a window every 100 ms

// ---- the record ---------------------------------------------------------------------------------

TEST(Calibration, JsonRoundTrip) {
  Calibration c;
  c.rule = "r";
  c.classes["wave"] = {0.55, 0.275, 2, 100};
  c.classes["tap"] = {0.9, 0.9, 8, 800};
  EXPECT_EQ(calibration_from_json(to_json(c)), c);
  EXPECT_EQ(parse_calibration(to_json(c).dump()), c);
  EXPECT_THROW((void)parse_calibration("{\"schema\":1,\"classes\":{\"\":{}}}"), CalibrationError);
  EXPECT_THROW(check_calibration_labels(c, {"null", "wave"}, "null"), CalibrationError);
  c.classes.erase("tap");
  EXPECT_NO_THROW(check_calibration_labels(c, {"null", "wave"}, "null"));
  c.classes["null"] = {0.5, 0.5, 1, 0};
  EXPECT_THROW(check_calibration_labels(c, {"null", "wave"}, "null"), CalibrationError);
}

struct PrecedenceCase {
  const char* name;
  std::vector<std::string> explicit_keys;
  bool calibrated;
  ClassParams want_wave;  ///< calibrated class
  ClassParams want_tap;   ///< not in the calibration
};

TEST(Calibration, PrecedenceFileKeysThenCalibrationThenDefaults) {
  EventsConfig cfg;  // defaults 0.6 / 0.4 / 3 / 0
  cfg.onset_threshold = 0.7;
  cfg.release_threshold = 0.5;
  cfg.smoothing_windows = 4;
  cfg.min_duration_ms = 500;
  Calibration cal;
  cal.classes["wave"] = {0.45, 0.3, 1, 100};
  const ClassParams file{0.7, 0.5, 4, 500};
  const std::vector<PrecedenceCase> cases{
      {"nothing set in the file: calibration", {}, true, {0.45, 0.3, 1, 100}, file},
      {"calibration off", {}, false, file, file},
      {"min_duration_ms set", {"min_duration_ms"}, true, {0.45, 0.3, 1, 500}, file},
      {"onset set: release clipped to it", {"onset_threshold"}, true, {0.7, 0.3, 1, 100}, file},
      {"release set above the calibrated onset: clipped",
       {"release_threshold", "smoothing_windows"},
       true,
       {0.45, 0.45, 4, 100},
       file},
      {"every key set",
       {"onset_threshold", "release_threshold", "smoothing_windows", "min_duration_ms"},
       true,
       file,
       file},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EventsConfig e = cfg;
    e.explicit_keys = c.explicit_keys;
    e.calibrated = c.calibrated;
    const auto p = resolve_class_params(e, kLabels, &cal);
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0], file);  // the null class is never calibrated
    EXPECT_EQ(p[1], c.want_wave);
    EXPECT_EQ(p[2], c.want_tap);
  }
  // No calibration at all: the config's values everywhere.
  for (const auto& p : resolve_class_params(cfg, kLabels, nullptr)) EXPECT_EQ(p, file);
}

// ---- the post-processor with per-class parameters -----------------------------------------------

struct Fed {
  std::vector<std::pair<std::string, int>> events;  ///< label, windows
  PostProcessorStats stats;
};

/// Windows every 100 ms, seq 0, 1, 2, ...
Fed feed(const EventsConfig& c, const Calibration* cal,
         const std::vector<std::vector<float>>& scores) {
  PostProcessor pp("d", kLabels, c,
                   cal != nullptr ? std::make_shared<const Calibration>(*cal) : nullptr);
  Fed r;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const auto t = static_cast<std::int64_t>(i) * kHopNs;
    if (auto e = pp.update(i, scores[i].data(), {t - 1'000'000'000, 0}, {t, 0}, "v"))
      r.events.emplace_back(e->label, e->windows);
  }
  if (auto e = pp.flush()) r.events.emplace_back(e->label, e->windows);
  r.stats = pp.stats();
  return r;
}

EventsConfig plain(int k = 1, double onset = 0.6, double release = 0.4, int min_ms = 0) {
  EventsConfig c;
  c.smoothing_windows = k;
  c.onset_threshold = onset;
  c.release_threshold = release;
  c.margin = 0.0;
  c.min_duration_ms = min_ms;
  c.refractory_ms = 0;
  return c;
}

struct OverrideCase {
  const char* name;
  EventsConfig c;
  Calibration cal;
  std::vector<std::vector<float>> scores;
  std::vector<std::pair<std::string, int>> want;
};

Calibration cal_of(std::vector<std::pair<std::string, ClassParams>> entries) {
  Calibration c;
  for (auto& [l, p] : entries) c.classes[l] = p;
  return c;
}

TEST(PostProcessorPerClass, TableOfOverrides) {
  const std::vector<float> N{0.9f, 0.05f, 0.05f}, W{0.05f, 0.9f, 0.05f}, T{0.05f, 0.05f, 0.9f},
      w5{0.45f, 0.5f, 0.05f}, t5{0.45f, 0.05f, 0.5f}, w3{0.3f, 0.35f, 0.35f};
  const std::vector<OverrideCase> cases{
      {"per-class onset: wave starts at 0.5, tap needs 0.6",
       plain(),
       cal_of({{"wave", {0.5, 0.4, 1, 0}}}),
       {N, w5, w5, N, t5, t5, N},
       {{"wave", 2}}},
      {"per-class release: tap holds down to 0.3",
       plain(),
       cal_of({{"tap", {0.6, 0.3, 1, 0}}}),
       {N, T, {0.6f, 0.05f, 0.35f}, N, W, {0.6f, 0.35f, 0.05f}, N},
       {{"tap", 2}, {"wave", 1}}},
      {"per-class minimum duration: short wave kept, short tap dropped",
       plain(1, 0.6, 0.4, 0),
       cal_of({{"tap", {0.6, 0.4, 1, 300}}}),
       {N, W, W, N, T, T, N, T, T, T, T, T, N},
       {{"wave", 2}, {"tap", 5}}},
      {"per-class minimum duration below the config's",
       plain(1, 0.6, 0.4, 500),
       cal_of({{"wave", {0.6, 0.4, 1, 100}}}),
       {N, W, W, N, T, T, N},
       {{"wave", 2}}},
      {"per-class smoothing: a one-window tap spike passes k=1, a wave spike not k=3",
       plain(1),
       cal_of({{"wave", {0.6, 0.4, 3, 0}}}),
       {N, N, N, W, N, N, N, T, N, N},
       {{"tap", 1}}},
      {"per-class smoothing: a held wave passes k=3 after two windows",
       plain(1),
       cal_of({{"wave", {0.6, 0.4, 3, 0}}}),
       {N, N, N, W, W, W, W, N, N, N},
       {{"wave", 4}}},
      {"an uncalibrated class keeps the config's values",
       plain(1, 0.6, 0.4, 0),
       cal_of({{"wave", {0.3, 0.2, 1, 0}}}),
       {N, w3, N, N, {0.4f, 0.05f, 0.55f}, N},
       {{"wave", 1}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(feed(c.c, &c.cal, c.scores).events, c.want);
  }
}

TEST(PostProcessorPerClass, ConfigChangeReResolvesTheCalibration) {
  const std::vector<float> N{0.9f, 0.05f, 0.05f}, W{0.05f, 0.9f, 0.05f};
  const auto cal = std::make_shared<const Calibration>(cal_of({{"wave", {0.6, 0.4, 1, 300}}}));
  PostProcessor pp("d", kLabels, plain(), cal);
  EXPECT_EQ(pp.class_params()[1].min_duration_ms, 300);
  auto e = plain();
  e.explicit_keys = {"min_duration_ms"};
  pp.set_config(e);
  EXPECT_EQ(pp.class_params()[1].min_duration_ms, 0);
  e.explicit_keys.clear();
  e.calibrated = false;
  e.smoothing_windows = 2;
  pp.set_config(e);
  EXPECT_EQ(pp.class_params()[1], (ClassParams{0.6, 0.4, 2, 0}));
}

// The events stage builds each model's post-processors with that model's calibration: the same
// scores give a gesture under a model whose calibration lets a short one through, and none under
// the same labels without it; a key set in the file still wins.
TEST(EventsStageCalibration, GoesLiveWithTheModel) {
  const std::vector<float> N{0.9f, 0.05f, 0.05f}, W{0.05f, 0.9f, 0.05f};
  auto run = [&](const EventsConfig& cfg, std::shared_ptr<const Calibration> cal) {
    ManualTimeSource clock;
    int gestures = 0;
    EventsStage stage(
        {"d"}, cfg, 1024,
        [&](std::string topic, std::string) {
          if (topic == "gesture.d") ++gestures;
        },
        clock);
    stage.start();
    ScoredBatch b;
    b.model = std::make_shared<const ModelTag>(ModelTag{"v1", kLabels, std::move(cal)});
    const std::vector<std::vector<float>> rows{N, W, W, N, N};
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto t = static_cast<std::int64_t>(i) * kHopNs;
      b.windows.push_back({0, i, {t - 1'000'000'000, 0}, {t, 0}, t, 0});
      b.scores.insert(b.scores.end(), rows[i].begin(), rows[i].end());
    }
    EXPECT_TRUE(stage.push(std::move(b)));
    stage.stop();
    return gestures;  // start + end messages
  };
  auto cfg = plain(1, 0.6, 0.4, 500);  // a 100 ms wave is too short
  const auto cal = std::make_shared<const Calibration>(cal_of({{"wave", {0.6, 0.4, 1, 100}}}));
  EXPECT_EQ(run(cfg, nullptr), 0);
  EXPECT_EQ(run(cfg, cal), 2);
  cfg.explicit_keys = {"min_duration_ms"};
  EXPECT_EQ(run(cfg, cal), 0);
}

// ---- the search on constructed streams ----------------------------------------------------------

/// A stream of windows every 100 ms (one stream, seq 0, 1, ...), null scores unless a row is set.
struct TraceBuilder {
  ScoreTrace t;
  std::vector<float> null_row{0.9f, 0.05f, 0.05f};
  std::int64_t now = 0;

  TraceBuilder() { t.labels = kLabels; }
  void row(const std::vector<float>& s) {
    const std::uint64_t seq = t.windows.size();
    t.windows.push_back({seq, {now - 1'000'000'000, 0}, {now, 0}, now});
    t.scores.insert(t.scores.end(), s.begin(), s.end());
    now += kHopNs;
  }
  void idle(int n) {
    for (int i = 0; i < n; ++i) row(null_row);
  }
  /// A gesture of `n` windows with scores `s`, and its truth segment around them.
  void gesture(const std::string& label, const std::vector<float>& s, int n) {
    const std::int64_t start = now - 200'000'000;
    for (int i = 0; i < n; ++i) row(s);
    t.segments.push_back({label, start, now - kHopNs});
  }
  ScoreTrace done() {
    t.duration_ns = now;
    return t;
  }
};

EventsConfig search_cfg() {
  EventsConfig c;
  c.onset_threshold = 0.7;
  c.release_threshold = 0.4;
  c.smoothing_windows = 3;
  c.margin = 0.1;
  c.min_duration_ms = 500;
  c.refractory_ms = 300;
  return c;
}

// Wave's true gestures peak at 0.6; in null it has noise peaks of 0.47. The config's onset of 0.7
// misses every gesture; the search must choose an onset between the two.
TEST(CalibrateSearch, OnsetFallsBetweenNoisePeaksAndTrueEvents) {
  TraceBuilder b;
  const std::vector<float> g{0.3f, 0.6f, 0.1f}, noise{0.3f, 0.47f, 0.23f};
  for (int i = 0; i < 30; ++i) {
    b.idle(20);
    b.gesture("wave", g, 8);
    b.idle(20);
    // Longer than a gesture, so that neither a minimum duration nor smoothing can tell them
    // apart: only the level does.
    for (int k = 0; k < 20; ++k) b.row(noise);
  }
  b.idle(20);
  const auto trace = b.done();
  auto cfg = search_cfg();
  cfg.min_duration_ms = 0;
  const auto r = calibrate(trace, cfg);
  EXPECT_EQ(r.before.detected, 0);
  ASSERT_EQ(r.calibration.classes.count("wave"), 1u);
  EXPECT_EQ(r.calibration.classes.count("tap"), 0u);  // no segment of it: not calibrated
  const auto& w = r.calibration.classes.at("wave");
  EXPECT_GT(w.onset_threshold, 0.47);
  EXPECT_LE(w.onset_threshold, 0.6);
  EXPECT_EQ(r.after.detected, 30);
  EXPECT_EQ(r.after.in_null, 0);
  EXPECT_DOUBLE_EQ(r.after.f1, 1.0);
  // About 3 min of null: the fallback rule (no false event in null), and said so.
  EXPECT_TRUE(r.fallback);
  EXPECT_EQ(r.allowed_false_in_null, 0);
  EXPECT_NE(r.calibration.rule.find("fallback"), std::string::npos) << r.calibration.rule;
  // The figures the report gives are those of a replay with the calibration.
  const auto again = replay_report(trace, cfg, std::make_shared<const Calibration>(r.calibration));
  EXPECT_EQ(again.detected, r.after.detected);
  EXPECT_EQ(again.false_events, r.after.false_events);
}

// Tap's gestures last two windows (100 ms from onset to offset at k = 1); a one-window tap glitch
// in null lasts 0 ms. The config's min_duration_ms = 500 drops every tap; the minimum duration
// chosen must be short (smoothing and a low release can stretch a tap to a few hundred ms, never
// to 500). Wave's long gestures are found before and after.
TEST(CalibrateSearch, ShortClassGetsAShortMinimumDuration) {
  TraceBuilder b;
  const std::vector<float> tap{0.1f, 0.05f, 0.85f}, wave{0.1f, 0.85f, 0.05f};
  for (int i = 0; i < 20; ++i) {
    b.idle(20);
    b.gesture("tap", tap, 2);
    b.idle(20);
    b.gesture("wave", wave, 12);
    b.idle(20);
    b.row(tap);  // a glitch
  }
  b.idle(20);
  const auto trace = b.done();
  const auto r = calibrate(trace, search_cfg());
  EXPECT_EQ(r.before.per_class.at("tap").detected, 0);
  EXPECT_EQ(r.before.per_class.at("wave").detected, 20);
  const auto& t = r.calibration.classes.at("tap");
  EXPECT_LT(t.min_duration_ms, 500);
  EXPECT_EQ(r.after.per_class.at("tap").detected, 20);
  EXPECT_EQ(r.after.per_class.at("wave").detected, 20);
  EXPECT_EQ(r.after.in_null, 0);
  EXPECT_EQ(r.after.false_events, 0);
}

// Clean gestures that every smoothing and minimum duration of the grid finds without a false
// event: the smoothing and a positive minimum duration stay at the config's values (the nearest
// tied value off the grid, the lower on a tie), a minimum duration of 0 becomes the confirming
// 100 ms (a second window agrees before each start), and the onset goes to the centre of its
// tied range.
TEST(CalibrateSearch, TiesKeepTheConfigsDelaysAndCentreTheOnset) {
  TraceBuilder b;
  const std::vector<float> wave{0.05f, 0.9f, 0.05f};
  for (int i = 0; i < 10; ++i) {
    b.idle(20);
    b.gesture("wave", wave, 30);
  }
  b.idle(20);
  const auto trace = b.done();
  for (const auto& [smoothing, min_ms, want_smoothing, want_min] :
       {std::tuple{3, 0, 3, 100}, std::tuple{1, 200, 1, 200}, std::tuple{4, 400, 3, 300}}) {
    SCOPED_TRACE(std::to_string(smoothing) + " windows, " + std::to_string(min_ms) + " ms");
    auto cfg = search_cfg();
    cfg.smoothing_windows = smoothing;
    cfg.min_duration_ms = min_ms;
    const auto r = calibrate(trace, cfg);
    EXPECT_EQ(r.before.detected, 10);
    const auto& w = r.calibration.classes.at("wave");
    EXPECT_EQ(w.smoothing_windows, want_smoothing);
    EXPECT_EQ(w.min_duration_ms, want_min);
    // Every onset of the grid up to 0.9 ties (~3 min of null: none below the config's 0.7).
    EXPECT_GT(w.onset_threshold, 0.7);
    EXPECT_LT(w.onset_threshold, 0.9);
    EXPECT_EQ(r.after.detected, 10);
    EXPECT_EQ(r.after.false_events, 0);
  }
}

// Validation captures hold clean gestures only, so every minimum duration of the grid ties. New
// data then has what captures rarely show: at each transition into a wave, one window that reads
// as tap. The calibration chosen on the clean trace must not announce that window (the minimum
// duration is positive: a start needs a second window), and must still find every wave and tap.
TEST(CalibrateSearch, AOneWindowBlipAtATransitionIsNotAnnounced) {
  const std::vector<float> wave{0.05f, 0.9f, 0.05f}, tap{0.05f, 0.05f, 0.9f},
      blip{0.1f, 0.1f, 0.8f};
  TraceBuilder val;
  for (int i = 0; i < 10; ++i) {
    val.idle(20);
    val.gesture("wave", wave, 25);
    val.idle(20);
    val.gesture("tap", tap, 6);
  }
  val.idle(20);
  auto cfg = search_cfg();
  cfg.smoothing_windows = 1;
  cfg.min_duration_ms = 0;
  const auto r = calibrate(val.done(), cfg);
  ASSERT_EQ(r.after.detected, 20);
  const auto cal = std::make_shared<const Calibration>(r.calibration);
  EXPECT_GT(cal->classes.at("tap").min_duration_ms, 0);

  TraceBuilder live;
  for (int i = 0; i < 10; ++i) {
    live.idle(20);
    const std::int64_t start = live.now - 200'000'000;
    live.row(blip);
    for (int k = 0; k < 25; ++k) live.row(wave);
    live.t.segments.push_back({"wave", start, live.now - kHopNs});
    live.idle(20);
    live.gesture("tap", tap, 6);
  }
  live.idle(20);
  const auto trace = live.done();
  const auto with = replay_report(trace, cfg, cal);
  EXPECT_EQ(with.detected, 20);
  EXPECT_EQ(with.false_events, 0);
  // The same thresholds announced at once: every blip is a wrong-label event.
  auto at_once = std::make_shared<Calibration>(r.calibration);
  for (auto& [label, p] : at_once->classes) p.min_duration_ms = 0;
  const auto without = replay_report(trace, cfg, at_once);
  EXPECT_EQ(without.false_events, 10);
}

// The confirming window costs one hop. Taps that a window only sees 250 ms after they end (a
// long window on a short gesture) would then be announced 350 ms after their end, beyond the
// 300 ms budget: they keep announcing on one window. A budget of 400 ms lets them wait.
TEST(CalibrateSearch, ASecondWindowConfirmsOnlyWithinTheLatencyBudget) {
  const std::vector<float> tap{0.05f, 0.05f, 0.9f};
  TraceBuilder b;
  for (int i = 0; i < 10; ++i) {
    b.idle(20);
    b.t.segments.push_back({"tap", b.now - 550'000'000, b.now - 250'000'000});
    for (int k = 0; k < 6; ++k) b.row(tap);
  }
  b.idle(20);
  const auto trace = b.done();
  auto cfg = search_cfg();
  cfg.smoothing_windows = 1;
  cfg.min_duration_ms = 0;
  cfg.latency_budget_ms = 300;
  const auto within = calibrate(trace, cfg);
  EXPECT_EQ(within.after.detected, 10);
  EXPECT_EQ(within.calibration.classes.at("tap").min_duration_ms, 0);
  EXPECT_NEAR(within.after.from_end.p50_s, 0.25, 1e-6);
  cfg.latency_budget_ms = 400;
  const auto wider = calibrate(trace, cfg);
  EXPECT_EQ(wider.after.detected, 10);
  EXPECT_EQ(wider.calibration.classes.at("tap").min_duration_ms, 100);
  EXPECT_NEAR(wider.after.from_end.p50_s, 0.35, 1e-6);
}

// Long gestures whose scores dip for one window every 10: with the config's smoothing of 1 each
// gesture splits into several events. Fragments count against a setting like false events do,
// so the search must find one that keeps each gesture whole.
TEST(CalibrateSearch, AWobbleInsideAGestureDoesNotSplitIt) {
  TraceBuilder b;
  const std::vector<float> wave{0.05f, 0.9f, 0.05f}, dip{0.6f, 0.3f, 0.1f};
  for (int i = 0; i < 10; ++i) {
    b.idle(20);
    const std::int64_t start = b.now - 200'000'000;
    for (int k = 0; k < 40; ++k) b.row(k % 10 == 5 ? dip : wave);
    b.t.segments.push_back({"wave", start, b.now - kHopNs});
  }
  b.idle(20);
  const auto trace = b.done();
  auto cfg = search_cfg();
  cfg.smoothing_windows = 1;
  cfg.min_duration_ms = 0;
  const auto r = calibrate(trace, cfg);
  EXPECT_EQ(r.before.detected, 10);
  EXPECT_GE(r.before.fragments, 10);
  EXPECT_EQ(r.after.detected, 10);
  EXPECT_EQ(r.after.fragments, 0);
  EXPECT_EQ(r.after.false_events, 0);
  const auto& w = r.calibration.classes.at("wave");
  EXPECT_TRUE(w.smoothing_windows > 1 || w.release_threshold <= 0.3f)
      << w.smoothing_windows << " windows, release " << w.release_threshold;
}

// With at least 10 minutes of null the constraint is the rate: 1 false event per 10 min allowed.
// A noise burst just below the gestures' level, once in 12 min of null, may then be traded for
// recall; the report says which rule applied.
TEST(CalibrateSearch, RateRuleWithEnoughNullAndDeterminism) {
  TraceBuilder b;
  const std::vector<float> g{0.35f, 0.55f, 0.1f}, noise{0.35f, 0.55f, 0.1f};
  for (int i = 0; i < 12; ++i) {
    b.idle(600);  // a minute
    b.gesture("wave", g, 6);
  }
  for (int k = 0; k < 6; ++k) b.row(noise);  // one false event's worth, in null
  b.idle(50);
  const auto trace = b.done();
  const auto cfg = search_cfg();
  const auto r = calibrate(trace, cfg);
  EXPECT_FALSE(r.fallback);
  EXPECT_GE(r.null_minutes, 12.0);
  EXPECT_EQ(r.allowed_false_in_null, 1);
  EXPECT_EQ(r.after.detected, 12);
  EXPECT_LE(r.after.in_null, 1);
  EXPECT_EQ(r.calibration.rule.find("fallback"), std::string::npos) << r.calibration.rule;
  // Deterministic: the same trace gives the same calibration.
  EXPECT_EQ(calibrate(trace, cfg).calibration, r.calibration);
}

TEST(CalibrateSearch, KeysSetInTheFileAreHeldAndWorkIsBounded) {
  TraceBuilder b;
  const std::vector<float> g{0.3f, 0.6f, 0.1f};
  for (int i = 0; i < 10; ++i) {
    b.idle(20);
    b.gesture("wave", g, 8);
  }
  b.idle(20);
  const auto trace = b.done();
  auto cfg = search_cfg();
  cfg.explicit_keys = {"onset_threshold"};  // 0.7: no gesture can be found
  const auto held = calibrate(trace, cfg);
  EXPECT_DOUBLE_EQ(held.calibration.classes.at("wave").onset_threshold, 0.7);
  EXPECT_EQ(held.after.detected, 0);
  // A bound of 20 replays' worth of window updates: the grid is thinned to fit.
  CalibrateOptions opt;
  opt.max_window_updates = static_cast<std::int64_t>(trace.windows.size()) * 20;
  const auto bounded = calibrate(trace, search_cfg(), opt);
  EXPECT_LE(bounded.replays, 20 + 4);  // + before, incumbent, after
}

TEST(CalibrateSearch, ReportCarriesBeforeAndAfterPerClass) {
  TraceBuilder b;
  for (int i = 0; i < 5; ++i) {
    b.idle(20);
    b.gesture("wave", {0.1f, 0.8f, 0.1f}, 5);  // 300 ms at k = 3: under the 500 ms minimum
  }
  b.idle(20);
  const auto j = to_json(calibrate(b.done(), search_cfg()));
  EXPECT_TRUE(j["before"].contains("false_per_hour_null"));
  EXPECT_DOUBLE_EQ(j["classes"]["wave"]["before"]["f1"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(j["classes"]["wave"]["after"]["f1"].get<double>(), 1.0);
  EXPECT_TRUE(j["classes"]["wave"]["params"].contains("min_duration_ms"));
  EXPECT_TRUE(j["rule"].is_string());
}

}  // namespace
}  // namespace primus::events
