#include "src/inference/engine.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "src/events/event_types.h"
#include "src/events/gesture_tracker.h"
#include "src/model/classifier.h"

namespace primus::inference {
namespace {
constexpr std::size_t kLatencyWindow = 4096;
constexpr std::size_t kComputeWindow = 256;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}
}  // namespace

Engine::Engine(const Config& cfg, Batcher& batcher, Emit emit, const TimeSource& clock)
    : cfg_(cfg),
      batcher_(batcher),
      emit_(std::move(emit)),
      clock_(clock),
      threshold_(cfg.events.threshold),
      publish_scores_(cfg.events.publish_scores) {}

Engine::~Engine() {
  if (thread_.joinable()) {
    batcher_.close();
    thread_.join();
  }
}

void Engine::start() {
  std::promise<void> loaded;
  auto fut = loaded.get_future();
  thread_ = std::thread([this, &loaded] { run(&loaded); });
  try {
    fut.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

void Engine::stop() {
  batcher_.close();
  if (thread_.joinable()) thread_.join();
}

void Engine::run(std::promise<void>* loaded) {
  pthread_setname_np(pthread_self(), "primus-infer");
  std::unique_ptr<model::Classifier> clf;
  try {
    model::set_inference_threads(cfg_.model.threads);
    if (cfg_.model.weights.empty()) {
      model::ModelInfo info;
      info.labels = cfg_.model.labels;
      info.embedding = cfg_.model.embedding;
      info.window_length = cfg_.window.length;
      info.rate_hz = cfg_.window.rate_hz;
      info.version = "random-seed" + std::to_string(cfg_.model.seed);
      info.head = "linear";
      clf = model::Classifier::random(info, cfg_.model.seed, cfg_.model.device);
      spdlog::warn(
          "model.weights is not set: running the PRIMUS encoder with RANDOM weights (seed {}). "
          "Events are meaningless until you configure a converted weight file.",
          cfg_.model.seed);
    } else {
      clf = model::Classifier::load(cfg_.model.weights, cfg_.model.device);
    }
    if (clf->info().window_length != 0 && clf->info().window_length != cfg_.window.length) {
      spdlog::warn("model {} was made for windows of {} samples; window.length is {}",
                   clf->info().version, clf->info().window_length, cfg_.window.length);
    }
    // Warm up every batch size the batcher can form once, so first real batches are not slow.
    const int T = cfg_.window.length;
    std::vector<float> zeros(static_cast<std::size_t>(cfg_.batcher.max_batch) * kChannels * T, 0.0f);
    std::vector<float> probs(static_cast<std::size_t>(cfg_.batcher.max_batch) * clf->num_classes());
    for (int b : {1, cfg_.batcher.max_batch}) clf->predict(zeros.data(), b, T, probs.data());
    {
      std::lock_guard lk(stats_mu_);
      model_version_ = clf->info().version;
      device_name_ = clf->device_name();
    }
    spdlog::info("model {} loaded on {} ({} classes, window {} x {} Hz, {} thread(s))",
                 clf->info().version, clf->device_name(), clf->num_classes(), T,
                 cfg_.window.rate_hz, cfg_.model.threads);
  } catch (...) {
    loaded->set_exception(std::current_exception());
    return;
  }
  loaded->set_value();

  const auto& labels = clf->info().labels;
  const int C = clf->num_classes();
  const int T = cfg_.window.length;
  const std::string version = clf->info().version;
  std::vector<events::GestureTracker> trackers;
  trackers.reserve(cfg_.devices.size());
  for (const auto& d : cfg_.devices) trackers.emplace_back(d.id, labels, cfg_.events.null_label);

  std::vector<float> input(static_cast<std::size_t>(cfg_.batcher.max_batch) * kChannels * T);
  std::vector<float> probs(static_cast<std::size_t>(cfg_.batcher.max_batch) * C);
  std::vector<Window> batch;
  batch.reserve(cfg_.batcher.max_batch);
  while (batcher_.pop_batch(batch)) {
    const int B = static_cast<int>(batch.size());
    for (int b = 0; b < B; ++b) {
      std::copy(batch[b].data.begin(), batch[b].data.end(),
                input.begin() + static_cast<std::ptrdiff_t>(b) * kChannels * T);
    }
    const auto t0 = clock_.now_ns();
    try {
      clf->predict(input.data(), B, T, probs.data());
    } catch (const std::exception& e) {
      spdlog::error("inference failed on a batch of {}: {}; batch dropped", B, e.what());
      continue;
    }
    const auto t1 = clock_.now_ns();
    const double threshold = threshold_.load();
    const bool scores_on = publish_scores_.load();
    std::uint64_t n_events = 0;
    std::vector<double> lat;
    lat.reserve(B);
    for (int b = 0; b < B; ++b) {
      const Window& w = batch[b];
      const float* p = probs.data() + static_cast<std::ptrdiff_t>(b) * C;
      const auto& dev = cfg_.devices[w.device].id;
      events::Stamp start{w.t_start_host_ns, w.t_start_device_us};
      events::Stamp end{w.t_end_host_ns, w.t_end_device_us};
      if (scores_on) {
        events::ScoreMessage m{dev, w.seq, start, end, labels, std::vector<float>(p, p + C), version};
        emit_("score." + dev, events::to_json(m));
      }
      if (auto e = trackers[w.device].update(p, start, end, threshold, version)) {
        emit_("gesture." + dev, events::to_json(*e));
        ++n_events;
      }
      lat.push_back(static_cast<double>(clock_.now_ns() - w.t_ready_ns) * 1e-6);
    }
    std::lock_guard lk(stats_mu_);
    totals_.windows += B;
    totals_.batches += 1;
    totals_.events += n_events;
    for (double l : lat) {
      if (latencies_ms_.size() < kLatencyWindow) {
        latencies_ms_.push_back(l);
      } else {
        latencies_ms_[latency_pos_] = l;
        latency_pos_ = (latency_pos_ + 1) % kLatencyWindow;
      }
    }
    const double c_ms = static_cast<double>(t1 - t0) * 1e-6;
    if (compute_ms_.size() < kComputeWindow) {
      compute_ms_.push_back(c_ms);
    } else {
      compute_ms_[compute_pos_] = c_ms;
      compute_pos_ = (compute_pos_ + 1) % kComputeWindow;
    }
  }
  // Drained: close what is in progress so no gesture is lost at shutdown.
  for (auto& t : trackers) {
    if (auto e = t.flush()) emit_("gesture." + e->device, events::to_json(*e));
  }
  clf.reset();
}

EngineStats Engine::stats() const {
  std::lock_guard lk(stats_mu_);
  EngineStats s = totals_;
  s.mean_batch = s.batches ? static_cast<double>(s.windows) / static_cast<double>(s.batches) : 0;
  s.latency_p50_ms = percentile(latencies_ms_, 0.50);
  s.latency_p99_ms = percentile(latencies_ms_, 0.99);
  s.latency_max_ms =
      latencies_ms_.empty() ? 0 : *std::max_element(latencies_ms_.begin(), latencies_ms_.end());
  double sum = 0;
  for (double c : compute_ms_) sum += c;
  s.compute_mean_ms = compute_ms_.empty() ? 0 : sum / static_cast<double>(compute_ms_.size());
  return s;
}

std::string Engine::model_version() const {
  std::lock_guard lk(stats_mu_);
  return model_version_;
}

std::string Engine::device_name() const {
  std::lock_guard lk(stats_mu_);
  return device_name_;
}

}  // namespace primus::inference
