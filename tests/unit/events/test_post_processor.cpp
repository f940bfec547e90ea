#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <tuple>

#include "src/events/post_processor.h"

namespace primus::events {
namespace {

const std::vector<std::string> kLabels{"null", "wave", "tap"};

EventsConfig cfg(int k = 1, double onset = 0.6, double release = 0.4, double margin = 0.0,
                 int min_ms = 0, int refractory_ms = 0) {
  EventsConfig c;
  c.smoothing_windows = k;
  c.onset_threshold = onset;
  c.release_threshold = release;
  c.margin = margin;
  c.min_duration_ms = min_ms;
  c.refractory_ms = refractory_ms;
  return c;
}

struct Outcome {
  std::vector<GestureEvent> events;
  PostProcessorStats stats;
};

/// Windows every 200 ms (host), seq 0, 1, 2, ...; `seqs` overrides the sequence numbers.
Outcome feed(const EventsConfig& c, const std::vector<std::vector<float>>& scores,
             std::vector<std::uint64_t> seqs = {}) {
  PostProcessor pp("d", kLabels, c);
  Outcome r;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const std::int64_t t = static_cast<std::int64_t>(i) * 200'000'000;
    const auto seq = seqs.empty() ? i : seqs[i];
    if (auto e = pp.update(seq, scores[i].data(), {t - 5'000'000'000, 0},
                           {t, static_cast<std::int64_t>(i)}, "v"))
      r.events.push_back(*e);
  }
  if (auto e = pp.flush()) r.events.push_back(*e);
  r.stats = pp.stats();
  return r;
}

struct Case {
  const char* name;
  EventsConfig c;
  std::vector<std::vector<float>> scores;
  std::vector<std::pair<std::string, int>> want;  ///< label, windows
};

TEST(PostProcessor, TableOfScoreSequences) {
  const std::vector<float> N{0.9f, 0.05f, 0.05f}, W{0.05f, 0.9f, 0.05f}, T{0.05f, 0.05f, 0.9f},
      w5{0.3f, 0.5f, 0.2f}, w7{0.2f, 0.7f, 0.1f}, amb{0.0f, 0.62f, 0.38f};
  const std::vector<Case> cases{
      {"all null", cfg(), {N, N, N}, {}},
      {"one wave", cfg(), {N, W, W, N}, {{"wave", 2}}},
      {"wave then tap back to back", cfg(), {W, T, T, N}, {{"wave", 1}, {"tap", 2}}},
      {"hysteresis holds between release and onset",
       cfg(1, 0.6, 0.4),
       {W, w5, w5, N},
       {{"wave", 3}}},
      {"no hysteresis when release = onset",
       cfg(1, 0.6, 0.6),
       {W, w5, w7, N},
       {{"wave", 1}, {"wave", 1}}},
      {"below onset never starts", cfg(), {w5, w5, w5}, {}},
      {"smoothing bridges a one-window dip",
       cfg(3, 0.6, 0.4),
       {W, W, W, N, W, W, N, N, N},
       {{"wave", 7}}},
      {"smoothing delays a single spike away", cfg(3, 0.6, 0.4), {N, N, W, N, N}, {}},
      {"margin rejects an ambiguous window", cfg(1, 0.6, 0.4, 0.3), {amb, amb, N}, {}},
      {"margin allows a clear one", cfg(1, 0.6, 0.4, 0.3), {W, N}, {{"wave", 1}}},
      {"min duration discards a blip", cfg(1, 0.6, 0.4, 0, 300), {W, N, W, W, W, N}, {{"wave", 3}}},
      {"refractory suppresses a quick repeat",
       cfg(1, 0.6, 0.4, 0, 0, 500),
       {W, N, W, N, N, N, W, N},
       {{"wave", 1}, {"wave", 1}}},
      {"a blip too short to publish starts no refractory time",
       cfg(1, 0.6, 0.4, 0, 300, 10000),
       {W, N, W, W, W, N},
       {{"wave", 3}}},
      {"refractory is per label",
       cfg(1, 0.6, 0.4, 0, 0, 10000),
       {W, N, T, N},
       {{"wave", 1}, {"tap", 1}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Outcome r = feed(c.c, c.scores);
    ASSERT_EQ(r.events.size(), c.want.size());
    for (std::size_t i = 0; i < r.events.size(); ++i) {
      EXPECT_EQ(r.events[i].label, c.want[i].first);
      EXPECT_EQ(r.events[i].windows, c.want[i].second);
      EXPECT_EQ(r.events[i].seq, i);
    }
  }
}

TEST(PostProcessor, CountsWhyWindowsDidNotBecomeEvents) {
  const std::vector<float> N{0.9f, 0.05f, 0.05f}, W{0.05f, 0.9f, 0.05f}, amb{0.0f, 0.62f, 0.38f};
  EXPECT_EQ(feed(cfg(1, 0.6, 0.4, 0.3), {amb, amb, N}).stats.rejected_ambiguous, 2u);
  EXPECT_EQ(feed(cfg(1, 0.6, 0.4, 0, 300), {W, N}).stats.too_short, 1u);
  EXPECT_EQ(feed(cfg(1, 0.6, 0.4, 0, 0, 500), {W, N, W, N}).stats.suppressed_refractory, 1u);
}

TEST(PostProcessor, WindowSequenceJumpClosesTheGestureAndClearsSmoothing) {
  const std::vector<float> N{0.9f, 0.05f, 0.05f}, W{0.05f, 0.9f, 0.05f};
  const Outcome r = feed(cfg(1), {W, W, W, W}, {0, 1, 7, 8});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].windows, 2);
  EXPECT_EQ(r.events[1].windows, 2);
  EXPECT_EQ(r.stats.discontinuities, 1u);
}

TEST(PostProcessor, TimesConfidenceAndJson) {
  const std::vector<float> N{0.9f, 0.05f, 0.05f}, a{0.1f, 0.7f, 0.2f}, b{0.0f, 0.9f, 0.1f};
  const Outcome r = feed(cfg(1), {N, a, b, N});
  ASSERT_EQ(r.events.size(), 1u);
  const auto& e = r.events[0];
  EXPECT_EQ(e.onset.t_host_ns, 200'000'000);
  EXPECT_EQ(e.onset.t_device_us, 1);
  EXPECT_EQ(e.offset.t_host_ns, 400'000'000);
  EXPECT_NEAR(e.confidence, 0.8, 1e-6);
  const auto j = nlohmann::json::parse(to_json(e));
  EXPECT_EQ(j["schema"], 1);
  EXPECT_EQ(j["type"], "gesture");
  EXPECT_EQ(j["label"], "wave");
  EXPECT_EQ(j["windows"], 2);
  EXPECT_NEAR(j["duration_s"].get<double>(), 0.2, 1e-9);
}

TEST(PostProcessor, NewSmoothingLengthAppliesLive) {
  PostProcessor pp("d", kLabels, cfg(1));
  const std::vector<float> W{0.05f, 0.9f, 0.05f}, N{0.9f, 0.05f, 0.05f};
  pp.update(0, W.data(), {}, {0, 0}, "v");
  pp.set_config(cfg(4));
  pp.update(1, N.data(), {}, {1, 1}, "v");
  EXPECT_FLOAT_EQ(pp.smoothed()[0], 0.9f);  // history restarted with k = 4
}

}  // namespace
}  // namespace primus::events

