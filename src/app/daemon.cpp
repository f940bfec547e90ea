#include "src/app/daemon.h"
#include "src/app/daemon_impl.h"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>

#include <atomic>
#include <boost/asio/post.hpp>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "adapters/source.h"
#include "src/app/logging.h"
#include "src/app/metrics_server.h"
#include "src/app/notify.h"
#include "src/bus/curve.h"
#include "src/bus/publisher.h"
#include "src/core/time_source.h"
#include "src/core/version.h"
#include "src/events/event_types.h"
#include "src/inference/batcher.h"
#include "src/inference/engine.h"
#include "src/model/classifier.h"
#include "src/signal/device_pipeline.h"

namespace primus::app {
namespace asio = boost::asio;
namespace {

nlohmann::json source_json(const adapters::SourceStats& s) {
  nlohmann::json drops = nlohmann::json::object();
  for (std::size_t r = 0; r < adapters::codecs::kDropReasonCount; ++r) {
    if (s.drops[r])
      drops[adapters::codecs::to_string(static_cast<adapters::codecs::DropReason>(r))] = s.drops[r];
  }
  return {{"bytes", s.bytes},
          {"reconnects", s.reconnects},
          {"outages", s.outages},
          {"downtime_ns", s.downtime_ns},
          {"garbage_bytes", s.garbage_bytes},
          {"unrouted", s.unrouted},
          {"drops", drops}};
}

nlohmann::json summary_json(const RecentPercentiles::Summary& s) {
  return {{"n", s.n},     {"mean", s.mean}, {"p50", s.p50},
          {"p90", s.p90}, {"p99", s.p99},   {"max", s.max}};
}

nlohmann::json counters_json(const signal::PipelineCounters& c) {
  return {{"samples_in", c.samples_in},
          {"samples_used", c.samples_used},
          {"dropped_duplicate", c.dropped_duplicate},
          {"out_of_order", c.out_of_order},
          {"samples_lost", c.samples_lost},
          {"gaps_bridged", c.gaps_bridged},
          {"gaps_reset", c.gaps_reset},
          {"bad_quat", c.bad_quat},
          {"quat_renormalised", c.quat_renormalised},
          {"nan_dropped", c.nan_dropped},
          {"missing_fields", c.missing_fields},
          {"clock_jumps", c.clock_jumps},
          {"restarts", c.restarts},
          {"ring_overflow", c.ring_overflow},
          {"frames_out", c.frames_out},
          {"frames_interpolated", c.frames_interpolated},
          {"windows_out", c.windows_out}};
}

}  // namespace

void Daemon::Impl::start() {
  for (const auto& ep : endpoints()) {
    if (ep.rfind("ipc://", 0) == 0) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(ep.substr(6)).parent_path(), ec);
      if (ec)
        throw std::runtime_error("cannot create the directory of " + ep + ": " + ec.message());
    }
  }
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

  batcher = std::make_unique<inference::Batcher>(static_cast<std::size_t>(cfg.batcher.queue),
                                                 cfg.batcher.max_batch, cfg.batcher.max_delay_us,
                                                 clock, cfg.batcher.max_queue_delay_us);
  start_capture_and_training();
  auto make_engine = [this](const Config& c) {
    return std::make_unique<inference::Engine>(
        c, *batcher,
        [this](std::string topic, std::string json) {
          publisher->publish(std::move(topic), std::move(json));
        },
        clock);
  };
  // The active registry version (a fine-tuned model) wins over model.weights; if it cannot be
  // loaded, the configured base model runs and the failure is logged.
  const std::string active_file = training ? training->startup_weights() : std::string();
  const int active_version = active_file.empty() ? 0 : training->startup_version();
  bool started_engine = false;
  if (!active_file.empty()) {
    Config c = cfg;
    c.model.weights = active_file;
    engine = make_engine(c);
    try {
      engine->start();
      training->set_live_version(active_version);
      started_engine = true;
    } catch (const std::exception& e) {
      spdlog::error("active model version {} ({}) did not load, starting with the base model: {}",
                    active_version, active_file, e.what());
    }
  }
  if (!started_engine) {
    engine = make_engine(cfg);
    engine->start();  // loads the model on the inference thread; throws on failure
  }

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
          publisher->publish("device." + dev.id,
                             events::device_state_json(dev.id, dev.state, detail));
        },
        [this, i](const std::string& label, std::int64_t t0, std::int64_t t1) {
          const auto& dev = devices[i];
          publisher->publish("truth." + dev.id, nlohmann::json{{"schema", events::kSchemaVersion},
                                                               {"type", "truth"},
                                                               {"device", dev.id},
                                                               {"label", label},
                                                               {"t_start_host_ns", t0},
                                                               {"t_end_host_ns", t1}}
                                                    .dump());
        }};
    d.source = adapters::make_source(cfg.devices[i], i, std::move(ctx));
  }
  for (auto& d : devices) d.source->start();
  start_control();

  stop_signals.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (!ec) stop(signo);
  });
  hup_signal.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) reload();
  });
  arm_status();
  std::optional<std::chrono::microseconds> wd = watchdog_interval();
  if (!wd && cfg.daemon.watchdog_ms > 0) wd = std::chrono::milliseconds(cfg.daemon.watchdog_ms);
  if (wd) arm_watchdog(*wd / 2);

  arm_heartbeat();
  if (!cfg.metrics.listen.empty()) {
    metrics = std::make_unique<MetricsServer>(
        cfg.metrics.listen, [this] { return render_metrics(); },
        [this] { return clock.now_ns() - io_heartbeat_ns.load() < 5'000'000'000; },
        [this] { return ready.load(); });
    spdlog::info("metrics on http://{}/metrics", cfg.metrics.listen);
  }
  std::string summary;
  status_json(summary);
  ready.store(true);
  notify_ready(summary);
  spdlog::info("primusd {} ready: {} device(s), model {} on {}", version(), devices.size(),
               engine->model_version(), engine->device_name());
}

