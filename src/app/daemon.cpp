#include "src/app/daemon.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <filesystem>

#include "src/app/control_frontend.h"
#include "src/app/daemon_impl.h"
#include "src/app/logging.h"
#include "src/app/mqtt_part.h"
#include "src/app/notify.h"
#include "src/core/version.h"
#include "src/events/event_types.h"
#include "src/model/classifier.h"

namespace primus::app {
namespace asio = boost::asio;
namespace {

using service::Errc;
using service::Result;

/// Creates the directory an ipc:// endpoint's socket file lives in.
void make_ipc_dir(const std::string& ep) {
  if (ep.rfind("ipc://", 0) != 0) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(ep.substr(6)).parent_path(), ec);
  if (ec) throw std::runtime_error("cannot create the directory of " + ep + ": " + ec.message());
}

}  // namespace

Daemon::Impl::~Impl() {
  if (web) web->stop();        // before the service it calls goes
  if (engine) engine->stop();  // fails a pending swap, so the loader cannot wait forever
  if (swap_) swap_->join();
}

std::vector<std::string> Daemon::Impl::endpoints() const {
  if (!cfg.bus.publish.empty()) return cfg.bus.publish;
  return {"ipc://" + (std::filesystem::path(cfg.daemon.runtime_dir) / "events.sock").string()};
}

void Daemon::Impl::start() {
  start_bus();
  start_inference();
  start_devices();
  start_control();
  start_timers();
  std::string summary;
  status_->status_json(summary);
  ready_.store(true);
  notify_ready(summary);
  spdlog::info("primusd {} ready: {} device(s), model {} on {}", version(), devices.size(),
               engine->model_version(), engine->device_name());
}

void Daemon::Impl::start_bus() {
  for (const auto& ep : endpoints()) make_ipc_dir(ep);
  std::string curve_secret;
  if (!cfg.bus.curve_secret_key.empty()) {
    curve_secret = bus::read_curve_key_file(cfg.bus.curve_secret_key);
    spdlog::info("bus: CURVE on; server public key {}",
                 bus::curve_public_from_secret(curve_secret));
    if (!cfg.bus.curve_authorized_keys.empty()) {
      auto keys = bus::read_authorized_keys(cfg.bus.curve_authorized_keys);
      spdlog::info("bus: {} authorized client key(s) from {}", keys.size(),
                   cfg.bus.curve_authorized_keys);
      zap = std::make_unique<bus::ZapAuthenticator>(zmq_ctx, std::move(keys));
    }
  }
  for (const auto& ep : endpoints()) {
    if (ep.rfind("tcp://", 0) == 0 && curve_secret.empty())
      spdlog::warn("bus: {} is not encrypted (no bus.curve_secret_key)", ep);
  }
  publisher = std::make_unique<bus::Publisher>(
      zmq_ctx, endpoints(), cfg.bus.sndhwm, static_cast<std::size_t>(cfg.bus.queue), curve_secret);
  for (const auto& ep : publisher->endpoints()) spdlog::info("publishing events on {}", ep);
  start_mqtt(*this);
  if (!cfg.web.listen.empty()) {  // its tap, before anything else publishes; it serves later
    web::ConsoleInfo info{
        std::string(version()), {}, cfg.window.rate_hz, cfg.window.length, cfg.window.hop};
    for (const auto& d : cfg.devices) info.devices.push_back(d.id);
    web = std::make_unique<web::WebConsole>(cfg.web, std::move(info), clock);
    publisher->add_tap([w = web.get()](const std::string& topic, const std::string& payload) {
      w->on_bus(topic, payload);
    });
  }
}

