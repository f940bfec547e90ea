// Fine-tuning evaluation (issue "teach it new gestures"):
//   cv-arduino  repeated stratified K-fold cross-validation BY GESTURE on the 26 real Arduino
//               punch/flex gestures (../shared/data), for each mode (head, full, staged)
//   cv-sim      the same on the simulator's gestures (wave, circle, shake, tap)
//   timing      seconds to fine-tune 1,000 windows of 250 samples for 20 epochs in each mode,
//               and the process's peak RSS
// Gestures go through the real signal pipeline (units, resampling to 50 Hz) and become captures
// exactly as the daemon stores them (label span + context); the dataset, trainer and metrics are
// the daemon's. The encoder starts from random weights: no pretrained PRIMUS weights exist here.
//
//   build/bench/finetune_eval --what all --repeats 2 --folds 4 --threads 1
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "adapters/sim_source.h"
#include "bench/gesture_data.h"
#include "src/capture/ring_capture.h"
#include "src/model/classifier.h"
#include "src/signal/device_pipeline.h"
#include "src/training/dataset.h"
#include "src/training/trainer.h"

using namespace primus;

namespace {

struct Labelled {
  std::vector<capture::CaptureRecord> captures;
  std::map<std::int64_t, std::string> group;  // capture id -> label (for stratified folds)
};

/// Runs samples (with per-sample truth labels) through a DevicePipeline and cuts captures: one
/// per gesture (span + context, as the daemon stores them) and one per rest at least a window
/// long (label "null").
Labelled to_captures(const std::vector<Sample>& samples, const std::vector<std::string>& truth,
                     const DeviceConfig& dev, const WindowConfig& win, std::int64_t& next_id) {
  signal::DevicePipeline p(dev, win, 0);
  std::vector<signal::ModelFrame> frames;
  std::vector<signal::ModelFrame> buf(4096);
  std::uint64_t next = 0;
  for (const auto& s : samples) {
    p.push(s, [](Window&&) {});
    const auto r = p.ring().read(next, buf.data(), buf.size());
    frames.insert(frames.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.count));
    next = r.first + r.count;
  }
  // Truth of a frame: the input sample at (or just before) its host time.
  const std::int64_t t0 = samples.front().t_host_ns;
  const double dt = static_cast<double>(samples[1].t_host_ns - t0);
  std::vector<std::string> ft(frames.size());
  for (std::size_t k = 0; k < frames.size(); ++k) {
    auto i =
        static_cast<std::int64_t>(std::floor(static_cast<double>(frames[k].t_host_ns - t0) / dt));
    i = std::clamp<std::int64_t>(i, 0, static_cast<std::int64_t>(truth.size()) - 1);
    ft[k] = truth[static_cast<std::size_t>(i)];
  }
  Labelled out;
  const auto L = static_cast<std::size_t>(win.length);
  auto make = [&](std::size_t a, std::size_t b, std::size_t la, std::size_t lb,
                  const std::string& label) {
    std::vector<signal::ModelFrame> span(frames.begin() + static_cast<std::ptrdiff_t>(a),
                                         frames.begin() + static_cast<std::ptrdiff_t>(b));
    nlohmann::json conv{{"label_first", la - a}, {"label_count", lb - la}};
    auto rec =
        capture::record_from_frames(span, dev.id, label, win.rate_hz, dev.rate_hz, conv.dump());
    rec.id = next_id++;
    out.group[rec.id] = label;
    out.captures.push_back(std::move(rec));
  };
  std::size_t k = 0;
  while (k < frames.size()) {
    std::size_t e = k;
    while (e < frames.size() && ft[e] == ft[k]) ++e;
    const std::size_t n = e - k;
    if (ft[k] != "null") {
      const std::size_t pad = n < L ? L - n : 0;
      const std::size_t a = k >= pad ? k - pad : 0;
      const std::size_t b = std::min(frames.size(), e + pad);
      make(a, b, k, e, ft[k]);
    } else if (n >= L) {
      make(k, e, k, e, "null");
    }
    k = e;
  }
  return out;
}