void Daemon::Impl::stop(int signo) {
  if (stopping) return;
  stopping = true;
  ready.store(false);
  heartbeat_timer.cancel();
  spdlog::info("received {}, stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
  notify_stopping();
  if (control) control->stop();    // no new requests
  if (training) training->stop();  // cancels a fine-tune at its next batch
  for (auto& d : devices) d.source->stop();
  status_timer.cancel();
  watchdog_timer.cancel();
  hup_signal.cancel();
  engine->stop();  // drains the batcher, closes gestures in progress
  if (loader.joinable()) loader.join();
  const auto st = engine->stats();
  spdlog::info("inference stopped after {} windows in {} batches", st.windows, st.batches);
  if (capture_writer) capture_writer->stop();  // writes every capture already accepted
  io.stop();
}

void Daemon::Impl::reload() {
  hup_signal.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) reload();
  });
  if (cfg.source.empty()) {
    spdlog::warn("SIGHUP: the configuration did not come from a file; nothing to reload");
    return;
  }
  notify_reloading();
  try {
    (void)reload_config("SIGHUP");
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: refusing the new configuration, keeping the old one: {}", e.what());
  }
  std::string summary;
  status_json(summary);
  notify_status(summary);  // also ends RELOADING
}

nlohmann::json Daemon::Impl::reload_config(const std::string& who) {
  Config next = load_config(cfg.source);
  std::vector<std::string> restart;
  const auto changes = diff_live(cfg, next, restart);
  if (changes.empty() && restart.empty())
    spdlog::info("{}: {} unchanged", who, cfg.source.string());
  for (const auto& c : changes) spdlog::info("{}: {}", who, c);
  for (const auto& r : restart)
    spdlog::warn("{}: {} changed but needs a restart; keeping the running value", who, r);
  set_log_level(next.daemon.log_level);
  engine->set_events_config(next.events);
  cfg.daemon.log_level = next.daemon.log_level;
  cfg.events = next.events;
  cfg.daemon.status_interval_s = next.daemon.status_interval_s;
  if (next.model.weights != cfg.model.weights) swap_model(next);
  return {{"changes", changes}, {"restart", restart}};
}

