#include "src/training/service.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>

#include "src/capture/capture_store.h"
#include "src/core/time_source.h"
#include "src/evaluation/evaluate.h"
#include "src/events/calibrate.h"
#include "src/events/event_types.h"
#include "src/model/classifier.h"
#include "src/model/model_loader.h"
#include "src/training/dataset.h"
#include "src/training/trainer.h"

namespace primus::training {
namespace fs = std::filesystem;

namespace {

ServiceReply fail(std::string code, std::string message) {
  return ServiceReply{std::move(code), std::move(message), nullptr};
}

/// The calibration report (events::to_json(CalibrateResult), kept in meta.json as
/// metrics.calibration_report) cut to what the training message and models.list show: event F1 and
/// false events per hour of null before and after, and per class F1 before and after with the
/// chosen parameters. null stays null.
/// j[key] when it is an object, else an empty object.
const nlohmann::json& object_at(const nlohmann::json& j, const char* key) {
  static const nlohmann::json empty = nlohmann::json::object();
  const auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

/// j[key] when it is a number, else 0.
double number_at(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

nlohmann::json calibration_brief(const nlohmann::json& c) {
  if (!c.is_object()) return nullptr;
  auto side = [&](const char* k) {
    const auto& s = object_at(c, k);
    return nlohmann::json{
        {"event_f1", number_at(s, "f1")},
        {"false_per_hour_null", number_at(s, "false_per_hour_null")},
        {"false_events", static_cast<std::int64_t>(number_at(s, "false_events"))}};
  };
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& [label, e] : object_at(c, "classes").items()) {
    nlohmann::json row = object_at(e, "params");
    row["before_f1"] = number_at(object_at(e, "before"), "f1");
    row["after_f1"] = number_at(object_at(e, "after"), "f1");
    classes[label] = std::move(row);
  }
  const auto rule = c.find("rule");
  return {{"rule", rule != c.end() && rule->is_string() ? rule->get<std::string>() : ""},
          {"before", side("before")},
          {"after", side("after")},
          {"classes", classes}};
}

}  // namespace

TrainingService::TrainingService(const Config& cfg, Hooks hooks)
    : cfg_(cfg), hooks_(std::move(hooks)), registry_(model_registry_dir(cfg)) {
  // Resume the schedule where the newest version left it.
  for (const auto& v : registry_.list()) {
    if (v.meta.contains("data") && v.meta["data"].contains("max_capture_id"))
      trained_upto_id_ =
          std::max(trained_upto_id_, v.meta["data"]["max_capture_id"].get<std::int64_t>());
  }
}

TrainingService::~TrainingService() { stop(); }

std::string TrainingService::startup_weights() const {
  const int v = registry_.active();
  if (v == 0) return {};
  const auto info = registry_.get(v);
  if (!info || info->status == "broken") {
    spdlog::error(
        "model registry: active version {} is missing or broken; starting with the "
        "configured base model",
        v);
    return {};
  }
  return registry_.model_path(v).string();
}

int TrainingService::startup_version() const {
  return startup_weights().empty() ? 0 : registry_.active();
}

void TrainingService::set_live_version(int version) {
  std::lock_guard lk(mu_);
  live_version_ = version;
}

void TrainingService::start() {
  std::lock_guard lk(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void TrainingService::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cancel_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::deque<Job> left;
  {
    std::lock_guard lk(mu_);
    left.swap(queue_);
  }
  for (auto& j : left)
    if (j.on_done) j.on_done(fail("unavailable", "the daemon is stopping"));
}

ServiceReply TrainingService::request_finetune(std::optional<FinetuneMode> mode, ReplyFn on_done) {
  std::lock_guard lk(mu_);
  if (stopping_) return fail("unavailable", "the daemon is stopping");
  for (const auto& j : queue_)
    if (j.kind == Job::Kind::kFinetune)
      return fail("conflict", "fine-tune job " + std::to_string(j.id) + " is already queued");
  if (running_job_)
    return fail("conflict", "fine-tune job " + std::to_string(*running_job_) + " is running");
  Job j;
  j.kind = Job::Kind::kFinetune;
  j.id = next_job_++;
  j.mode = mode;
  j.on_done = std::move(on_done);
  const int id = j.id;
  queue_.push_back(std::move(j));
  cv_.notify_all();
  return ServiceReply{{}, {}, {{"job", id}, {"state", "queued"}}};
}

void TrainingService::request_activate(int version, bool force, ReplyFn on_done) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      Job j;
      j.kind = Job::Kind::kActivate;
      j.id = next_job_++;
      j.version = version;
      j.force = force;
      j.on_done = std::move(on_done);
      queue_.push_back(std::move(j));
      cv_.notify_all();
      return;
    }
  }
  if (on_done) on_done(fail("unavailable", "the daemon is stopping"));
}