// Batcher -> engine -> events stage -> publisher. The active registry version (a fine-tuned
// model) wins over model.weights; if it cannot be loaded, the configured base model runs and the
// failure is logged.
void Daemon::Impl::start_inference() {
  batcher = std::make_unique<inference::Batcher>(static_cast<std::size_t>(cfg.batcher.queue),
                                                 cfg.batcher.max_batch, cfg.batcher.max_delay_us,
                                                 clock, cfg.batcher.max_queue_delay_us);
  std::vector<std::string> ids;
  for (const auto& d : cfg.devices) ids.push_back(d.id);
  events = std::make_unique<events::EventsStage>(
      std::move(ids), cfg.events, static_cast<std::size_t>(cfg.batcher.queue),
      [this](std::string topic, std::string json) { publish(std::move(topic), std::move(json)); },
      clock);
  if (web)
    events->set_score_tap(
        [w = web.get()](std::uint32_t dev, const events::ModelTag& m, const float* scores,
                        const events::ScoredWindow& win) { w->on_scores(dev, m, scores, win); });
  events->start();
  start_capture_and_training();
  auto make_engine = [this](const Config& c) {
    return std::make_unique<inference::Engine>(
        c, *batcher, [this](events::ScoredBatch&& b) { return events->push(std::move(b)); }, clock);
  };
  const std::string active_file = training ? training->startup_weights() : std::string();
  if (!active_file.empty()) {
    const int active_version = training->startup_version();
    Config c = cfg;
    c.model.weights = active_file;
    engine = make_engine(c);
    try {
      engine->start();
      training->set_live_version(active_version);
      return;
    } catch (const std::exception& e) {
      spdlog::error("active model version {} ({}) did not load, starting with the base model: {}",
                    active_version, active_file, e.what());
    }
  }
  engine = make_engine(cfg);
  engine->start();  // loads the model on the inference thread; throws on failure
}

void Daemon::Impl::start_capture_and_training() {
  try {
    const auto db = capture_database(cfg);
    std::filesystem::create_directories(db.parent_path());
    capture::StoreOptions so;
    so.retention = {cfg.capture.max_bytes, cfg.capture.max_age_s};
    auto store = std::make_unique<capture::CaptureStore>(db, so);
    const auto st = store->stats();
    spdlog::info("capture store {}: {} captures, {} samples", db.string(), st.captures, st.samples);
    capture_writer = std::make_unique<capture::CaptureWriter>(
        std::move(store), capture::WriterOptions{static_cast<std::size_t>(cfg.capture.queue)});
  } catch (const std::exception& e) {
    capture_disabled_why = std::string("the capture store is unusable: ") + e.what();
    spdlog::error("labelling disabled: {}", capture_disabled_why);
  }
  try {
    training::TrainingService::Hooks hooks;
    hooks.publish = [this](std::string topic, std::string json) {
      publish(std::move(topic), std::move(json));
    };
    hooks.swap = [this](std::unique_ptr<model::Classifier> m) {
      return engine->request_swap(std::move(m));
    };
    training = std::make_unique<training::TrainingService>(cfg, std::move(hooks));
    spdlog::info("model registry {}: active version {}", model_registry_dir(cfg).string(),
                 training->startup_version());
  } catch (const std::exception& e) {
    training_disabled_why = std::string("the model registry is unusable: ") + e.what();
    spdlog::error("fine-tuning disabled: {}", training_disabled_why);
  }
}

// Sources -> per-device pipelines (on the io thread) -> batcher.
void Daemon::Impl::start_devices() {
  devices.resize(cfg.devices.size());
  for (std::uint32_t i = 0; i < cfg.devices.size(); ++i) {
    auto& d = devices[i];
    d.id = cfg.devices[i].id;
    d.pipeline = std::make_unique<signal::DevicePipeline>(cfg.devices[i], cfg.window, i);
    adapters::SourceContext ctx{
        io, clock,
        [this, i](const Sample& s) {
          auto& dev = devices[i];
          dev.pipeline->push(s, [this, &dev](Window&& w) {
            w.t_ready_ns = clock.now_ns();
            ++dev.windows;
            (void)batcher->push(std::move(w));  // refused only once stopping has closed it
          });
        },
        [this, i](adapters::SourceState st, const std::string& detail) {
          auto& dev = devices[i];
          dev.state = adapters::to_string(st);
          if (st == adapters::SourceState::kLost || st == adapters::SourceState::kEnded) {
            spdlog::warn("device {}: {} ({})", dev.id, dev.state, detail);
          } else {
            spdlog::info("device {}: {} ({})", dev.id, dev.state, detail);
          }
          if (st != adapters::SourceState::kConnected) dev.pipeline->reset();
          publish("device." + dev.id, events::device_state_json(dev.id, dev.state, detail));
        },
        [this, i](const std::string& label, std::int64_t t0, std::int64_t t1) {
          publish("truth." + devices[i].id, events::truth_json(devices[i].id, label, t0, t1));
        }};
    ctx.mqtt = mqtt_link.get();
    d.source = adapters::make_source(cfg.devices[i], i, std::move(ctx));
  }
  status_ = std::make_unique<StatusReport>(*this, ready_, io_exceptions_);
  labeller_ = std::make_unique<Labeller>(*this);
  swap_ = std::make_unique<ModelSwap>(*this);
  for (auto& d : devices) d.source->start();
}