// Load and warm the new weights on a loader thread, then hand them to the engine, which swaps
// them in between two batches. The live model keeps serving meanwhile; a failed load keeps it.
void Daemon::Impl::swap_model(const Config& next) {
  if (loading.exchange(true)) {
    spdlog::warn("SIGHUP: a model is already being loaded; model.weights change ignored");
    return;
  }
  if (loader.joinable()) loader.join();
  Config load_cfg = cfg;
  load_cfg.model.weights = next.model.weights;
  spdlog::info("SIGHUP: model.weights: {} -> {}; loading beside the live model",
               cfg.model.weights.empty() ? "(random)" : cfg.model.weights,
               next.model.weights.empty() ? "(random)" : next.model.weights);
  loader = std::thread([this, load_cfg] {
    pthread_setname_np(pthread_self(), "primus-load");
    try {
      model::set_inference_threads(load_cfg.model.threads);
      auto m = inference::Engine::load_model(load_cfg);
      auto live = engine->request_swap(std::move(m));
      live.get();
      asio::post(io, [this, w = load_cfg.model.weights] { cfg.model.weights = w; });
    } catch (const std::exception& e) {
      spdlog::error("new model not loaded, keeping {}: {}", engine->model_version(), e.what());
    }
    loading.store(false);
  });
}

void Daemon::Impl::arm_heartbeat() {
  io_heartbeat_ns.store(clock.now_ns());
  heartbeat_timer.expires_after(std::chrono::seconds(1));
  heartbeat_timer.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) arm_heartbeat();
  });
}

// Per-device lines are built on the io thread (pipelines are not thread-safe) and cached.
void Daemon::Impl::refresh_device_metrics() {
  PromWriter w;
  struct Metric {
    const char* name;
    const char* type;
    const char* help;
    std::function<double(Device&)> get;
  };
  const std::vector<Metric> metrics_list{
      {"primusd_device_samples_total", "counter", "Samples delivered by the source.",
       [](Device& d) { return static_cast<double>(d.source->stats().samples); }},
      {"primusd_device_decode_errors_total", "counter", "Frames or rows the codec dropped.",
       [](Device& d) { return static_cast<double>(d.source->stats().decode_errors); }},
      {"primusd_device_windows_total", "counter", "Windows formed.",
       [](Device& d) { return static_cast<double>(d.windows); }},
      {"primusd_device_connected", "gauge", "1 when the source is connected.",
       [](Device& d) { return d.state == "connected" ? 1.0 : 0.0; }},
      {"primusd_device_input_rate_hz", "gauge", "Input rate measured by the clock map.",
       [](Device& d) { return d.pipeline->input_rate_hz(); }},
      {"primusd_device_clock_offset_seconds", "gauge", "Host minus device clock.",
       [](Device& d) { return d.pipeline->clock_offset_s(); }},
      {"primusd_device_clock_drift_ppm", "gauge", "Device clock drift.",
       [](Device& d) { return d.pipeline->clock_drift_ppm(); }},
  };
  for (const auto& m : metrics_list) {
    w.help(m.name, m.type, m.help);
    for (auto& d : devices) w.sample(m.name, fmt::format("device=\"{}\"", d.id), m.get(d));
  }
  w.help("primusd_device_dropped_total", "counter",
         "Samples dropped or repaired by the pipeline, by reason.");
  for (auto& d : devices) {
    const auto j = counters_json(d.pipeline->counters());
    for (const char* reason : {"dropped_duplicate", "out_of_order", "samples_lost", "gaps_bridged",
                               "gaps_reset", "bad_quat", "nan_dropped", "missing_fields",
                               "clock_jumps", "restarts", "ring_overflow"}) {
      w.sample("primusd_device_dropped_total",
               fmt::format("device=\"{}\",reason=\"{}\"", d.id, reason), j[reason].get<double>());
    }
  }
  std::lock_guard lk(device_metrics_mu);
  device_metrics = std::move(w.out);
}