Labelled arduino_captures(const std::string& data_dir, const WindowConfig& win) {
  const auto gestures = gesture_data::load_punch_flex(data_dir);
  DeviceConfig dev;
  dev.id = "nano33";
  dev.adapter = AdapterKind::kReplay;
  dev.rate_hz = 119;
  dev.acc_unit = AccUnit::kG;
  dev.gyro_unit = GyroUnit::kDegPerSec;
  dev.gyro_source = GyroSource::kMeasured;
  std::vector<int> order(gestures.size());
  std::iota(order.begin(), order.end(), 0);
  const auto stream = gesture_data::make_stream(gestures, order, 3.0, 119.0, 7);
  std::vector<Sample> samples;
  std::vector<std::string> truth;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    Sample s;
    s.fields = kFieldAcc | kFieldGyro | kFieldSeq | kFieldTDevice;
    s.seq = static_cast<std::uint32_t>(i);
    s.t_device_us = static_cast<std::int64_t>(static_cast<double>(i) * 1e6 / 119.0);
    s.t_host_ns = 1'000'000'000 + static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / 119.0);
    s.acc = {stream[i].v[0], stream[i].v[1], stream[i].v[2]};
    s.gyro = {stream[i].v[3], stream[i].v[4], stream[i].v[5]};
    samples.push_back(s);
    truth.emplace_back(stream[i].label);
  }
  std::int64_t id = 1;
  return to_captures(samples, truth, dev, win, id);
}

Labelled sim_captures(double seconds, const WindowConfig& win, std::uint64_t seed) {
  DeviceConfig dev;
  dev.id = "sim";
  dev.adapter = AdapterKind::kSim;
  dev.rate_hz = 100;
  dev.seed = seed;
  adapters::SimDevice sim(dev, 0);
  std::vector<Sample> samples;
  std::vector<std::string> truth;
  const auto n = static_cast<std::size_t>(seconds * dev.rate_hz);
  for (std::size_t i = 0; i < n; ++i) {
    Sample s = sim.next();
    s.t_host_ns = 1'000'000'000 + static_cast<std::int64_t>(static_cast<double>(i) * 1e7);
    samples.push_back(s);
    truth.push_back(sim.current_label());
  }
  std::int64_t id = 1;
  return to_captures(samples, truth, dev, win, id);
}

struct FoldResult {
  double window_acc = 0, macro_f1 = 0, gesture_acc = 0, seconds = 0;
  double base_window_acc = 0;
};

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double sd(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

/// Majority vote of a model over the windows of each gesture capture in `test`.
double gesture_accuracy(model::Classifier& m, const training::WindowSet& test,
                        const std::vector<std::string>& labels) {
  std::map<std::int64_t, std::map<int, int>> votes;
  std::map<std::int64_t, int> truth;
  const auto C = static_cast<std::size_t>(m.num_classes());
  std::vector<float> p(C);
  for (std::size_t i = 0; i < test.size(); ++i) {
    m.predict(test.window(i), 1, test.length, p.data());
    const auto best = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    const auto& name = m.info().labels[best];
    const int cls =
        static_cast<int>(std::find(labels.begin(), labels.end(), name) - labels.begin());
    ++votes[test.capture_id[i]][cls];
    truth[test.capture_id[i]] = test.y[i];
  }
  int right = 0, total = 0;
  for (const auto& [cap, v] : votes) {
    if (labels[static_cast<std::size_t>(truth[cap])] == "null") continue;
    const auto best =
        std::max_element(v.begin(), v.end(), [](auto& a, auto& b) { return a.second < b.second; });
    right += best->first == truth[cap];
    ++total;
  }
  return total ? static_cast<double>(right) / total : 0;
}

void cross_validate(const char* name, const Labelled& data, const std::vector<std::string>& labels,
                    const WindowConfig& win, int repeats, int folds, int epochs, int stride) {
  model::ModelInfo info;
  info.labels = labels;
  info.window_length = win.length;
  info.rate_hz = win.rate_hz;
  info.version = "random";
  auto base = model::Classifier::random(info, 1, "cpu");
  std::map<std::string, int> per_label;
  for (const auto& [id, l] : data.group) ++per_label[l];
  std::printf("\n## %s: %zu captures (", name, data.captures.size());
  for (const auto& [l, n] : per_label) std::printf(" %s %d", l.c_str(), n);
  std::printf(" ), window %d, %d x %d-fold CV by capture, %d epochs max\n", win.length, repeats,
              folds, epochs);
  std::printf(
      "| mode | window accuracy | macro-F1 | gesture accuracy (vote) | s per fold | "
      "untrained window accuracy |\n|---|---|---|---|---|---|\n");
  for (auto mode : {FinetuneMode::kHead, FinetuneMode::kFull, FinetuneMode::kStaged}) {
    std::vector<double> wa, f1, ga, secs, base_wa;
    for (int r = 0; r < repeats; ++r) {
      // Stratified folds: per label, captures shuffled and dealt round-robin.
      std::map<std::int64_t, int> fold_of;
      std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(r));
      std::map<std::string, std::vector<std::int64_t>> by;
      for (const auto& [id, l] : data.group) by[l].push_back(id);
      for (auto& [l, ids] : by) {
        std::shuffle(ids.begin(), ids.end(), rng);
        for (std::size_t i = 0; i < ids.size(); ++i) fold_of[ids[i]] = static_cast<int>(i) % folds;
      }
      for (int f = 0; f < folds; ++f) {
        std::vector<capture::CaptureRecord> tr, te;
        for (const auto& c : data.captures) (fold_of[c.id] == f ? te : tr).push_back(c);
        training::DatasetOptions o{win.length, stride, 0.25,
                                   static_cast<std::uint64_t>(r * 100 + f)};
        const auto ds = training::build_dataset(tr, labels, o);
        const auto test = training::build_dataset(te, ds.labels, {win.length, stride, 0.0, 1},
                                                  [](std::int64_t) { return true; });
        // The daemon's defaults ([training] in docs/config.md) except epochs.
        training::FinetuneOptions fo = training::finetune_options(TrainingConfig{});
        fo.mode = mode;
        fo.epochs = epochs;
        fo.head_epochs = std::max(1, epochs / 4);
        fo.seed = static_cast<std::uint64_t>(r * 100 + f + 1);
        const auto res = training::finetune(*base, ds, fo);
        const auto m = training::evaluate(*res.model, test.val, ds.labels);
        const auto b = training::evaluate(*base, test.val, ds.labels);
        wa.push_back(m.accuracy);
        f1.push_back(m.macro_f1);
        ga.push_back(gesture_accuracy(*res.model, test.val, ds.labels));
        secs.push_back(res.seconds);
        base_wa.push_back(b.accuracy);
      }
    }
    std::printf("| %s | %.3f ± %.3f | %.3f ± %.3f | %.3f ± %.3f | %.1f | %.3f |\n", to_string(mode),
                mean(wa), sd(wa), mean(f1), sd(f1), mean(ga), sd(ga), mean(secs), mean(base_wa));
    std::fflush(stdout);
  }
}

long peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

void timing(int threads) {
  WindowConfig win;
  win.length = 250;
  auto data = sim_captures(1500, win, 11);
  std::vector<std::string> labels{"null", "wave", "circle", "shake", "tap"};
  auto ds = training::build_dataset(data.captures, labels, {250, 10, 0.1, 1});
  // Exactly 1,000 training windows.
  std::printf("\n## timing: 1,000 windows x 20 epochs, T = 250, %d thread(s) (%zu available)\n",
              threads, ds.train.size());
  if (ds.train.size() > 1000) {
    const std::size_t per = 6 * 250;
    ds.train.x.resize(1000 * per);
    ds.train.y.resize(1000);
    ds.train.capture_id.resize(1000);
  }
  model::ModelInfo info;
  info.labels = ds.labels;
  info.window_length = 250;
  info.version = "random";
  auto base = model::Classifier::random(info, 1, "cpu");
  std::printf("| mode | seconds | windows/s (train) | peak RSS MB |\n|---|---|---|---|\n");
  for (auto mode : {FinetuneMode::kHead, FinetuneMode::kFull, FinetuneMode::kStaged}) {
    for (bool aug : {false, true}) {
      if (mode != FinetuneMode::kHead && !aug) continue;
      training::FinetuneOptions fo;
      fo.mode = mode;
      fo.epochs = 20;
      fo.head_epochs = 5;
      fo.patience = 100;  // no early stop: all 20 epochs
      fo.augment = aug ? std::vector<std::string>{"scale"} : std::vector<std::string>{};
      const auto res = training::finetune(*base, ds, fo);
      std::printf("| %s%s | %.1f | %.0f | %ld |\n", to_string(mode),
                  aug ? " (augment scale)" : " (no augmentation: cached embeddings)", res.seconds,
                  20000.0 / res.seconds, peak_rss_mb());
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fine-tuning evaluation: cross-validation on real and simulated gestures, timing"};
  std::string what = "all", data_dir = PRIMUS_SHARED_DATA_DIR;
  int repeats = 2, folds = 4, epochs = 20, threads = 1, stride = 5;
  app.add_option("--what", what, "cv-arduino | cv-sim | timing | all")->capture_default_str();
  app.add_option("--data", data_dir, "shared data directory")->capture_default_str();
  app.add_option("--repeats", repeats)->capture_default_str();
  app.add_option("--folds", folds)->capture_default_str();
  app.add_option("--epochs", epochs)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--stride", stride, "samples between training windows")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  training::set_training_threads(threads);
  WindowConfig win;
  win.length = 125;
  if (what == "cv-arduino" || what == "all")
    cross_validate("arduino punch/flex (real)", arduino_captures(data_dir, win),
                   {"null", "punch", "flex"}, win, repeats, folds, epochs, stride);
  if (what == "cv-sim" || what == "all")
    cross_validate("simulator", sim_captures(400, win, 3),
                   {"null", "wave", "circle", "shake", "tap"}, win, repeats, folds, epochs, stride);
  if (what == "timing" || what == "all") timing(threads);
  std::printf("\npeak RSS %ld MB\n", peak_rss_mb());
  return 0;
}