void TrainingService::request_rollback(std::optional<int> version, ReplyFn on_done) {
  if (version) return request_activate(*version, true, std::move(on_done));
  int live = 0;
  {
    std::lock_guard lk(mu_);
    live = live_version_;
  }
  if (live == 0) {
    if (on_done)
      on_done(fail("conflict", "the base model (version 0) is live: nothing to roll back to"));
    return;
  }
  const auto info = registry_.get(live);
  const int parent = info ? info->meta.value("parent", 0) : 0;
  request_activate(parent, true, std::move(on_done));
}

void TrainingService::publish(nlohmann::json j) const {
  if (!hooks_.publish) return;
  hooks_.publish("training", events::envelope_json(std::move(j), "training"));
}

std::unique_ptr<model::Classifier> TrainingService::load_version(int version,
                                                                 const std::string& device,
                                                                 int warm_batch) const {
  if (version == 0) {
    Config c = cfg_;
    c.model.device = device;
    c.batcher.max_batch = warm_batch;
    auto m = model::load_model(c);
    return m;
  }
  auto m = model::Classifier::load(registry_.model_path(version).string(), device);
  m->set_version("v" + std::to_string(version));
  model::warm_up(*m, warm_batch, cfg_.window.length);
  return m;
}

std::int64_t TrainingService::new_windows_since_last() const {
  const fs::path db = capture_database(cfg_);
  std::error_code ec;
  if (!fs::exists(db, ec)) return 0;
  capture::StoreOptions so;
  so.read_only = true;
  capture::CaptureStore store(db, so);
  capture::CaptureFilter f;
  std::int64_t upto = 0;
  {
    std::lock_guard lk(mu_);
    upto = trained_upto_id_;
  }
  f.min_id = upto + 1;
  std::int64_t n = 0;
  for (const auto& c : store.list(f))
    n += static_cast<std::int64_t>(window_starts(c.n_samples,
                                                 labelled_span(c.conversion, c.n_samples),
                                                 cfg_.window.length, cfg_.training.stride)
                                       .size());
  return n;
}