std::string Daemon::Impl::render_metrics() {
  PromWriter w;
  const auto bs = batcher->stats();
  const auto es = engine->stats();
  const auto ps = publisher->stats();
  auto counter = [&](const char* name, const char* help, double v) {
    w.help(name, "counter", help);
    w.sample(name, "", v);
  };
  auto gauge = [&](const char* name, const char* help, double v) {
    w.help(name, "gauge", help);
    w.sample(name, "", v);
  };
  gauge("primusd_ready", "1 once sources are open and the model is loaded.", ready.load() ? 1 : 0);
  gauge("primusd_batcher_depth", "Windows waiting for inference.", static_cast<double>(bs.depth));
  counter("primusd_batcher_enqueued_total", "Windows queued for inference.",
          static_cast<double>(bs.enqueued));
  counter("primusd_batcher_dropped_overload_total", "Windows dropped because the queue was full.",
          static_cast<double>(bs.dropped_overload));
  counter("primusd_batcher_expired_total",
          "Windows dropped for waiting longer than max_queue_delay_us.",
          static_cast<double>(bs.expired));
  counter("primusd_inference_windows_total", "Windows scored.", static_cast<double>(es.windows));
  counter("primusd_inference_batches_total", "Model calls.", static_cast<double>(es.batches));
  counter("primusd_inference_failed_batches_total", "Model calls that failed.",
          static_cast<double>(es.failed_batches));
  counter("primusd_model_swaps_total", "Models swapped in.", static_cast<double>(es.swaps));
  counter("primusd_events_total", "Gesture events published.", static_cast<double>(es.events));
  counter("primusd_events_rejected_ambiguous_total", "Windows rejected by the margin rule.",
          static_cast<double>(es.rejected_ambiguous));
  counter("primusd_events_too_short_total", "Gestures discarded for min_duration_ms.",
          static_cast<double>(es.too_short));
  counter("primusd_bus_published_total", "Messages handed to ZeroMQ.",
          static_cast<double>(ps.published));
  counter("primusd_bus_dropped_total", "Messages dropped because the publisher queue was full.",
          static_cast<double>(ps.dropped_queue));
  counter("primusd_bus_send_failed_total", "Messages ZeroMQ refused.",
          static_cast<double>(ps.send_failed));
  auto histogram = [&](const char* name, const char* help, const Histogram& h) {
    const auto s = h.snapshot();
    w.help(name, "histogram", help);
    for (std::size_t i = 0; i < s.bounds.size(); ++i)
      w.sample(std::string(name) + "_bucket", fmt::format("le=\"{}\"", s.bounds[i]),
               static_cast<double>(s.cumulative[i]));
    w.sample(std::string(name) + "_bucket", "le=\"+Inf\"",
             static_cast<double>(s.cumulative.back()));
    w.sample(std::string(name) + "_sum", "", s.sum);
    w.sample(std::string(name) + "_count", "", static_cast<double>(s.count));
  };
  const auto& h = engine->histograms();
  histogram("primusd_window_latency_seconds", "Window complete to its messages handed to the bus.",
            h.latency_s);
  histogram("primusd_batch_compute_seconds", "Model time per batch.", h.compute_s);
  histogram("primusd_window_queue_seconds", "Window complete to its batch formed.", h.queue_s);
  histogram("primusd_batch_size", "Windows per model call.", h.batch_size);
  std::lock_guard lk(device_metrics_mu);
  return w.out + device_metrics;
}

void Daemon::Impl::arm_status() {
  status_timer.expires_after(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(cfg.daemon.status_interval_s)));
  status_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    std::string summary;
    publisher->publish("status", status_json(summary));
    notify_status(summary);
    arm_status();
  });
}

void Daemon::Impl::arm_watchdog(std::chrono::microseconds every) {
  watchdog_timer.expires_after(every);
  watchdog_timer.async_wait([this, every](const boost::system::error_code& ec) {
    if (ec) return;
    notify_watchdog();  // sent from the io thread: proves it is not stuck
    arm_watchdog(every);
  });
}

