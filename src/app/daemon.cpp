#include "src/app/daemon.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "adapters/source.h"
#include "src/app/logging.h"
#include "src/app/notify.h"
#include "src/bus/publisher.h"
#include "src/core/time_source.h"
#include "src/core/version.h"
#include "src/events/event_types.h"
#include "src/inference/batcher.h"
#include "src/inference/engine.h"
#include "src/signal/device_pipeline.h"

namespace primus::app {
namespace asio = boost::asio;
namespace {

nlohmann::json counters_json(const signal::PipelineCounters& c) {
  return {{"samples_in", c.samples_in},         {"samples_used", c.samples_used},
          {"dropped_duplicate", c.dropped_duplicate}, {"out_of_order", c.out_of_order},
          {"samples_lost", c.samples_lost},     {"gaps_bridged", c.gaps_bridged},
          {"gaps_reset", c.gaps_reset},         {"bad_quat", c.bad_quat},
          {"quat_renormalised", c.quat_renormalised}, {"nan_dropped", c.nan_dropped},
          {"missing_fields", c.missing_fields}, {"clock_jumps", c.clock_jumps},
          {"restarts", c.restarts},             {"ring_overflow", c.ring_overflow},
          {"frames_out", c.frames_out},         {"frames_interpolated", c.frames_interpolated},
          {"windows_out", c.windows_out}};
}

}  // namespace

struct Daemon::Impl {
  explicit Impl(Config c) : cfg(std::move(c)) {}

  struct Device {
    std::string id;
    std::unique_ptr<signal::DevicePipeline> pipeline;
    std::unique_ptr<adapters::Source> source;
    std::string state = "connecting";
    std::uint64_t windows = 0;
    std::uint64_t windows_dropped = 0;  ///< refused by a closed batcher
    std::uint64_t samples_at_last_status = 0;
    signal::PipelineCounters last_counters{};  ///< at the last drop warning
    std::chrono::steady_clock::time_point last_warning{};
  };

  Config cfg;
  const TimeSource& clock = SteadyTimeSource::instance();
  asio::io_context io;
  zmq::context_t zmq_ctx{1};
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<inference::Batcher> batcher;
  std::unique_ptr<inference::Engine> engine;
  std::vector<Device> devices;
  asio::signal_set stop_signals{io, SIGTERM, SIGINT};
  asio::signal_set hup_signal{io, SIGHUP};
  asio::steady_timer status_timer{io};
  asio::steady_timer watchdog_timer{io};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_status = started;
  bool stopping = false;

  std::vector<std::string> endpoints() const {
    if (!cfg.bus.publish.empty()) return cfg.bus.publish;
    return {"ipc://" + (std::filesystem::path(cfg.daemon.runtime_dir) / "events.sock").string()};
  }

  void start();
  void stop(int signo);
  void reload();
  void arm_status();
  void arm_watchdog(std::chrono::microseconds every);
  void warn_about_drops(Device& d);
  std::string status_json(std::string& summary);
};

void Daemon::Impl::start() {
  for (const auto& ep : endpoints()) {
    if (ep.rfind("ipc://", 0) == 0) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(ep.substr(6)).parent_path(), ec);
      if (ec) throw std::runtime_error("cannot create the directory of " + ep + ": " + ec.message());
    }
  }
  publisher = std::make_unique<bus::Publisher>(zmq_ctx, endpoints(), cfg.bus.sndhwm,
                                               static_cast<std::size_t>(cfg.bus.queue));
  for (const auto& ep : publisher->endpoints()) spdlog::info("publishing events on {}", ep);

  batcher = std::make_unique<inference::Batcher>(static_cast<std::size_t>(cfg.batcher.queue),
                                                 cfg.batcher.max_batch, cfg.batcher.max_delay_us, clock);
  engine = std::make_unique<inference::Engine>(
      cfg, *batcher,
      [this](std::string topic, std::string json) { publisher->publish(std::move(topic), std::move(json)); },
      clock);
  engine->start();  // loads the model on the inference thread; throws on failure

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
            if (!batcher->push(std::move(w))) ++dev.windows_dropped;
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
          publisher->publish("device." + dev.id, events::device_state_json(dev.id, dev.state, detail));
        }};
    d.source = adapters::make_source(cfg.devices[i], i, std::move(ctx));
  }
  for (auto& d : devices) d.source->start();

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

  std::string summary;
  status_json(summary);
  notify_ready(summary);
  spdlog::info("primusd {} ready: {} device(s), model {} on {}", version(), devices.size(),
               engine->model_version(), engine->device_name());
}

void Daemon::Impl::stop(int signo) {
  if (stopping) return;
  stopping = true;
  spdlog::info("received {}, stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
  notify_stopping();
  for (auto& d : devices) d.source->stop();
  status_timer.cancel();
  watchdog_timer.cancel();
  hup_signal.cancel();
  engine->stop();  // drains the batcher, closes gestures in progress
  const auto st = engine->stats();
  spdlog::info("inference stopped after {} windows in {} batches", st.windows, st.batches);
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
    Config next = load_config(cfg.source);
    std::vector<std::string> restart;
    const auto changes = diff_live(cfg, next, restart);
    if (changes.empty() && restart.empty()) spdlog::info("SIGHUP: {} unchanged", cfg.source.string());
    for (const auto& c : changes) spdlog::info("SIGHUP: {}", c);
    for (const auto& r : restart)
      spdlog::warn("SIGHUP: {} changed but needs a restart; keeping the running value", r);
    set_log_level(next.daemon.log_level);
    engine->set_threshold(next.events.threshold);
    engine->set_publish_scores(next.events.publish_scores);
    cfg.daemon.log_level = next.daemon.log_level;
    cfg.events.threshold = next.events.threshold;
    cfg.events.publish_scores = next.events.publish_scores;
    cfg.daemon.status_interval_s = next.daemon.status_interval_s;
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: refusing the new configuration, keeping the old one: {}", e.what());
  }
  std::string summary;
  status_json(summary);
  notify_status(summary);  // also ends RELOADING
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
    if (now_v > then_v) what += fmt::format("{}{} {}", what.empty() ? "" : ", ", now_v - then_v, name);
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
    const double rate = dt > 0 ? static_cast<double>(ss.samples - d.samples_at_last_status) / dt : 0;
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
                    {"pipeline", counters_json(pc)}});
  }
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
       {{"depth", bs.depth}, {"enqueued", bs.enqueued}, {"dropped_overload", bs.dropped_overload}}},
      {"inference",
       {{"windows", es.windows},
        {"batches", es.batches},
        {"mean_batch", es.mean_batch},
        {"events", es.events},
        {"compute_mean_ms", es.compute_mean_ms},
        {"latency_ms", {{"p50", es.latency_p50_ms}, {"p99", es.latency_p99_ms}, {"max", es.latency_max_ms}}}}},
      {"bus", {{"published", ps.published}, {"dropped_queue", ps.dropped_queue}, {"send_failed", ps.send_failed}}}};
  summary = fmt::format("{}/{} devices connected, {} windows, {} events, p99 {:.1f} ms", connected,
                        devices.size(), es.windows, es.events, es.latency_p99_ms);
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