void Daemon::Impl::start_control() {
  const auto eps = control_endpoints(cfg);
  for (const auto& ep : eps) make_ipc_dir(ep);
  bus::ControlServerOptions opt;
  opt.max_request_bytes = cfg.control.max_request_bytes;
  opt.max_in_flight = cfg.control.max_in_flight;
  if (!cfg.bus.curve_secret_key.empty())
    opt.curve_secret_z85 = bus::read_curve_key_file(cfg.bus.curve_secret_key);
  control = std::make_unique<bus::ControlServer>(zmq_ctx, eps, opt);
  service_ =
      std::make_unique<DaemonService>(*this, *status_, *labeller_, [this](service::Done done) {
        if (cfg.source.empty())
          return done(
              Result::fail(Errc::kUnavailable, "the configuration did not come from a file"));
        reload("config.reload", std::move(done));
      });
  serve_control(*control, *service_);
  control->start();
  for (const auto& ep : control->endpoints()) spdlog::info("control API on {}", ep);
  if (web) {
    std::vector<const signal::FrameRing*> rings;
    for (const auto& d : devices) rings.push_back(&d.pipeline->ring());
    web->serve(*service_, std::move(rings));
    const auto colon = cfg.web.listen.rfind(':');
    spdlog::info("web console on http://{}:{}/{}", cfg.web.listen.substr(0, colon), web->port(),
                 cfg.web.token.empty() && cfg.web.token_file.empty() ? "" : " (token required)");
  }
  if (training) training->start();
}

void Daemon::Impl::start_timers() {
  stop_signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (!ec) stop(signo);
  });
  hup_signal_.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) on_hup();
  });
  arm_status();
  std::optional<std::chrono::microseconds> wd = watchdog_interval();
  if (!wd && cfg.daemon.watchdog_ms > 0) wd = std::chrono::milliseconds(cfg.daemon.watchdog_ms);
  if (wd) arm_watchdog(*wd / 2);
  arm_heartbeat();
  if (!cfg.metrics.listen.empty()) {
    metrics_ = std::make_unique<MetricsServer>(
        cfg.metrics.listen, [this] { return status_->render_metrics(); },
        [this] {
          return !io_unhealthy_.load() && clock.now_ns() - io_heartbeat_ns_.load() < 5'000'000'000;
        },
        [this] { return ready_.load(); });
    spdlog::info("metrics on http://{}/metrics", cfg.metrics.listen);
  }
}

void Daemon::Impl::stop(int signo) {
  if (stopping) return;
  stopping = true;
  ready_.store(false);
  heartbeat_timer_.cancel();
  spdlog::info("received {}, stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
  notify_stopping();
  if (control) control->stop();    // no new requests
  if (web) web->stop();            // closes the live streams, answers waiting calls
  if (training) training->stop();  // cancels a fine-tune at its next batch
  for (auto& d : devices) d.source->stop();
  status_timer_.cancel();
  watchdog_timer_.cancel();
  hup_signal_.cancel();
  engine->stop();  // scores what the batcher still holds
  events->stop();  // publishes what is queued, closes gestures in progress
  swap_->join();
  const auto st = engine->stats();
  spdlog::info("inference stopped after {} windows in {} batches", st.windows, st.batches);
  if (capture_writer) capture_writer->stop();  // writes every capture already accepted
  io.stop();
}

void Daemon::Impl::run_io() {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("io thread: unexpected exception (logged, counted, running on): {}", e.what());
    } catch (...) {
      spdlog::error("io thread: unexpected non-standard exception (logged, counted, running on)");
    }
    ++io_exceptions_;
    const auto now = clock.now_ns();
    recent_exceptions_.push_back(now);
    while (!recent_exceptions_.empty() && recent_exceptions_.front() < now - 60'000'000'000LL)
      recent_exceptions_.pop_front();
    if (recent_exceptions_.size() > static_cast<std::size_t>(kMaxIoExceptions) &&
        !io_unhealthy_.exchange(true))
      spdlog::critical(
          "io thread: {} unexpected exceptions within a minute: no more watchdog "
          "pings, /healthz fails; the service manager should restart primusd",
          recent_exceptions_.size());
  }
}

