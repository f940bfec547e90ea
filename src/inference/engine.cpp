#include "src/inference/engine.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "src/events/event_types.h"
#include "src/events/post_processor.h"
#include "src/model/classifier.h"
#include "src/model/model_file.h"

namespace primus::inference {
namespace {

/// Batches run at a few fixed shapes so that each is warmed up once: exact sizes 1..8, then the
/// next power of two, capped at max_batch. Padding rows are zeros and their outputs are ignored;
/// under saturation batches are full (max_batch), so padding costs only at middling loads.
int padded_batch(int b, int max_batch) {
  if (b <= 8) return b;
  int p = 16;
  while (p < b) p *= 2;
  return std::min(p, max_batch);
}

}  // namespace

Engine::Engine(const Config& cfg, Batcher& batcher, Emit emit, const TimeSource& clock)
    : cfg_(cfg),
      batcher_(batcher),
      emit_(std::move(emit)),
      clock_(clock),
      events_cfg_(cfg.events) {}

Engine::~Engine() {
  if (thread_.joinable()) {
    batcher_.close();
    thread_.join();
  }
}

std::unique_ptr<model::Classifier> Engine::load_model(const Config& cfg) {
  std::unique_ptr<model::Classifier> clf;
  model::ModelInfo info_from_config;
  info_from_config.labels = cfg.model.labels;
  info_from_config.embedding = cfg.model.embedding;
  info_from_config.window_length = cfg.window.length;
  info_from_config.rate_hz = cfg.window.rate_hz;
  info_from_config.head = "linear";
  if (cfg.model.weights.empty()) {
    auto info = info_from_config;
    info.version = "random-seed" + std::to_string(cfg.model.seed);
    clf = model::Classifier::random(info, cfg.model.seed, cfg.model.device);
    spdlog::warn(
        "model.weights is not set: running the PRIMUS encoder with RANDOM weights (seed {}). "
        "Events are meaningless until you configure a converted weight file.",
        cfg.model.seed);
  } else if (model::open_model_file(cfg.model.weights).kind == model::ModelFileKind::kEncoder) {
    // A converted PRIMUS checkpoint: pretrained encoder, head for the configured labels.
    auto info = info_from_config;
    info.version = "encoder:" + std::filesystem::path(cfg.model.weights).filename().string();
    clf =
        model::Classifier::from_encoder(cfg.model.weights, info, cfg.model.seed, cfg.model.device);
    spdlog::warn(
        "{} holds only the PRIMUS encoder: its classifier head for {} is untrained (seed {}); "
        "teach it gestures (fine-tuning) or configure a classifier file",
        cfg.model.weights, fmt::format("{}", fmt::join(info.labels, ", ")), cfg.model.seed);
  } else {
    clf = model::Classifier::load(cfg.model.weights, cfg.model.device);
  }
  const auto& info = clf->info();
  if (info.window_length != cfg.window.length)
    spdlog::warn("model {} was trained on windows of {} samples; window.length is {}", info.version,
                 info.window_length, cfg.window.length);
  if (info.rate_hz != cfg.window.rate_hz)
    spdlog::warn("model {} was trained at {} Hz; window.rate_hz is {}", info.version, info.rate_hz,
                 cfg.window.rate_hz);
  if (std::find(info.labels.begin(), info.labels.end(), cfg.events.null_label) == info.labels.end())
    spdlog::warn("model {} has no class \"{}\" (events.null_label): every confident window votes",
                 info.version, cfg.events.null_label);
  warm_up(*clf, cfg.batcher.max_batch, cfg.window.length);
  return clf;
}

void Engine::warm_up(model::Classifier& m, int max_batch, int length) {
  std::vector<float> x(static_cast<std::size_t>(max_batch) * kChannels * length, 0.0f);
  std::vector<float> p(static_cast<std::size_t>(max_batch) * m.num_classes());
  int last = 0;
  for (int b = 1; b <= max_batch; ++b) {
    const int shape = padded_batch(b, max_batch);
    if (shape == last) continue;
    m.predict(x.data(), shape, length, p.data());
    last = shape;
  }
}

void Engine::start() {
  // The model is built on the inference thread (torch thread settings are per thread).
  std::promise<void> loaded;
  auto fut = loaded.get_future();
  thread_ = std::thread([this, &loaded] { run(nullptr, &loaded); });
  try {
    fut.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

void Engine::start(std::unique_ptr<model::Classifier> m) {
  std::promise<void> loaded;
  auto fut = loaded.get_future();
  thread_ =
      std::thread([this, &loaded, mm = std::move(m)]() mutable { run(std::move(mm), &loaded); });
  fut.get();
}

void Engine::stop() {
  batcher_.close();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  if (has_pending_) {
    pending_done_.set_exception(
        std::make_exception_ptr(std::runtime_error("engine stopped before the swap")));
    has_pending_ = false;
    pending_.reset();
  }
}

std::future<void> Engine::request_swap(std::unique_ptr<model::Classifier> next) {
  std::lock_guard lk(mu_);
  if (has_pending_) {
    pending_done_.set_exception(std::make_exception_ptr(
        std::runtime_error("superseded by a newer model before it went live")));
  }
  pending_ = std::move(next);
  pending_done_ = std::promise<void>();
  has_pending_ = true;
  auto f = pending_done_.get_future();
  batcher_.wake();  // swap now even when no window is arriving
  return f;
}

void Engine::set_events_config(const EventsConfig& cfg) {
  std::lock_guard lk(mu_);
  events_cfg_ = cfg;
  ++events_cfg_gen_;
}

void Engine::run(std::unique_ptr<model::Classifier> clf, std::promise<void>* loaded) {
  pthread_setname_np(pthread_self(), "primus-infer");
  try {
    model::set_inference_threads(cfg_.model.threads);
    if (!clf) clf = load_model(cfg_);
    std::lock_guard lk(mu_);
    model_version_ = clf->info().version;
    device_name_ = clf->device_name();
    labels_ = clf->info().labels;
    spdlog::info("model {} ready on {} ({} classes, window {} x {} Hz, {} thread(s))",
                 model_version_, device_name_, clf->num_classes(), cfg_.window.length,
                 cfg_.window.rate_hz, cfg_.model.threads);
  } catch (...) {
    loaded->set_exception(std::current_exception());
    return;
  }
  loaded->set_value();

  const int T = cfg_.window.length;
  const int max_batch = cfg_.batcher.max_batch;
  started_ns_.store(clock_.now_ns());
  EventsConfig ev_cfg;
  std::uint64_t ev_gen = 0;
  {
    std::lock_guard lk(mu_);
    ev_cfg = events_cfg_;
    ev_gen = events_cfg_gen_;
  }
  auto make_processors = [&](const std::vector<std::string>& labels) {
    std::vector<events::PostProcessor> pp;
    pp.reserve(cfg_.devices.size());
    for (const auto& d : cfg_.devices) pp.emplace_back(d.id, labels, ev_cfg);
    return pp;
  };
  std::vector<events::PostProcessor> processors = make_processors(clf->info().labels);
  std::string version = clf->info().version;
  int C = clf->num_classes();

  auto flush_all = [&] {
    for (auto& p : processors) {
      if (auto e = p.flush()) emit_("gesture." + e->device, events::to_json(*e));
    }
  };
  // Post-processing counters: those of retired processors (before a swap) plus the live ones.
  events::PostProcessorStats retired;
  auto publish_pp_stats = [&] {  // call with mu_ held
    events::PostProcessorStats sum = retired;
    for (const auto& p : processors) {
      sum.rejected_ambiguous += p.stats().rejected_ambiguous;
      sum.too_short += p.stats().too_short;
      sum.discontinuities += p.stats().discontinuities;
    }
    totals_.rejected_ambiguous = sum.rejected_ambiguous;
    totals_.too_short = sum.too_short;
    totals_.discontinuities = sum.discontinuities;
  };
  auto fold_stats = [&] {
    for (const auto& p : processors) {
      retired.rejected_ambiguous += p.stats().rejected_ambiguous;
      retired.too_short += p.stats().too_short;
      retired.discontinuities += p.stats().discontinuities;
    }
  };

  std::vector<float> input(static_cast<std::size_t>(max_batch) * kChannels * T, 0.0f);
  std::vector<float> probs(static_cast<std::size_t>(max_batch) * C);
  std::vector<Window> batch;
  batch.reserve(max_batch);
  std::vector<std::uint64_t> pp_events_before(processors.size());
  while (batcher_.pop_batch(batch)) {
    const std::int64_t t_formed = clock_.now_ns();
    // Between two batches: adopt a new model and new post-processing settings.
    {
      std::unique_lock lk(mu_);
      if (has_pending_) {
        auto next = std::move(pending_);
        auto done = std::move(pending_done_);
        has_pending_ = false;
        lk.unlock();
        flush_all();
        fold_stats();
        const auto old_version = version;
        clf = std::move(next);  // the old model is freed here, on its own thread
        version = clf->info().version;
        C = clf->num_classes();
        probs.assign(static_cast<std::size_t>(max_batch) * C, 0.0f);
        processors = make_processors(clf->info().labels);
        lk.lock();
        model_version_ = version;
        device_name_ = clf->device_name();
        labels_ = clf->info().labels;
        ++totals_.swaps;
        lk.unlock();
        done.set_value();
        spdlog::info("model {} is live (was {})", version, old_version);
        lk.lock();
      }
      if (events_cfg_gen_ != ev_gen) {
        ev_cfg = events_cfg_;
        ev_gen = events_cfg_gen_;
        for (auto& p : processors) p.set_config(ev_cfg);
      }
    }

    if (batch.empty()) continue;  // woken for a swap only
    const int B = static_cast<int>(batch.size());
    const int shape = padded_batch(B, max_batch);
    for (int b = 0; b < B; ++b) {
      std::copy(batch[b].data.begin(), batch[b].data.end(),
                input.begin() + static_cast<std::ptrdiff_t>(b) * kChannels * T);
    }
    std::fill(input.begin() + static_cast<std::ptrdiff_t>(B) * kChannels * T,
              input.begin() + static_cast<std::ptrdiff_t>(shape) * kChannels * T, 0.0f);
    const auto t0 = clock_.now_ns();
    try {
      clf->predict(input.data(), shape, T, probs.data());
    } catch (const std::exception& e) {
      spdlog::error("inference failed on a batch of {}: {}; batch dropped", B, e.what());
      std::lock_guard lk(mu_);
      ++totals_.failed_batches;
      continue;
    }
    const auto t1 = clock_.now_ns();
    const bool scores_on = ev_cfg.publish_scores;
    std::uint64_t n_events = 0;
    for (int b = 0; b < B; ++b) {
      const Window& w = batch[b];
      const float* p = probs.data() + static_cast<std::ptrdiff_t>(b) * C;
      const auto& dev = cfg_.devices[w.device].id;
      const events::Stamp start{w.t_start_host_ns, w.t_start_device_us};
      const events::Stamp end{w.t_end_host_ns, w.t_end_device_us};
      auto& pp = processors[w.device];
      auto e = pp.update(w.seq, p, start, end, version);
      if (scores_on) {
        events::ScoreMessage m{dev,    w.seq, start, end, pp.labels(), std::vector<float>(p, p + C),
                               version};
        m.t_ready_ns = w.t_ready_ns;
        m.interpolated = w.interpolated;
        emit_("score." + dev, events::to_json(m));
      }
      if (e) {
        emit_("gesture." + dev, events::to_json(*e));
        ++n_events;
      }
      const std::int64_t t_done = clock_.now_ns();
      const double lat = static_cast<double>(t_done - w.t_ready_ns) * 1e-9;
      latency_.observe(t_done, lat * 1e3);
      hist_.latency_s.observe(lat);
      const double q = static_cast<double>(t_formed - w.t_ready_ns) * 1e-9;
      queue_.observe(t_done, q * 1e3);
      hist_.queue_s.observe(q);
    }
    const double c = static_cast<double>(t1 - t0) * 1e-9;
    compute_.observe(t1, c * 1e3);
    windows_.observe(t1, B);
    hist_.compute_s.observe(c);
    hist_.batch_size.observe(B);
    std::lock_guard lk(mu_);
    totals_.windows += B;
    totals_.batches += 1;
    totals_.events += n_events;
    publish_pp_stats();
  }
  // Drained: close what is in progress so no gesture is lost at shutdown.
  flush_all();
  {
    std::lock_guard lk(mu_);
    publish_pp_stats();
  }
  clf.reset();
}

EngineStats Engine::stats() const {
  const std::int64_t now = clock_.now_ns();
  EngineStats s;
  {
    std::lock_guard lk(mu_);
    s = totals_;
  }
  s.mean_batch = s.batches ? static_cast<double>(s.windows) / static_cast<double>(s.batches) : 0;
  s.latency_ms = latency_.summary(now);
  s.compute_ms = compute_.summary(now);
  s.queue_ms = queue_.summary(now);
  const auto w = windows_.summary(now);
  const double span_s =
      std::clamp(static_cast<double>(now - started_ns_.load()) * 1e-9, 1e-3, 60.0);
  s.windows_per_s = w.mean * static_cast<double>(w.n) / span_s;
  return s;
}

std::string Engine::model_version() const {
  std::lock_guard lk(mu_);
  return model_version_;
}

std::string Engine::device_name() const {
  std::lock_guard lk(mu_);
  return device_name_;
}

std::vector<std::string> Engine::labels() const {
  std::lock_guard lk(mu_);
  return labels_;
}

}  // namespace primus::inference
