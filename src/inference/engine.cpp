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
  if (!threads_.empty()) {
    batcher_.close();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
}

void Engine::start() { launch(nullptr); }

void Engine::start(std::unique_ptr<model::Classifier> m) { launch(std::move(m)); }

void Engine::launch(std::unique_ptr<model::Classifier> initial) {
  // Instance 0 loads the model (torch thread settings are per thread), then the others start.
  std::promise<void> loaded;
  auto fut = loaded.get_future();
  threads_.emplace_back(
      [this, &loaded, m = std::move(initial)]() mutable { run(0, &loaded, std::move(m)); });
  try {
    fut.get();
  } catch (...) {
    threads_.front().join();
    threads_.clear();
    throw;
  }
  for (int i = 1; i < cfg_.model.instances; ++i)
    threads_.emplace_back([this, i] { run(i, nullptr, nullptr); });
  std::lock_guard lk(mu_);
  totals_.instances = static_cast<int>(threads_.size());
}

void Engine::stop() {
  batcher_.close();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
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

void Engine::install_locked(std::unique_ptr<model::Classifier> m) {
  m->set_backend(cfg_.model.backend);
  m->prepare();  // a no-op for a model load_model() or warm_up() prepared
  const auto& cal = m->info().calibration;
  live_tag_ = std::make_shared<const events::ModelTag>(
      events::ModelTag{m->info().version, m->info().labels,
                       cal ? std::make_shared<const events::Calibration>(*cal) : nullptr});
  live_ = std::shared_ptr<model::Classifier>(std::move(m));
  std::lock_guard lk(mu_);
  model_version_ = live_tag_->version;
  device_name_ = live_->device_name();
  path_ = live_->path_name();
  labels_ = live_tag_->labels;
}

void Engine::adopt_pending_locked() {
  std::unique_lock lk(mu_);
  if (!has_pending_) return;
  auto next = std::move(pending_);
  auto done = std::move(pending_done_);
  has_pending_ = false;
  lk.unlock();
  const auto old_version = live_tag_->version;
  install_locked(std::move(next));
  lk.lock();
  ++totals_.swaps;
  lk.unlock();
  done.set_value();
  spdlog::info("model {} is live (was {})", live_tag_->version, old_version);
}

void Engine::deliver(std::uint64_t ticket, std::optional<events::ScoredBatch> scored) {
  std::lock_guard lk(out_mu_);
  const auto at = static_cast<std::size_t>(ticket - next_out_);
  if (waiting_.size() <= at) waiting_.resize(at + 1);
  waiting_[at].done = true;
  waiting_[at].scored = std::move(scored);
  while (!waiting_.empty() && waiting_.front().done) {
    auto slot = std::move(waiting_.front());
    waiting_.pop_front();
    ++next_out_;
    if (!slot.scored) continue;
    const bool accepted = sink_ ? sink_(std::move(*slot.scored)) : true;
    if (!accepted) {
      std::lock_guard lk_stats(mu_);
      ++totals_.sink_refused;
    }
  }
}

void Engine::run(int index, std::promise<void>* loaded,
                 std::unique_ptr<model::Classifier> initial) {
  const std::string name = index == 0 ? "primus-infer" : "primus-infer-" + std::to_string(index);
  pthread_setname_np(pthread_self(), name.c_str());
  if (loaded != nullptr) {
    try {
      model::set_inference_threads(cfg_.model.threads);
      if (!initial) initial = model::load_model(cfg_);
      std::lock_guard lk(pop_mu_);
      install_locked(std::move(initial));
      spdlog::info(
          "model {} ready on {} ({} classes, window {} x {} Hz, {}, {} instance(s) x {} "
          "thread(s))",
          live_tag_->version, live_->device_name(), live_->num_classes(), cfg_.window.length,
          cfg_.window.rate_hz, live_->path_name(), cfg_.model.instances, cfg_.model.threads);
    } catch (...) {
      loaded->set_exception(std::current_exception());
      return;
    }
    started_ns_.store(clock_.now_ns());
    loaded->set_value();
  } else {
    model::set_inference_threads(cfg_.model.threads);
  }

  const int T = cfg_.window.length;
  const int max_batch = cfg_.batcher.max_batch;
  // Buffers sized once; the workspace grows on the first batches, then nothing is allocated
  // per batch here except the ScoredBatch handed to the sink.
  std::vector<float> input(static_cast<std::size_t>(max_batch) * kChannels * T, 0.0f);
  std::vector<float> probs;
  model::Classifier::Workspace ws;
  std::vector<Window> batch;
  batch.reserve(max_batch);
  for (;;) {
    std::shared_ptr<model::Classifier> clf;
    std::shared_ptr<const events::ModelTag> tag;
    std::uint64_t ticket = 0;
    batch.clear();  // frees the last batch's windows outside the lock
    {
      std::lock_guard lk(pop_mu_);
      if (!batcher_.pop_batch(batch)) break;
      adopt_pending_locked();       // between two batches: a new model goes live
      if (batch.empty()) continue;  // woken for a swap only
      ticket = next_ticket_++;
      clf = live_;
      tag = live_tag_;
    }
    const std::int64_t t_formed = clock_.now_ns();
    const int B = static_cast<int>(batch.size());
    const bool shared = clf->shared();
    const int shape = shared ? B : model::padded_batch(B, max_batch);
    const int C = clf->num_classes();
    for (int b = 0; b < B; ++b) {
      std::copy(batch[b].data.begin(), batch[b].data.end(),
                input.begin() + static_cast<std::ptrdiff_t>(b) * kChannels * T);
    }
    std::fill(input.begin() + static_cast<std::ptrdiff_t>(B) * kChannels * T,
              input.begin() + static_cast<std::ptrdiff_t>(shape) * kChannels * T, 0.0f);
    if (probs.size() < static_cast<std::size_t>(max_batch) * C)
      probs.resize(static_cast<std::size_t>(max_batch) * C);
    const auto t0 = clock_.now_ns();
    try {
      if (shared) {
        clf->predict(input.data(), shape, T, probs.data(), ws);
      } else {
        std::lock_guard lk(serial_mu_);
        clf->predict(input.data(), shape, T, probs.data(), ws);
      }
    } catch (const std::exception& e) {
      spdlog::error("inference failed on a batch of {}: {}; batch dropped", B, e.what());
      {
        std::lock_guard lk(mu_);
        ++totals_.failed_batches;
      }
      deliver(ticket, std::nullopt);
      continue;
    }
    const auto t1 = clock_.now_ns();
    events::ScoredBatch out;
    out.model = std::move(tag);
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
    const double c = static_cast<double>(t1 - t0) * 1e-9;
    compute_.observe(t1, c * 1e3);
    windows_.observe(t1, B);
    hist_.compute_s.observe(c);
    hist_.batch_size.observe(B);
    {
      std::lock_guard lk(mu_);
      totals_.windows += B;
      totals_.batches += 1;
    }
    clf.reset();  // the last instance holding a swapped-out model frees it here
    deliver(ticket, std::move(out));
  }
}

EngineStats Engine::stats() const {
  const std::int64_t now = clock_.now_ns();
  EngineStats s;
  {
    std::lock_guard lk(mu_);
    s = totals_;
    s.path = path_;
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

std::string Engine::compute_path() const {
  std::lock_guard lk(mu_);
  return path_;
}

std::vector<std::string> Engine::labels() const {
  std::lock_guard lk(mu_);
  return labels_;
}

}  // namespace primus::inference
