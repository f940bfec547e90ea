// Fine-tuning parts: window cutting, split by capture, metrics, registry, trainer, service.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "src/capture/capture_store.h"
#include "src/model/classifier.h"
#include "src/model/model_file.h"
#include "src/training/dataset.h"
#include "src/training/metrics.h"
#include "src/training/registry.h"
#include "src/training/service.h"
#include "src/training/trainer.h"
#include "tests/unit/capture/capture_test_util.h"

namespace primus::training {
namespace {

using capture::CaptureRecord;
using capture::test::TempDir;

constexpr int kLen = 123;

/// A capture of n samples: "null" = gravity + noise, "wave" = gyro x sine, "shake" = acc x sine.
CaptureRecord synth(const std::string& label, std::int64_t n, int seed, std::int64_t id = 0) {
  CaptureRecord r = capture::test::make_record(n, label, "dev", seed);
  r.id = id;
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::normal_distribution<float> e(0, 0.05F);
  const double f = 1.5 + 0.1 * (seed % 5);
  for (std::int64_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / 50.0;
    float v[6] = {e(rng), e(rng), 9.81F + e(rng), e(rng), e(rng), e(rng)};
    if (label == "wave") v[3] += static_cast<float>(4.0 * std::sin(2 * M_PI * f * t));
    if (label == "shake") v[0] += static_cast<float>(8.0 * std::sin(2 * M_PI * 2 * f * t));
    for (int c = 0; c < 6; ++c) r.data[static_cast<std::size_t>(c * n + i)] = v[c];
  }
  r.conversion = "{}";
  return r;
}

TEST(TrainingDataset, WindowStartsContainShortSpans) {
  // 300 samples, gesture at [150, 200): windows of 123 must contain it.
  const auto s = window_starts(300, {150, 50}, kLen, 10);
  ASSERT_FALSE(s.empty());
  for (auto st : s) {
    EXPECT_LE(st, 150);
    EXPECT_GE(st + kLen, 200);
  }
  EXPECT_EQ(s.front(), 200 - kLen);
  EXPECT_EQ(s.back(), 150);  // the last admissible start is always included
}

TEST(TrainingDataset, WindowStartsStayInsideLongSpans) {
  const auto s = window_starts(1000, {100, 500}, kLen, 50);
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front(), 100);
  EXPECT_EQ(s.back(), 600 - kLen);
  EXPECT_TRUE(window_starts(100, {0, 100}, kLen, 10).empty());  // shorter than a window
  EXPECT_EQ(window_starts(kLen, {0, kLen}, kLen, 10).size(), 1U);
}

struct NegativeCase {
  const char* name;
  std::int64_t n;
  std::vector<LabelSpan> gestures;
  int length, stride;
  double overlap;
  std::vector<std::int64_t> starts;
};

TEST(TrainingDataset, NegativeStartsFromTable) {
  const NegativeCase cases[] = {
      // 100 samples, gesture [40, 60) (shorter than a window of 40), starts 0..60 every 10:
      // [0, 40) holds none of it; 10: 10 of 20 (half: not a negative at 0.5); 20, 30, 40 hold
      // all of it; 50: 10 (half); [60, 100) none.
      {"short gesture, half is not a negative", 100, {{40, 20}}, 40, 10, 0.5, {0, 60}},
      {"short gesture, a larger share allowed", 100, {{40, 20}}, 40, 10, 0.6, {0, 10, 50, 60}},
      // A long span (80 >= window 40): its share is of the window. [10, 90) in 100 samples.
      {"long span: windows mostly outside it", 100, {{10, 80}}, 40, 10, 0.5, {}},
      {"long span at the end", 100, {{70, 80}}, 40, 10, 0.5, {0, 10, 20, 30, 40}},
      // Two gestures: the transition window [30, 70) holds 10 of each 20: null at 0.6, not 0.5.
      {"transition between two gestures", 100, {{20, 20}, {60, 20}}, 40, 10, 0.6, {30}},
      {"transition, stricter", 100, {{20, 20}, {60, 20}}, 40, 10, 0.5, {}},
      // Another gesture partly outside the capture still counts ([60, 100) holds half of it).
      {"a neighbour partly outside", 100, {{40, 10}, {90, 20}}, 40, 10, 0.5, {0, 50}},
      {"without the neighbour", 100, {{40, 10}}, 40, 10, 0.5, {0, 50, 60}},
      {"shorter than a window", 30, {{0, 10}}, 40, 10, 0.5, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(negative_starts(c.n, c.gestures, c.length, c.stride, c.overlap), c.starts);
  }
}

struct PartialCase {
  const char* name;
  std::int64_t n;
  LabelSpan own;
  std::vector<LabelSpan> others;
  int length, stride;
  double min_share;
  std::vector<std::int64_t> starts;
};

TEST(TrainingDataset, PartialStartsFromTable) {
  const PartialCase cases[] = {
      // 100 samples, gesture [40, 60), window 40: starts 20..40 hold all of it (window_starts).
      // At 0.75 the band is 5 samples wide on each side, stepped every 2: 18 and 16 hold 18 and
      // 16 of 20 (14 holds 0.7); 42 and 44 likewise.
      {"three quarters", 100, {40, 20}, {}, 40, 5, 0.75, {16, 18, 42, 44}},
      {"a lower share: the stride", 100, {40, 20}, {}, 40, 5, 0.5, {10, 15, 45, 50}},
      {"a band narrower than 2: every sample", 100, {40, 20}, {}, 40, 5, 0.95, {19, 41}},
      {"1: only whole gestures", 100, {40, 20}, {}, 40, 5, 1.0, {}},
      // A neighbour [0, 34): [16, 56) holds 18 of it, more than half: not a positive.
      {"not with half of a neighbour", 100, {40, 20}, {{0, 34}}, 40, 5, 0.75, {18, 42, 44}},
      {"a neighbour barely touched", 100, {40, 20}, {{0, 20}}, 40, 5, 0.75, {16, 18, 42, 44}},
      // A long span [10, 90) (>= window): the share is of the window; 10..50 lie inside it.
      {"long span, windows sticking out", 100, {10, 80}, {}, 40, 10, 0.75, {0, 5, 55, 60}},
      {"long span, stricter", 100, {10, 80}, {}, 40, 10, 0.9, {6, 8, 52, 54}},
      // A gesture at the capture's start: only window 0 holds all of it; none before it.
      {"the capture's edge", 100, {0, 20}, {}, 40, 5, 0.75, {2, 4}},
      {"shorter than a window", 30, {0, 10}, {}, 40, 10, 0.5, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(partial_starts(c.n, c.own, c.others, c.length, c.stride, c.min_share, 0.5), c.starts);
  }
}

/// A capture of `label` like app::Labeller stores it: `ctx` samples of idle on both sides of a
/// gesture of g samples, host time starting at t0 (ns), optionally from an imported file.
CaptureRecord with_context(const std::string& label, std::int64_t g, std::int64_t ctx,
                           std::int64_t t0, std::int64_t id, const std::string& file = "") {
  auto r = synth(label, g + 2 * ctx, static_cast<int>(id), id);
  auto idle = synth("null", g + 2 * ctx, 1000 + static_cast<int>(id));
  const auto n = r.n_samples();
  for (int c = 0; c < 6; ++c)
    for (std::int64_t i = 0; i < n; ++i)
      if (i < ctx || i >= ctx + g)
        r.data[static_cast<std::size_t>(c * n + i)] =
            idle.data[static_cast<std::size_t>(c * n + i)];
  r.t_start_host_ns = t0;
  r.t_end_host_ns = t0 + (n - 1) * 20'000'000LL;
  nlohmann::json conv{{"label_first", ctx}, {"label_count", g}};
  if (!file.empty()) conv["import"] = {{"file", file}, {"format", "csv"}};
  r.conversion = conv.dump();
  return r;
}

TEST(TrainingDataset, NegativesComeFromContextAndRespectNeighbours) {
  constexpr std::int64_t kSec = 1'000'000'000;
  // Window 123, gesture 60 samples with 123 of context: a capture of 306 samples.
  std::vector<CaptureRecord> caps;
  caps.push_back(with_context("wave", 60, kLen, 100 * kSec, 1));
  // shake 40 samples after the wave's end on the same device: inside the wave's context after it.
  caps.push_back(with_context("shake", 60, kLen, 100 * kSec + 100 * 20'000'000LL, 2));
  // the same host times in another imported file: not a neighbour of either.
  caps.push_back(with_context("shake", 60, kLen, 100 * kSec + 100 * 20'000'000LL, 3, "b.csv"));
  DatasetOptions o{kLen, 10, 0.0, 1};
  const auto d = build_dataset(caps, {"wave"}, o);
  ASSERT_EQ(d.labels, (std::vector<std::string>{"wave", "null", "shake"}));  // null comes in
  EXPECT_GT(d.train_negatives, 0);
  // Every negative holds less than half of every gesture near it, in host time.
  const int null_cls = 1;
  std::map<std::int64_t, int> per_capture;
  for (std::size_t i = 0; i < d.train.size(); ++i) {
    if (d.train.y[i] != null_cls) continue;
    ++per_capture[d.train.capture_id[i]];
  }
  // The wave capture: windows [s, s+123) holding < 30 of the wave [123, 183) are 0, 10, 20
  // before it and 160, 170, 180 after it, but those hold all of the shake at [223, 283).
  const auto wave_neg = negative_starts(306, {{kLen, 60}, {kLen + 100, 60}}, kLen, 10, 0.5);
  EXPECT_EQ(wave_neg, (std::vector<std::int64_t>{0, 10, 20}));
  EXPECT_EQ(per_capture[1], 3);
  // The shake's windows before it hold all of the wave: only the 3 after it are negatives.
  EXPECT_EQ(per_capture[2], 3);
  // The import's shake has no neighbour: all of its context is negative on both sides.
  EXPECT_EQ(per_capture[3],
            static_cast<int>(negative_starts(306, {{kLen, 60}}, kLen, 10, 0.5).size()));
  EXPECT_EQ(per_capture[3], 6);
  // The same neighbours, with their labels, for a validation replay (evaluate_captures).
  const auto near = nearby_gestures(caps, caps, kLen, "null");
  ASSERT_EQ(near.size(), 3u);
  ASSERT_EQ(near[0].size(), 1u);
  EXPECT_EQ(near[0][0].label, "shake");
  EXPECT_EQ(near[0][0].span.first, kLen + 100);
  EXPECT_EQ(near[0][0].span.count, 60);
  ASSERT_EQ(near[1].size(), 1u);
  EXPECT_EQ(near[1][0].label, "wave");
  EXPECT_EQ(near[1][0].span.first, kLen - 100);
  EXPECT_TRUE(near[2].empty());
  // Off: no negatives, no null class.
  o.negatives = false;
  const auto off = build_dataset(caps, {"wave"}, o);
  EXPECT_EQ(off.labels, (std::vector<std::string>{"wave", "shake"}));
  EXPECT_EQ(off.train_negatives + off.val_negatives, 0);
  EXPECT_EQ(off.train.size() + static_cast<std::size_t>(d.train_negatives), d.train.size());
  EXPECT_EQ(d.train_partials, 0);  // positive_overlap 1: whole gestures only

  // Partial positives at 0.75: windows holding >= 45 of a 60-sample gesture train as it, unless
  // they hold half of a neighbour. The wave at [123, 183): stepping by 7 off the whole-gesture
  // starts [60, 123], 53 and 46 hold 53 and 46 of it, 130 and 137 likewise, but those hold 30
  // and 37 of the shake at [223, 283): half or more. The shake's mirror image: 130 and 137. The
  // import's shake, alone: all four.
  o.negatives = true;
  o.positive_overlap = 0.75;
  const auto p = build_dataset(caps, {"wave"}, o);
  EXPECT_EQ(p.train_negatives, d.train_negatives);  // the negatives do not change
  const auto wave_partial =
      partial_starts(306, {kLen, 60}, {{kLen + 100, 60}}, kLen, 10, 0.75, 0.5);
  EXPECT_EQ(wave_partial, (std::vector<std::int64_t>{46, 53}));
  std::map<std::int64_t, int> partial_per_capture;
  std::int64_t extra = 0;
  for (std::size_t i = 0; i < p.train.size(); ++i)
    if (p.train.y[i] != null_cls) ++partial_per_capture[p.train.capture_id[i]];
  for (std::size_t i = 0; i < d.train.size(); ++i)
    if (d.train.y[i] != null_cls) --partial_per_capture[d.train.capture_id[i]];
  for (const auto& [id, k] : partial_per_capture) extra += k;
  EXPECT_EQ(partial_per_capture[1], 2);
  EXPECT_EQ(partial_per_capture[2], 2);
  EXPECT_EQ(partial_per_capture[3], 4);
  EXPECT_EQ(extra, p.train_partials);
  EXPECT_EQ(p.train_partials, 8);
  EXPECT_EQ(p.counts.at("wave").train_windows, d.counts.at("wave").train_windows + 2);
  EXPECT_THROW(
      (void)build_dataset(caps, {"wave"}, DatasetOptions{kLen, 10, 0.0, 1, true, 0.5, 0.5}),
      std::invalid_argument);
}

TEST(TrainingDataset, NegativesStayOnTheirCapturesSideOfTheSplit) {
  std::vector<CaptureRecord> caps;
  for (int i = 0; i < 8; ++i)
    caps.push_back(with_context(i % 2 ? "wave" : "shake", 60, kLen,
                                static_cast<std::int64_t>(i) * 100'000'000'000LL, i + 1));
  const auto d = build_dataset(caps, {"null"}, DatasetOptions{kLen, 10, 0.25, 5});
  EXPECT_GT(d.val_negatives, 0);
  std::set<std::int64_t> tr(d.train.capture_id.begin(), d.train.capture_id.end());
  for (auto c : d.val.capture_id) EXPECT_EQ(tr.count(c), 0U);
}

TEST(TrainingDataset, LabelledSpanFromConversion) {
  auto r = synth("wave", 300, 1);
  r.conversion = R"({"label_first": 100, "label_count": 60})";
  const auto s = labelled_span(r);
  EXPECT_EQ(s.first, 100);
  EXPECT_EQ(s.count, 60);
  r.conversion = R"({"label_first": 290, "label_count": 60})";  // clamped to the capture
  EXPECT_EQ(labelled_span(r).count, 10);
  r.conversion = "{}";
  EXPECT_EQ(labelled_span(r).count, 300);
  r.conversion = "not json";
  EXPECT_EQ(labelled_span(r).count, 300);
}

TEST(TrainingDataset, SplitIsByCaptureAndSeeded) {
  std::vector<CaptureRecord> caps;
  std::int64_t id = 1;
  for (int i = 0; i < 8; ++i) caps.push_back(synth("wave", 400, i, id++));
  for (int i = 0; i < 8; ++i) caps.push_back(synth("null", 400, 100 + i, id++));
  caps.push_back(synth("circle", 400, 200, id++));  // new label, one capture: train only
  caps.push_back(synth("tap", 50, 300, id++));      // shorter than a window
  DatasetOptions o{kLen, 20, 0.25, 7};
  const auto d = build_dataset(caps, {"null", "wave"}, o);
  EXPECT_EQ(d.labels, (std::vector<std::string>{"null", "wave", "circle", "tap"}));
  EXPECT_EQ(d.new_labels({"null", "wave"}), (std::vector<std::string>{"circle", "tap"}));
  EXPECT_EQ(d.too_short, 1);
  std::set<std::int64_t> tr(d.train.capture_id.begin(), d.train.capture_id.end());
  std::set<std::int64_t> va(d.val.capture_id.begin(), d.val.capture_id.end());
  for (auto c : va) EXPECT_EQ(tr.count(c), 0U) << "capture " << c << " on both sides";
  EXPECT_EQ(d.counts.at("wave").val_captures, 2);
  EXPECT_EQ(d.counts.at("null").val_captures, 2);
  EXPECT_EQ(d.counts.at("circle").val_captures, 0);
  EXPECT_EQ(d.max_capture_id, 18);
  // Same seed, same split; windows hold the capture's samples.
  const auto d2 = build_dataset(caps, {"null", "wave"}, o);
  EXPECT_EQ(d2.val.capture_id, d.val.capture_id);
  const auto& c0 = caps[static_cast<std::size_t>(d.train.capture_id[0] - 1)];
  EXPECT_FLOAT_EQ(d.train.window(0)[0], c0.data[0]);
  EXPECT_FLOAT_EQ(d.train.window(0)[kLen], c0.data[static_cast<std::size_t>(c0.n_samples())]);
}

TEST(TrainingMetrics, MacroF1OverClassesPresent) {
  // truth: 0 0 1 1, pred: 0 1 1 1 -> F1(0) = 2/3, F1(1) = 0.8; class 2 absent.
  const auto m = classification_metrics({0, 0, 1, 1}, {0, 1, 1, 1}, 3);
  EXPECT_NEAR(m.accuracy, 0.75, 1e-12);
  EXPECT_NEAR(m.f1[0], 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.f1[1], 0.8, 1e-12);
  EXPECT_NEAR(m.macro_f1, (2.0 / 3 + 0.8) / 2, 1e-12);
  EXPECT_EQ(m.confusion[0][1], 1);
  EXPECT_THROW((void)classification_metrics({0}, {0, 1}, 2), std::invalid_argument);
}

TEST(TrainingRegistry, VersionsAreDurableNumberedAndActivatable) {
  TempDir tmp;
  const auto dir = tmp / "models";
  std::filesystem::create_directories(dir / ".tmp-7-123");  // a crash leftover
  ModelRegistry reg(dir);
  EXPECT_FALSE(std::filesystem::exists(dir / ".tmp-7-123"));
  EXPECT_EQ(reg.active(), 0);
  auto writer = [](const std::filesystem::path& p, int v) { std::ofstream(p) << "model " << v; };
  EXPECT_EQ(reg.add(writer, {{"status", "accepted"}, {"parent", 0}}), 1);
  EXPECT_EQ(reg.add(writer, {{"status", "rejected"}, {"parent", 1}}), 2);
  reg.set_active(1);
  EXPECT_EQ(reg.active(), 1);
  EXPECT_THROW(reg.set_active(9), std::invalid_argument);
  const auto all = reg.list();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[1].status, "rejected");
  EXPECT_EQ(all[1].meta["version"], 2);
  // A version whose meta.json is damaged is reported broken and cannot be activated.
  std::ofstream(dir / "2" / "meta.json") << "{broken";
  EXPECT_EQ(reg.get(2)->status, "broken");
  EXPECT_THROW(reg.set_active(2), std::invalid_argument);
  // Pruning keeps the active one; numbers are never reused.
  EXPECT_EQ(reg.add(writer, {{"status", "accepted"}}), 3);
  EXPECT_EQ(reg.prune(2), 1);  // removes 2 (1 is active)
  EXPECT_TRUE(reg.get(1).has_value());
  std::filesystem::remove_all(dir / "3");
  EXPECT_EQ(reg.add(writer, {{"status", "accepted"}}), 4);
  ModelRegistry again(dir);  // state survives reopening
  EXPECT_EQ(again.active(), 1);
}

model::ModelInfo small_info() {
  model::ModelInfo info;
  info.labels = {"null", "wave"};
  info.window_length = kLen;
  info.rate_hz = 50;
  info.version = "test";
  return info;
}

Dataset toy_dataset(const std::vector<std::string>& labels, int per_label, int n = 200) {
  std::vector<CaptureRecord> caps;
  std::int64_t id = 1;
  for (const auto& l : labels)
    for (int i = 0; i < per_label; ++i) caps.push_back(synth(l, n, static_cast<int>(id), id)), ++id;
  return build_dataset(caps, {"null", "wave"}, DatasetOptions{kLen, 25, 0.25, 3});
}

TEST(TrainingTrainer, HeadModeLearnsSeparableClassesAndKeepsBaseUntouched) {
  set_training_threads(1);
  auto base = model::Classifier::random(small_info(), 5, "cpu");
  const auto data = toy_dataset({"null", "wave"}, 6);
  const auto before = evaluate(*base, data.val, data.labels);
  FinetuneOptions o;
  o.mode = FinetuneMode::kHead;
  o.epochs = 40;
  o.patience = 40;
  o.lr = 5e-2;
  o.augment = {};
  int calls = 0;
  auto r = finetune(*base, data, o, [&](const Progress& p) {
    ++calls;
    EXPECT_EQ(p.phase, "head");
  });
  EXPECT_EQ(calls, r.epochs_run);
  EXPECT_GE(r.val.accuracy, 0.9) << "before: " << before.accuracy;
  // The base model is untouched: same scores as before.
  const auto again = evaluate(*base, data.val, data.labels);
  EXPECT_DOUBLE_EQ(again.loss, before.loss);
}

TEST(TrainingTrainer, NewLabelGrowsTheHeadAndStagedRunsBothPhases) {
  set_training_threads(1);
  auto base = model::Classifier::random(small_info(), 5, "cpu");
  const auto data = toy_dataset({"null", "wave", "shake"}, 4);
  ASSERT_EQ(data.labels.size(), 3U);
  FinetuneOptions o;
  o.mode = FinetuneMode::kStaged;
  o.epochs = 3;
  o.head_epochs = 1;
  o.patience = 10;
  o.augment = {"scale", "permute", "rotate", "noise"};
  std::vector<std::string> phases;
  auto r = finetune(*base, data, o, [&](const Progress& p) { phases.push_back(p.phase); });
  EXPECT_EQ(phases, (std::vector<std::string>{"head", "full", "full"}));
  EXPECT_EQ(r.model->info().labels, data.labels);
  EXPECT_EQ(r.model->num_classes(), 3);
  // Reproducible: same seed, same result.
  auto r2 = finetune(*base, data, o);
  EXPECT_DOUBLE_EQ(r2.val.loss, r.val.loss);
}

TEST(TrainingTrainer, RefusesEmptyDataAndCancels) {
  auto base = model::Classifier::random(small_info(), 5, "cpu");
  Dataset empty;
  empty.labels = {"null", "wave"};
  empty.train.length = kLen;
  EXPECT_THROW((void)finetune(*base, empty, {}), std::invalid_argument);
  const auto data = toy_dataset({"null", "wave"}, 3);
  std::atomic<bool> cancel{true};
  auto r = finetune(*base, data, {}, {}, &cancel);
  EXPECT_TRUE(r.cancelled);
}

/// A config whose state lives in `tmp`: base model labels null and wave, on the CPU.
Config service_config(const TempDir& tmp) {
  Config cfg;
  cfg.daemon.state_dir = tmp.path().string();
  cfg.model.labels = {"null", "wave"};
  cfg.model.device = "cpu";
  return cfg;
}

/// The service against a real capture store and registry, with a swap hook that takes the model.
TEST(TrainingService, FineTunesGatesActivatesAndRollsBack) {
  TempDir tmp;
  Config cfg = service_config(tmp);
  cfg.events.null_label = "null";
  cfg.window.length = kLen;
  cfg.batcher.max_batch = 2;
  cfg.training.mode = FinetuneMode::kHead;
  cfg.training.epochs = 10;
  cfg.training.lr = 1e-2;
  cfg.training.augment = {};
  {
    capture::CaptureStore store(capture_database(cfg));
    int seed = 1;
    for (const char* l : {"null", "wave", "shake"})
      for (int i = 0; i < 4; ++i) (void)store.append(synth(l, 200, seed++));
  }
  std::vector<std::string> published;
  std::mutex mu;
  std::vector<std::string> live_versions;
  TrainingService::Hooks hooks;
  hooks.publish = [&](std::string, std::string j) {
    std::lock_guard lk(mu);
    published.push_back(nlohmann::json::parse(j)["event"]);
  };
  hooks.swap = [&](std::unique_ptr<model::Classifier> m) {
    std::lock_guard lk(mu);
    live_versions.push_back(m->info().version);
    std::promise<void> p;
    p.set_value();
    return p.get_future();
  };
  TrainingService svc(cfg, hooks);
  EXPECT_EQ(svc.startup_weights(), "");
  svc.start();
  std::promise<ServiceReply> done;
  auto q = svc.request_finetune(std::nullopt, [&](const ServiceReply& r) { done.set_value(r); });
  ASSERT_TRUE(q.ok()) << q.message;
  EXPECT_EQ(svc.request_finetune(std::nullopt, {}).error_code, "conflict");
  const auto r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.result["decision"], "accepted") << r.result.dump();
  EXPECT_EQ(r.result["candidate_version"], 1);
  EXPECT_GT(r.result["metrics"]["val_macro_f1"].get<double>(),
            r.result["metrics"]["live_val_macro_f1"].get<double>());
  // Event figures of both models on the validation captures, through the post-processor: the
  // 2 validation captures of wave and shake are the segments (null captures are null time).
  const auto& ve = r.result["metrics"]["val_events"];
  ASSERT_TRUE(ve.is_object()) << r.result["metrics"].dump();
  EXPECT_EQ(ve["segments"], 2);
  EXPECT_TRUE(r.result["metrics"]["val_event_f1"].is_number());
  EXPECT_TRUE(r.result["metrics"]["live_val_event_f1"].is_number());
  EXPECT_TRUE(svc.models()["versions"][1]["metrics"].contains("val_event_f1"));
  // The per-class calibration: reported before/after, in models.list, and in the model file.
  const auto& cal = r.result["metrics"]["calibration"];
  ASSERT_TRUE(cal.is_object()) << r.result["metrics"].dump();
  EXPECT_TRUE(cal["before"]["event_f1"].is_number());
  EXPECT_GE(cal["after"]["event_f1"].get<double>(), cal["before"]["event_f1"].get<double>());
  EXPECT_TRUE(cal["classes"].contains("wave")) << cal.dump();
  EXPECT_FALSE(cal["classes"].contains("null"));
  EXPECT_TRUE(r.result["metrics"]["calibration_report"]["classes"]["wave"].contains("params"));
  const auto brief = svc.models()["versions"][1]["metrics"]["calibration"];
  ASSERT_TRUE(brief.is_object());
  EXPECT_TRUE(brief["classes"]["wave"].contains("onset_threshold")) << brief.dump();
  EXPECT_TRUE(brief["after"].contains("false_per_hour_null"));
  const auto file = model::open_model_file(svc.startup_weights());
  ASSERT_TRUE(file.info.calibration.has_value());
  EXPECT_EQ(file.info.calibration->classes.count("wave"), 1u);
  EXPECT_EQ(svc.models()["active"], 1);
  EXPECT_NE(svc.startup_weights(), "");  // a restart loads version 1
  {
    std::lock_guard lk(mu);
    EXPECT_EQ(live_versions, (std::vector<std::string>{"v1"}));
    EXPECT_EQ(published.front(), "started");
    EXPECT_NE(std::find(published.begin(), published.end(), "accepted"), published.end());
    EXPECT_NE(std::find(published.begin(), published.end(), "activated"), published.end());
  }
  // The head grew by the new label "shake".
  auto labels = svc.models()["versions"][1]["labels"].get<std::vector<std::string>>();
  EXPECT_EQ(labels, (std::vector<std::string>{"null", "wave", "shake"}));

  // Rolling back goes to the parent (the base model, version 0).
  std::promise<ServiceReply> rb;
  svc.request_rollback(std::nullopt, [&](const ServiceReply& x) { rb.set_value(x); });
  const auto rr = rb.get_future().get();
  ASSERT_TRUE(rr.ok()) << rr.message;
  EXPECT_EQ(rr.result["active"], 0);
  EXPECT_EQ(rr.result["previous"], 1);
  EXPECT_EQ(svc.startup_weights(), "");

  // A missing version is not_found.
  std::promise<ServiceReply> nf;
  svc.request_activate(42, false, [&](const ServiceReply& x) { nf.set_value(x); });
  EXPECT_EQ(nf.get_future().get().error_code, "not_found");
  svc.stop();
}

TEST(TrainingService, RefusesWithoutEnoughData) {
  TempDir tmp;
  Config cfg = service_config(tmp);
  cfg.window.length = kLen;
  cfg.batcher.max_batch = 1;
  {
    capture::CaptureStore store(capture_database(cfg));
    (void)store.append(synth("wave", 200, 1));
  }
  TrainingService svc(cfg, {});
  svc.start();
  std::promise<ServiceReply> done;
  ASSERT_TRUE(
      svc.request_finetune(FinetuneMode::kHead, [&](const ServiceReply& r) { done.set_value(r); })
          .ok());
  const auto r = done.get_future().get();
  EXPECT_EQ(r.error_code, "unavailable");
  EXPECT_NE(r.message.find("at least 2 labels"), std::string::npos) << r.message;
  EXPECT_EQ(svc.status()["last"]["decision"], "failed");
}

/// With a schedule, the service fine-tunes by itself once enough new windows exist, and not
/// again until new captures arrive.
TEST(TrainingService, ScheduleRunsWhenEnoughNewWindows) {
  TempDir tmp;
  Config cfg = service_config(tmp);
  cfg.window.length = kLen;
  cfg.batcher.max_batch = 1;
  cfg.training.mode = FinetuneMode::kHead;
  cfg.training.epochs = 2;
  cfg.training.augment = {};
  cfg.training.schedule_minutes = 0.005;  // 0.3 s
  cfg.training.min_new_windows = 10;
  {
    capture::CaptureStore store(capture_database(cfg));
    int seed = 1;
    for (const char* l : {"null", "wave"})
      for (int i = 0; i < 3; ++i) (void)store.append(synth(l, 200, seed++));
  }
  std::atomic<int> swaps{0};
  TrainingService::Hooks hooks;
  hooks.swap = [&](std::unique_ptr<model::Classifier>) {
    ++swaps;
    std::promise<void> p;
    p.set_value();
    return p.get_future();
  };
  TrainingService svc(cfg, hooks);
  svc.start();
  nlohmann::json last;
  for (int i = 0; i < 300 && last.is_null(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    last = svc.status()["last"];
  }
  ASSERT_FALSE(last.is_null()) << "no scheduled fine-tune within 15 s";
  EXPECT_TRUE(last["scheduled"].get<bool>());
  EXPECT_EQ(svc.status()["schedule"]["trained_upto_capture_id"], 6);
  // Nothing new: no second run.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(svc.status()["last"]["job"], last["job"]);
  EXPECT_EQ(svc.status()["schedule"]["new_windows"], 0);
  svc.stop();
}

}  // namespace
}  // namespace primus::training