namespace primus::events {
namespace {

/// Every message the post-processor produces, in publication order: (phase, label, seq).
std::vector<std::tuple<GestureEvent::Phase, std::string, std::uint64_t, int>> messages(
    const EventsConfig& c, const std::vector<std::vector<float>>& scores) {
  PostProcessor pp("d", kLabels, c);
  std::vector<std::tuple<GestureEvent::Phase, std::string, std::uint64_t, int>> out;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const std::int64_t t = static_cast<std::int64_t>(i) * 200'000'000;
    if (auto e = pp.update(i, scores[i].data(), {t - 5'000'000'000, 0}, {t, 0}, "v"))
      out.emplace_back(e->phase, e->label, e->seq, static_cast<int>(i));
    if (auto s = pp.take_started())
      out.emplace_back(s->phase, s->label, s->seq, static_cast<int>(i));
  }
  if (auto e = pp.flush()) out.emplace_back(e->phase, e->label, e->seq, -1);
  return out;
}

using P = GestureEvent::Phase;

TEST(PostProcessorOnset, StartAtOnsetThenEndWithTheSameSeq) {
  const std::vector<float> N{0.9f, 0.05f, 0.05f}, W{0.05f, 0.9f, 0.05f}, T{0.05f, 0.05f, 0.9f};
  const auto m = messages(cfg(), {N, W, W, W, N, T, T, N});
  using M = std::tuple<P, std::string, std::uint64_t, int>;
  const std::vector<M> want{{P::kStart, "wave", 0, 1},
                            {P::kEnd, "wave", 0, 4},
                            {P::kStart, "tap", 1, 5},
                            {P::kEnd, "tap", 1, 7}};
  EXPECT_EQ(m, want);
}

TEST(PostProcessorOnset, TakeOverEndsTheOldBeforeStartingTheNew) {
  const std::vector<float> W{0.05f, 0.9f, 0.05f}, T{0.05f, 0.05f, 0.9f};
  const auto m = messages(cfg(), {W, W, T, T});
  using M = std::tuple<P, std::string, std::uint64_t, int>;
  const std::vector<M> want{{P::kStart, "wave", 0, 0},
                            {P::kEnd, "wave", 0, 2},
                            {P::kStart, "tap", 1, 2},
                            {P::kEnd, "tap", 1, -1}};
  EXPECT_EQ(m, want);
}

TEST(PostProcessorOnset, MinDurationDelaysTheStartAndDropsShortOnesSilently) {
  const std::vector<float> N{0.9f, 0.05f, 0.05f}, W{0.05f, 0.9f, 0.05f};
  // 400 ms minimum, windows 200 ms apart: a 1-window blip never starts; a 4-window gesture
  // starts at its third window (400 ms after its onset).
  const auto m = messages(cfg(1, 0.6, 0.4, 0.0, 400), {W, N, N, W, W, W, W, N});
  using M = std::tuple<P, std::string, std::uint64_t, int>;
  const std::vector<M> want{{P::kStart, "wave", 0, 5}, {P::kEnd, "wave", 0, 7}};
  EXPECT_EQ(m, want);
}

TEST(PostProcessorOnset, JsonCarriesThePhase) {
  GestureEvent e;
  e.phase = GestureEvent::Phase::kStart;
  EXPECT_EQ(nlohmann::json::parse(to_json(e))["phase"], "start");
  e.phase = GestureEvent::Phase::kEnd;
  EXPECT_EQ(nlohmann::json::parse(to_json(e))["phase"], "end");
}

}  // namespace
}  // namespace primus::events
