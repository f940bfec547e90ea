#include "src/inference/engine.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "src/model/classifier.h"
#include "src/model/model_loader.h"

namespace primus::inference {

Engine::Engine(const Config& cfg, Batcher& batcher, Sink sink, const TimeSource& clock)
    : cfg_(cfg), batcher_(batcher), sink_(std::move(sink)), clock_(clock) {}

Engine::~Engine() {
  if (thread_.joinable()) {
    batcher_.close();
    thread_.join();
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

void Engine::run(std::unique_ptr<model::Classifier> clf, std::promise<void>* loaded) {
  pthread_setname_np(pthread_self(), "primus-infer");
  try {
    model::set_inference_threads(cfg_.model.threads);
    if (!clf) clf = model::load_model(cfg_);
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
  auto tag_of = [](const model::Classifier& m) {
    return std::make_shared<const events::ModelTag>(
        events::ModelTag{m.info().version, m.info().labels});
  };
  std::shared_ptr<const events::ModelTag> tag = tag_of(*clf);
  int C = clf->num_classes();

  std::vector<float> input(static_cast<std::size_t>(max_batch) * kChannels * T, 0.0f);
  std::vector<float> probs(static_cast<std::size_t>(max_batch) * C);
  std::vector<Window> batch;
  batch.reserve(max_batch);
  while (batcher_.pop_batch(batch)) {
    const std::int64_t t_formed = clock_.now_ns();
    // Between two batches: adopt a new model.
    {
      std::unique_lock lk(mu_);
      if (has_pending_) {
        auto next = std::move(pending_);
        auto done = std::move(pending_done_);
        has_pending_ = false;
        lk.unlock();
        const auto old_version = tag->version;
        clf = std::move(next);  // the old model is freed here, on its own thread
        tag = tag_of(*clf);
        C = clf->num_classes();
        probs.assign(static_cast<std::size_t>(max_batch) * C, 0.0f);
        lk.lock();
        model_version_ = tag->version;
        device_name_ = clf->device_name();
        labels_ = tag->labels;
        ++totals_.swaps;
        lk.unlock();
        done.set_value();
        spdlog::info("model {} is live (was {})", tag->version, old_version);
      }
    }

    if (batch.empty()) continue;  // woken for a swap only
    const int B = static_cast<int>(batch.size());
    const int shape = model::padded_batch(B, max_batch);
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
    events::ScoredBatch out;
    out.model = tag;
    out.windows.reserve(B);
    for (int b = 0; b < B; ++b) {
      const Window& w = batch[b];
      out.windows.push_back({w.device,
                             w.seq,
                             {w.t_start_host_ns, w.t_start_device_us},
                             {w.t_end_host_ns, w.t_end_device_us},
                             w.t_ready_ns,
                             w.interpolated});
      const double q = static_cast<double>(t_formed - w.t_ready_ns) * 1e-9;
      queue_.observe(t1, q * 1e3);
      hist_.queue_s.observe(q);
    }
    out.scores.assign(probs.begin(), probs.begin() + static_cast<std::ptrdiff_t>(B) * C);
    const bool accepted = sink_ ? sink_(std::move(out)) : true;
    const double c = static_cast<double>(t1 - t0) * 1e-9;
    compute_.observe(t1, c * 1e3);
    windows_.observe(t1, B);
    hist_.compute_s.observe(c);
    hist_.batch_size.observe(B);
    std::lock_guard lk(mu_);
    totals_.windows += B;
    totals_.batches += 1;
    if (!accepted) ++totals_.sink_refused;
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
