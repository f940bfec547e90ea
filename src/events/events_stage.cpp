#include "src/events/events_stage.h"

#include <pthread.h>

namespace primus::events {
namespace {

/// The post-processor counters the stage reports, summed.
void add_counts(PostProcessorStats& into, const PostProcessorStats& s) {
  into.rejected_ambiguous += s.rejected_ambiguous;
  into.too_short += s.too_short;
  into.suppressed_refractory += s.suppressed_refractory;
  into.discontinuities += s.discontinuities;
}

}  // namespace

EventsStage::EventsStage(std::vector<std::string> device_ids, const EventsConfig& cfg,
                         std::size_t capacity_windows, Emit emit, const TimeSource& clock)
    : ids_(std::move(device_ids)),
      capacity_(std::max<std::size_t>(capacity_windows, 1)),
      emit_(std::move(emit)),
      clock_(clock),
      live_cfg_(cfg),
      cfg_(cfg) {}

EventsStage::~EventsStage() { stop(); }

void EventsStage::start() {
  std::lock_guard lk(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void EventsStage::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool EventsStage::push(ScoredBatch&& batch) {
  const std::size_t n = batch.windows.size();
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queued_windows_ + n > capacity_) {
      ++totals_.dropped_batches;
      totals_.dropped_windows += n;
      return false;
    }
    queued_windows_ += n;
    queue_.push_back(std::move(batch));
  }
  cv_.notify_one();
  return true;
}

void EventsStage::set_config(const EventsConfig& cfg) {
  std::lock_guard lk(mu_);
  cfg_ = cfg;
  ++cfg_gen_;
}

EventsStats EventsStage::stats() const {
  EventsStats s;
  {
    std::lock_guard lk(mu_);
    s = totals_;
    s.depth = queued_windows_;
  }
  s.latency_ms = latency_ms_.summary(clock_.now_ns());
  return s;
}

void EventsStage::run() {
  pthread_setname_np(pthread_self(), "primus-events");
  std::uint64_t gen = 0;
  {
    std::lock_guard lk(mu_);
    gen = cfg_gen_;
  }
  for (;;) {
    ScoredBatch b;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      b = std::move(queue_.front());
      queue_.pop_front();
      queued_windows_ -= b.windows.size();
      if (cfg_gen_ != gen) {
        gen = cfg_gen_;
        live_cfg_ = cfg_;
        for (auto& p : processors_) p.set_config(live_cfg_);
      }
    }
    if (b.model != tag_) rebuild(b.model);
    process(b, live_cfg_.publish_scores);
  }
  flush_all();  // no gesture is lost at shutdown
  std::lock_guard lk(mu_);
  fold_stats();
}

void EventsStage::rebuild(const std::shared_ptr<const ModelTag>& tag) {
  flush_all();
  for (const auto& p : processors_) add_counts(retired_, p.stats());
  processors_.clear();
  processors_.reserve(ids_.size());
  for (const auto& id : ids_)
    processors_.emplace_back(id, tag->labels, live_cfg_, tag->calibration);
  tag_ = tag;
}

void EventsStage::flush_all() {
  std::uint64_t n = 0;
  for (auto& p : processors_) {
    if (auto e = p.flush()) {
      emit_("gesture." + e->device, to_json(*e));
      ++n;
    }
  }
  if (n == 0) return;
  std::lock_guard lk(mu_);
  totals_.events += n;
}

void EventsStage::process(const ScoredBatch& b, bool scores_on) {
  const std::size_t C = b.model->labels.size();
  std::uint64_t n_events = 0;
  for (std::size_t k = 0; k < b.windows.size(); ++k) {
    const ScoredWindow& w = b.windows[k];
    if (w.device >= processors_.size()) continue;  // not a device of this daemon
    const float* p = b.scores.data() + k * C;
    auto& pp = processors_[w.device];
    auto e = pp.update(w.seq, p, w.start, w.end, b.model->version);
    if (score_tap_) score_tap_(w.device, *b.model, p, w);
    if (scores_on) {
      ScoreMessage m{ids_[w.device],  w.seq,       w.start,
                     w.end,           pp.labels(), std::vector<float>(p, p + C),
                     b.model->version};
      m.t_ready_ns = w.t_ready_ns;
      m.interpolated = w.interpolated;
      emit_("score." + ids_[w.device], to_json(m));
    }
    if (e) {
      emit_("gesture." + ids_[w.device], to_json(*e));
      ++n_events;
    }
    if (auto st = pp.take_started()) emit_("gesture." + ids_[w.device], to_json(*st));
    const std::int64_t t_done = clock_.now_ns();
    const double lat = static_cast<double>(t_done - w.t_ready_ns) * 1e-9;
    latency_ms_.observe(t_done, lat * 1e3);
    latency_s_.observe(lat);
  }
  std::lock_guard lk(mu_);
  totals_.windows += b.windows.size();
  totals_.events += n_events;
  fold_stats();
}

void EventsStage::fold_stats() {
  PostProcessorStats sum = retired_;
  for (const auto& p : processors_) add_counts(sum, p.stats());
  totals_.rejected_ambiguous = sum.rejected_ambiguous;
  totals_.too_short = sum.too_short;
  totals_.suppressed_refractory = sum.suppressed_refractory;
  totals_.discontinuities = sum.discontinuities;
}

}  // namespace primus::events