void TrainingService::run() {
  pthread_setname_np(pthread_self(), "primus-train");
  // Fine-tuning yields the CPU to inference: this thread (and the OpenMP workers it starts,
  // which inherit its nice value) runs at nice +10, so under CFS a core shared with an inference
  // instance goes about 10:1 to inference. Failure (a seccomp filter, say) only costs latency.
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10) != 0)
    spdlog::debug("training: could not lower the trainer thread's priority: {}",
                  std::strerror(errno));
  set_training_threads(cfg_.training.threads);
  const bool scheduled = cfg_.training.schedule_minutes > 0;
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double, std::ratio<60>>(cfg_.training.schedule_minutes));
  auto next_check = std::chrono::steady_clock::now() + period;
  for (;;) {
    Job job;
    bool have_job = false;
    {
      std::unique_lock lk(mu_);
      auto ready = [&] { return stopping_ || !queue_.empty(); };
      if (scheduled)
        cv_.wait_until(lk, next_check, ready);
      else
        cv_.wait(lk, ready);
      if (stopping_) return;
      if (!queue_.empty()) {
        job = std::move(queue_.front());
        queue_.pop_front();
        have_job = true;
        if (job.kind == Job::Kind::kFinetune) running_job_ = job.id;
      }
    }
    if (!have_job) {
      if (std::chrono::steady_clock::now() < next_check) continue;
      next_check = std::chrono::steady_clock::now() + period;
      std::int64_t n = 0;
      try {
        n = new_windows_since_last();
      } catch (const std::exception& e) {
        spdlog::warn("training schedule: cannot read the capture store: {}", e.what());
      }
      {
        std::lock_guard lk(mu_);
        new_windows_ = n;
        if (n < cfg_.training.min_new_windows) continue;
        job.kind = Job::Kind::kFinetune;
        job.id = next_job_++;
        job.scheduled = true;
        running_job_ = job.id;
      }
      spdlog::info("training schedule: {} new labelled windows (>= {}): fine-tuning", n,
                   cfg_.training.min_new_windows);
    }
    ServiceReply r;
    try {
      r = job.kind == Job::Kind::kFinetune ? run_finetune(job)
                                           : run_activate(job.version, job.force);
    } catch (const std::exception& e) {
      r = fail("internal", e.what());
    }
    if (job.kind == Job::Kind::kFinetune) {
      std::lock_guard lk(mu_);
      running_job_.reset();
      progress_ = nullptr;
      if (!r.ok()) {
        last_ = {{"job", job.id},
                 {"mode", to_string(job.mode.value_or(cfg_.training.mode))},
                 {"decision", "failed"},
                 {"reason", r.message},
                 {"scheduled", job.scheduled}};
      }
    }
    if (!r.ok() && job.kind == Job::Kind::kFinetune) {
      spdlog::warn("fine-tune job {} failed: {}", job.id, r.message);
      publish({{"event", "failed"}, {"job", job.id}, {"reason", r.message}});
    }
    if (job.on_done) job.on_done(r);
  }
}