// One line per device and at most one every 10 s, naming what was dropped since the last line.
void Daemon::Impl::warn_about_drops(Device& d) {
  const auto now = std::chrono::steady_clock::now();
  if (now - d.last_warning < std::chrono::seconds(10)) return;
  const auto& c = d.pipeline->counters();
  const auto& p = d.last_counters;
  std::string what;
  auto add = [&](const char* name, std::uint64_t now_v, std::uint64_t then_v) {
    if (now_v > then_v)
      what += fmt::format("{}{} {}", what.empty() ? "" : ", ", now_v - then_v, name);
  };
  // A reset() zeroes the counters: compare against zero then.
  const bool was_reset = c.samples_in < p.samples_in;
  const signal::PipelineCounters zero{};
  const auto& base = was_reset ? zero : p;
  add("duplicates", c.dropped_duplicate, base.dropped_duplicate);
  add("out of order", c.out_of_order, base.out_of_order);
  add("lost (sequence gaps)", c.samples_lost, base.samples_lost);
  add("gaps that restarted the window", c.gaps_reset, base.gaps_reset);
  add("bad quaternions", c.bad_quat, base.bad_quat);
  add("NaN/inf samples", c.nan_dropped, base.nan_dropped);
  add("samples without angular velocity", c.missing_fields, base.missing_fields);
  add("clock jumps", c.clock_jumps, base.clock_jumps);
  add("device restarts", c.restarts, base.restarts);
  add("ring overflows", c.ring_overflow, base.ring_overflow);
  d.last_counters = c;
  if (what.empty()) return;
  d.last_warning = now;
  spdlog::warn("device {}: {} since the last report", d.id, what);
}

std::string Daemon::Impl::status_json(std::string& summary) {
  const auto now = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(now - last_status).count();
  last_status = now;
  nlohmann::json devs = nlohmann::json::array();
  std::size_t connected = 0;
  for (auto& d : devices) {
    const auto& ss = d.source->stats();
    const auto& pc = d.pipeline->counters();
    warn_about_drops(d);
    const double rate =
        dt > 0 ? static_cast<double>(ss.samples - d.samples_at_last_status) / dt : 0;
    d.samples_at_last_status = ss.samples;
    if (d.state == "connected") ++connected;
    devs.push_back({{"id", d.id},
                    {"state", d.state},
                    {"samples", ss.samples},
                    {"rate_hz", rate},
                    {"input_rate_hz", d.pipeline->input_rate_hz()},
                    {"windows", d.windows},
                    {"decode_errors", ss.decode_errors},
                    {"clock_offset_s", d.pipeline->clock_offset_s()},
                    {"clock_drift_ppm", d.pipeline->clock_drift_ppm()},
                    {"source", source_json(ss)},
                    {"pipeline", counters_json(pc)}});
  }
  refresh_device_metrics();
  const auto bs = batcher->stats();
  const auto es = engine->stats();
  const auto ps = publisher->stats();
  nlohmann::json j{
      {"schema", events::kSchemaVersion},
      {"type", "status"},
      {"version", std::string(version())},
      {"uptime_s", std::chrono::duration<double>(now - started).count()},
      {"t_wall_ns", wall_clock_ns()},
      {"model", {{"version", engine->model_version()}, {"device", engine->device_name()}}},
      {"devices", devs},
      {"batcher",
       {{"depth", bs.depth},
        {"capacity", cfg.batcher.queue},
        {"enqueued", bs.enqueued},
        {"dropped_overload", bs.dropped_overload},
        {"expired", bs.expired}}},
      {"inference",
       {{"windows", es.windows},
        {"batches", es.batches},
        {"windows_per_s", es.windows_per_s},
        {"mean_batch", es.mean_batch},
        {"events", es.events},
        {"swaps", es.swaps},
        {"failed_batches", es.failed_batches},
        {"rejected_ambiguous", es.rejected_ambiguous},
        {"too_short", es.too_short},
        {"discontinuities", es.discontinuities},
        {"compute_ms", summary_json(es.compute_ms)},
        {"queue_ms", summary_json(es.queue_ms)},
        {"latency_ms", summary_json(es.latency_ms)}}},
      {"training", training ? training->status() : nlohmann::json(nullptr)},
      {"capture", capture_json()},
      {"bus",
       {{"published", ps.published},
        {"dropped_queue", ps.dropped_queue},
        {"send_failed", ps.send_failed},
        {"curve_denied", zap ? zap->denied() : 0}}}};
  summary = fmt::format("{}/{} devices connected, {:.0f} windows/s, {} events, p99 {:.1f} ms",
                        connected, devices.size(), es.windows_per_s, es.events, es.latency_ms.p99);
  return j.dump();
}

Daemon::Daemon(Config cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {}

Daemon::~Daemon() = default;

int Daemon::run() {
  impl_->start();
  impl_->io.run();
  impl_->publisher->stop(1000);
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace primus::app