void Daemon::Impl::on_hup() {
  hup_signal_.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) on_hup();
  });
  if (cfg.source.empty()) {
    spdlog::warn("SIGHUP: the configuration did not come from a file; nothing to reload");
    return;
  }
  notify_reloading();
  reload("SIGHUP", [this](const Result& r) {
    if (!r.is_ok()) spdlog::error("SIGHUP: {}", r.error->message);
    asio::post(io, [this] {
      std::string summary;
      status_->status_json(summary);
      notify_ready(summary);  // READY=1 ends RELOADING=1 (sd_notify(3)); STATUS= alone does not
    });
  });
}

void Daemon::Impl::reload(const std::string& who, service::Done done) {
  Config next;
  try {
    next = load_config(cfg.source);
  } catch (const std::exception& e) {
    spdlog::error("{}: refusing the new configuration, keeping the old one: {}", who, e.what());
    return done(
        Result::fail(Errc::kInvalidParams, std::string("configuration refused: ") + e.what()));
  }
  std::vector<std::string> restart;
  const auto changes = diff_live(cfg, next, restart);
  if (changes.empty() && restart.empty())
    spdlog::info("{}: {} unchanged", who, cfg.source.string());
  for (const auto& c : changes) spdlog::info("{}: {}", who, c);
  for (const auto& r : restart)
    spdlog::warn("{}: {} changed but needs a restart; keeping the running value", who, r);
  set_log_level(next.daemon.log_level);
  events->set_config(next.events);
  cfg.daemon.log_level = next.daemon.log_level;
  cfg.events = next.events;
  cfg.daemon.status_interval_s = next.daemon.status_interval_s;
  nlohmann::json result{{"changes", changes}, {"restart", restart}};
  if (next.model.weights == cfg.model.weights) return done(Result::ok(std::move(result)));
  const auto weights = next.model.weights;
  const bool started =
      swap_->request(weights, [done, result, weights, this](const std::string& err) {
        if (err.empty()) return done(Result::ok(result));
        done(Result::fail(Errc::kInvalidParams,
                          fmt::format("model.weights = \"{}\" did not load; still serving {}: {} "
                                      "(the other live changes were applied)",
                                      weights, engine->model_version(), err)));
      });
  if (!started)
    done(Result::fail(Errc::kConflict,
                      "model.weights: a model is already being loaded; try again when it is live "
                      "(the other live changes were applied)"));
}

void Daemon::Impl::arm_heartbeat() {
  io_heartbeat_ns_.store(clock.now_ns());
  heartbeat_timer_.expires_after(std::chrono::seconds(1));
  heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) arm_heartbeat();
  });
}

void Daemon::Impl::arm_status() {
  status_timer_.expires_after(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(cfg.daemon.status_interval_s)));
  status_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    std::string summary;
    publish("status", status_->status_json(summary));
    notify_status(summary);
    arm_status();
  });
}

void Daemon::Impl::arm_watchdog(std::chrono::microseconds every) {
  watchdog_timer_.expires_after(every);
  watchdog_timer_.async_wait([this, every](const boost::system::error_code& ec) {
    if (ec) return;
    if (!io_unhealthy_.load()) notify_watchdog();  // from the io thread: proves it is not stuck
    arm_watchdog(every);
  });
}

Daemon::Daemon(Config cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}

Daemon::~Daemon() = default;

int Daemon::run() {
  impl_->start();
  impl_->run_io();
  impl_->publisher->stop(1000);
  stop_mqtt(*impl_);
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace primus::app