ServiceReply TrainingService::run_finetune(const Job& job) {
  const FinetuneMode mode = job.mode.value_or(cfg_.training.mode);
  int base_version = 0;
  {
    std::lock_guard lk(mu_);
    base_version = live_version_;
    progress_ = {{"epoch", 0},
                 {"epochs", cfg_.training.epochs},
                 {"phase", "loading"},
                 {"train_loss", nullptr},
                 {"val_macro_f1", nullptr}};
  }
  cancel_.store(false);
  publish({{"event", "started"},
           {"job", job.id},
           {"mode", to_string(mode)},
           {"parent", base_version},
           {"scheduled", job.scheduled}});
  spdlog::info("fine-tune job {} started: mode {}, base version {}", job.id, to_string(mode),
               base_version);

  const fs::path db = capture_database(cfg_);
  std::error_code ec;
  if (!fs::exists(db, ec))
    return fail("unavailable", "no labelled captures yet (" + db.string() + " does not exist)");
  std::vector<capture::CaptureRecord> captures;
  {
    capture::StoreOptions so;
    so.read_only = true;
    capture::CaptureStore store(db, so);
    store.for_each({}, [&](const capture::CaptureRecord& r) { captures.push_back(r); });
  }
  auto base = load_version(base_version, "cpu", 1);
  const Dataset data = build_dataset(captures, base->info().labels, dataset_options(cfg_));
  std::string have;
  int labels_with_data = 0;
  for (const auto& [label, c] : data.counts) {
    have += (have.empty() ? "" : ", ") + label + " " +
            std::to_string(c.train_windows + c.val_windows) + " windows in " +
            std::to_string(c.train_captures + c.val_captures) + " captures";
    if (c.train_windows > 0) ++labels_with_data;
  }
  if (data.train_negatives + data.val_negatives > 0) {
    have += (have.empty() ? "" : ", ") + std::to_string(data.train_negatives + data.val_negatives) +
            " negatives";
    if (data.counts.count(cfg_.events.null_label) == 0 && data.train_negatives > 0)
      ++labels_with_data;  // the null class from gesture context alone
  }
  if (have.empty()) have = "none";
  if (labels_with_data < 2)
    return fail("unavailable",
                "fine-tuning needs labelled windows of at least 2 labels (have: " + have + "; " +
                    std::to_string(data.too_short) + " captures shorter than a window)");
  if (data.val.size() == 0)
    return fail("unavailable",
                "validation needs at least 2 captures of some label, split by capture (have: " +
                    have + ")");

  const auto opt = finetune_options(cfg_.training);
  FinetuneOptions o = opt;
  o.mode = mode;
  auto res = finetune(
      *base, data, o,
      [&](const Progress& p) {
        nlohmann::json pj{{"epoch", p.epoch},       {"epochs", p.epochs},
                          {"phase", p.phase},       {"train_loss", p.train_loss},
                          {"val_loss", p.val_loss}, {"val_macro_f1", p.val_macro_f1},
                          {"seconds", p.seconds}};
        {
          std::lock_guard lk(mu_);
          progress_ = pj;
        }
        pj["event"] = "progress";
        pj["job"] = job.id;
        publish(pj);
        spdlog::debug(
            "fine-tune job {}: epoch {}/{} ({}) train loss {:.4f}, val loss {:.4f}, "
            "val macro-F1 {:.3f}",
            job.id, p.epoch, p.epochs, p.phase, p.train_loss, p.val_loss, p.val_macro_f1);
      },
      &cancel_);
  if (res.cancelled) return fail("unavailable", "fine-tune cancelled (the daemon is stopping)");

  const auto live = evaluate(*base, data.val, data.labels);
  // Event figures of both models on the validation captures, through the post-processor
  // (src/evaluation/evaluate.h): reported next to the window figures, not gated on (yet).
  // The candidate's scores are computed once; the per-class calibration (src/events/calibrate.h)
  // replays them, and goes into the model file so that it goes live with the model.
  nlohmann::json val_events = nullptr, live_val_events = nullptr, calibration = nullptr;
  res.model->set_calibration(std::nullopt);  // a copy of the parent's would be stale
  try {
    const std::set<std::int64_t> val_ids(data.val.capture_id.begin(), data.val.capture_id.end());
    std::vector<capture::CaptureRecord> val_caps;
    for (const auto& c : captures)
      if (val_ids.count(c.id) != 0) val_caps.push_back(c);
    const auto nearby =
        nearby_gestures(captures, val_caps, cfg_.window.length, cfg_.events.null_label);
    auto cand = evaluation::evaluate_captures(*res.model, val_caps, cfg_, nearby);
    try {
      const auto cal = evaluation::calibrate_candidate(*res.model, cand, cfg_.events);
      calibration = events::to_json(cal);
      spdlog::info(
          "fine-tune job {}: calibrated {} classes on the validation captures in {:.2f} s ({} "
          "replays): event F1 {:.3f} -> {:.3f}, false events in null {} -> {} ({})",
          job.id, cal.calibration.classes.size(), cal.seconds, cal.replays, cal.before.f1,
          cal.after.f1, cal.before.in_null, cal.after.in_null, cal.calibration.rule);
    } catch (const std::exception& e) {
      spdlog::warn("fine-tune job {}: calibration failed, the model keeps the [events] values: {}",
                   job.id, e.what());
    }
    val_events = dataio::to_json(cand.events);
    live_val_events =
        dataio::to_json(evaluation::evaluate_captures(*base, val_caps, cfg_, nearby).events);
  } catch (const std::exception& e) {
    spdlog::warn("fine-tune job {}: event figures on the validation captures failed: {}", job.id,
                 e.what());
  }
  const bool accept = res.val.macro_f1 > live.macro_f1 + cfg_.training.gate_margin;
  const std::string reason =
      fmt::format("candidate validation macro-F1 {:.4f} {} live model's {:.4f} + margin {:.4f}",
                  res.val.macro_f1, accept ? ">" : "<=", live.macro_f1, cfg_.training.gate_margin);
  nlohmann::json per_label = nlohmann::json::object();
  for (const auto& [label, c] : data.counts)
    per_label[label] = {{"train_captures", c.train_captures},
                        {"val_captures", c.val_captures},
                        {"train_windows", c.train_windows},
                        {"val_windows", c.val_windows}};
  nlohmann::json metrics{
      {"val_macro_f1", res.val.macro_f1},
      {"val_accuracy", res.val.accuracy},
      {"live_val_macro_f1", live.macro_f1},
      {"live_val_accuracy", live.accuracy},
      {"train_windows", data.train.size()},
      {"val_windows", data.val.size()},
      {"epochs_run", res.epochs_run},
      {"best_epoch", res.best_epoch},
      {"seconds", res.seconds},
      {"val", to_json(res.val, data.labels)},
      {"live_val", to_json(live, data.labels)},
      {"val_event_f1", val_events.is_object() ? val_events["f1"] : nullptr},
      {"live_val_event_f1", live_val_events.is_object() ? live_val_events["f1"] : nullptr},
      {"val_events", val_events},
      {"live_val_events", live_val_events},
      {"calibration", calibration_brief(calibration)},
      {"calibration_report", calibration}};
  nlohmann::json meta{{"status", accept ? "accepted" : "rejected"},
                      {"labels", data.labels},
                      {"new_labels", data.new_labels(base->info().labels)},
                      {"mode", to_string(mode)},
                      {"parent", base_version},
                      {"job", job.id},
                      {"reason", reason},
                      {"metrics", metrics},
                      {"data",
                       {{"captures", captures.size()},
                        {"too_short", data.too_short},
                        {"max_capture_id", data.max_capture_id},
                        {"window_length", cfg_.window.length},
                        {"stride", cfg_.training.stride},
                        {"negatives",
                         {{"enabled", cfg_.training.negatives},
                          {"overlap", cfg_.training.negative_overlap},
                          {"train_windows", data.train_negatives},
                          {"val_windows", data.val_negatives}}},
                        {"partials",
                         {{"overlap", cfg_.training.positive_overlap},
                          {"train_windows", data.train_partials},
                          {"val_windows", data.val_partials}}},
                        {"per_label", per_label}}},
                      {"options",
                       {{"epochs", o.epochs},
                        {"head_epochs", o.head_epochs},
                        {"batch_size", o.batch_size},
                        {"lr", o.lr},
                        {"encoder_lr", o.encoder_lr},
                        {"weight_decay", o.weight_decay},
                        {"warmup_fraction", o.warmup_fraction},
                        {"patience", o.patience},
                        {"augment", o.augment},
                        {"balance", o.balance},
                        {"seed", o.seed},
                        {"threads", cfg_.training.threads}}}};
  const int v = registry_.add(
      [&](const fs::path& p, int version) {
        res.model->set_version("v" + std::to_string(version));
        res.model->save(p.string());
      },
      meta);
  spdlog::info(
      "fine-tune job {}: version {} {} ({}; {} train / {} val windows, {} epochs, "
      "{:.1f} s)",
      job.id, v, accept ? "ACCEPTED" : "rejected", reason, data.train.size(), data.val.size(),
      res.epochs_run, res.seconds);
  {
    std::lock_guard lk(mu_);
    trained_upto_id_ = std::max(trained_upto_id_, data.max_capture_id);
  }
  nlohmann::json outcome{{"job", job.id},
                         {"mode", to_string(mode)},
                         {"decision", accept ? "accepted" : "rejected"},
                         {"candidate_version", v},
                         {"parent", base_version},
                         {"metrics", metrics},
                         {"reason", reason},
                         {"scheduled", job.scheduled}};
  publish({{"event", accept ? "accepted" : "rejected"},
           {"job", job.id},
           {"version", v},
           {"metrics",
            {{"val_macro_f1", res.val.macro_f1},
             {"live_val_macro_f1", live.macro_f1},
             {"val_accuracy", res.val.accuracy},
             {"val_event_f1", metrics["val_event_f1"]},
             {"live_val_event_f1", metrics["live_val_event_f1"]},
             {"calibration", metrics["calibration"]}}},
           {"reason", reason}});
  if (accept) {
    const auto act = run_activate(v, false);
    if (!act.ok()) {
      outcome["activation_error"] = act.message;
      spdlog::error("version {} was accepted but could not be activated: {}", v, act.message);
    }
  }
  registry_.prune(cfg_.training.keep_versions);
  {
    std::lock_guard lk(mu_);
    last_ = outcome;
  }
  return ServiceReply{{}, {}, outcome};
}

