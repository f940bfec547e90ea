#pragma once
// Daemon::Impl, shared by daemon.cpp (start, stop, status, reload) and daemon_control.cpp (the
// control API handlers, labelling, fine-tuning hooks). Private to src/app.
//
// Threads: the io thread (Asio) owns `devices` and everything the pipelines touch; the control
// server thread runs handlers, which post to the io thread or hand work to the capture writer
// or the training service (each with its own thread). Members marked "any thread" are safe from
// all of them.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "adapters/source.h"
#include "src/app/daemon.h"
#include "src/app/metrics_server.h"
#include "src/bus/control_server.h"
#include "src/bus/curve.h"
#include "src/bus/publisher.h"
#include "src/capture/capture_writer.h"
#include "src/core/time_source.h"
#include "src/inference/batcher.h"
#include "src/inference/engine.h"
#include "src/signal/device_pipeline.h"
#include "src/training/service.h"

namespace primus::app {
namespace asio = boost::asio;

struct Daemon::Impl {
  explicit Impl(Config c) : cfg(std::move(c)) {}
  ~Impl() {
    if (engine) engine->stop();  // fails a pending swap, so the loader cannot wait forever
    if (loader.joinable()) loader.join();
  }

  struct Device {
    std::string id;
    std::unique_ptr<signal::DevicePipeline> pipeline;
    std::unique_ptr<adapters::Source> source;
    std::string state = "connecting";
    std::uint64_t windows = 0;
    std::uint64_t samples_at_last_status = 0;
    signal::PipelineCounters last_counters{};  ///< at the last drop warning
    std::chrono::steady_clock::time_point last_warning{};
    struct Labelling {
      std::string label;
      std::int64_t t_start_host_ns = 0;
    };
    std::optional<Labelling> labelling;  ///< label.start .. label.stop in progress
  };

  Config cfg;
  const TimeSource& clock = SteadyTimeSource::instance();
  asio::io_context io;
  zmq::context_t zmq_ctx{1};
  std::unique_ptr<bus::ZapAuthenticator> zap;  ///< before the publisher: it guards its endpoints
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<inference::Batcher> batcher;
  std::unique_ptr<inference::Engine> engine;
  std::vector<Device> devices;
  asio::signal_set stop_signals{io, SIGTERM, SIGINT};
  asio::signal_set hup_signal{io, SIGHUP};
  asio::steady_timer status_timer{io};
  asio::steady_timer watchdog_timer{io};
  asio::steady_timer heartbeat_timer{io};
  std::atomic<std::int64_t> io_heartbeat_ns{0};  ///< last io-thread tick, for /healthz
  std::atomic<bool> ready{false};
  std::mutex device_metrics_mu;
  std::string device_metrics;  ///< per-device exposition lines, refreshed by the io thread
  std::unique_ptr<MetricsServer> metrics;
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
  void arm_heartbeat();
  std::string render_metrics();
  void refresh_device_metrics();
  void swap_model(const Config& next);
  std::thread loader;  ///< loads a new model beside the live one (SIGHUP with new model.weights)
  std::atomic<bool> loading{false};
  std::string status_json(std::string& summary);
  /// Applies the config file again (SIGHUP, config.reload): returns {"changes","restart"};
  /// throws ConfigError (file refused, old config kept). io thread.
  nlohmann::json reload_config(const std::string& who);

  // Labelling, capture and fine-tuning (daemon_control.cpp).
  std::unique_ptr<capture::CaptureWriter> capture_writer;  ///< null when the store is unusable
  std::unique_ptr<training::TrainingService> training;     ///< null when the registry is unusable
  std::string capture_disabled_why;                        ///< why capture_writer is null
  std::string training_disabled_why;                       ///< why training is null
  std::unique_ptr<bus::ControlServer> control;
  void start_capture_and_training();  ///< before the engine starts: picks the start-up model
  void start_control();               ///< after everything else is running
  void register_handlers();
  /// io thread: copy [from, to] (+ context) of device i's history, store it, answer `reply`.
  void capture_span(std::size_t i, std::string label, std::int64_t from_ns, std::int64_t to_ns,
                    bus::Responder reply);
  void try_capture(std::size_t i, std::string label, std::int64_t from_ns, std::int64_t to_ns,
                   std::int64_t ctx_from_ns, std::int64_t ctx_to_ns, std::int64_t give_up_ns,
                   bus::Responder reply);
  nlohmann::json devices_json() const;
  nlohmann::json capture_json() const;  ///< writer counters for status (any thread)
};

}  // namespace primus::app