ServiceReply TrainingService::run_activate(int version, bool force) {
  if (version < 0) return fail("invalid_params", "version must be >= 0");
  if (version != 0) {
    const auto info = registry_.get(version);
    if (!info)
      return fail("not_found", "model version " + std::to_string(version) + " does not exist");
    if (info->status == "broken")
      return fail("conflict", "model version " + std::to_string(version) + " is broken");
    if (info->status == "rejected" && !force)
      return fail("conflict", "model version " + std::to_string(version) +
                                  " was rejected by the accuracy gate (" +
                                  info->meta.value("reason", std::string("?")) +
                                  "); pass force to activate it anyway");
  }
  std::unique_ptr<model::Classifier> m;
  try {
    m = load_version(version, cfg_.model.device, cfg_.batcher.max_batch);
  } catch (const std::exception& e) {
    return fail("unavailable",
                "cannot load model version " + std::to_string(version) + ": " + e.what());
  }
  if (!hooks_.swap) return fail("unavailable", "no inference engine to swap into");
  try {
    hooks_.swap(std::move(m)).get();
  } catch (const std::exception& e) {
    return fail("unavailable", std::string("the model did not go live: ") + e.what());
  }
  registry_.set_active(version);
  int previous = 0;
  {
    std::lock_guard lk(mu_);
    previous = live_version_;
    live_version_ = version;
  }
  spdlog::info("model version {} is active (was {})", version, previous);
  publish({{"event", "activated"}, {"version", version}, {"previous", previous}});
  return ServiceReply{{}, {}, {{"active", version}, {"previous", previous}}};
}

nlohmann::json TrainingService::status() const {
  std::lock_guard lk(mu_);
  return {{"state", running_job_ ? "running" : "idle"},
          {"job", running_job_ ? nlohmann::json(*running_job_) : nlohmann::json(nullptr)},
          {"progress", running_job_ ? progress_ : nlohmann::json(nullptr)},
          {"last", last_},
          {"live_version", live_version_},
          {"schedule",
           {{"minutes", cfg_.training.schedule_minutes},
            {"min_new_windows", cfg_.training.min_new_windows},
            {"new_windows", new_windows_},
            {"trained_upto_capture_id", trained_upto_id_}}}};
}

nlohmann::json TrainingService::models() const {
  int live = 0;
  {
    std::lock_guard lk(mu_);
    live = live_version_;
  }
  nlohmann::json versions = nlohmann::json::array();
  versions.push_back({{"version", 0},
                      {"status", "base"},
                      {"labels", cfg_.model.labels},
                      {"weights", cfg_.model.weights.empty() ? "random" : cfg_.model.weights}});
  for (const auto& v : registry_.list()) {
    nlohmann::json e{{"version", v.version}, {"status", v.status}};
    for (const char* k : {"labels", "mode", "parent", "created_wall_ns", "reason", "job"})
      if (v.meta.contains(k)) e[k] = v.meta[k];
    if (v.meta.contains("metrics")) {
      const auto& m = v.meta["metrics"];
      nlohmann::json brief = nlohmann::json::object();
      for (const char* k :
           {"val_macro_f1", "val_accuracy", "live_val_macro_f1", "val_event_f1",
            "live_val_event_f1", "train_windows", "val_windows", "epochs_run", "seconds"})
        if (m.contains(k)) brief[k] = m[k];
      if (m.contains("calibration")) brief["calibration"] = m["calibration"];
      // The validation confusion (rows: true class, columns: predicted, in `labels` order).
      if (m.contains("val") && m["val"].is_object() && m["val"].contains("confusion"))
        brief["confusion"] = m["val"]["confusion"];
      e["metrics"] = brief;
    }
    versions.push_back(std::move(e));
  }
  return {{"active", live}, {"versions", versions}};
}

}  // namespace primus::training
