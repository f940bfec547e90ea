#pragma once
// Daemon::Impl: the object graph (Parts) and its lifecycle: start, reload, stop, and the io loop.
// The app's other rooms hang off it: StatusReport (status, metrics, drop warnings), Labeller
// (labelling and capture cutting), ModelSwap (a new model.weights on reload), DaemonService (the
// service API) and the control front end. Private to src/app.
//
// Threads: the io thread (Asio) runs everything here after start(); see parts.h for the others.
#include <atomic>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <deque>
#include <memory>

#include "src/app/daemon.h"
#include "src/app/daemon_service.h"
#include "src/app/labelling.h"
#include "src/app/metrics_server.h"
#include "src/app/model_swap.h"
#include "src/app/parts.h"
#include "src/app/status_report.h"

namespace primus::app {

struct Daemon::Impl : Parts {
  explicit Impl(Config c) : Parts(std::move(c)) {}
  ~Impl();

  void start();
  void stop(int signo);
  /// Run the io loop until stop(): an unexpected exception from a handler is logged, counted and
  /// the loop runs on; more than kMaxIoExceptions within a minute stop the watchdog pings, so
  /// systemd restarts the service.
  void run_io();

  static constexpr int kMaxIoExceptions = 10;

 private:
  void start_bus();
  void start_inference();
  void start_devices();
  void start_capture_and_training();
  void start_control();
  void start_timers();
  /// Applies the configuration file again (SIGHUP, config.reload); io thread. done gets
  /// {"changes","restart"}, or the error that refused the file (old config kept), or the model
  /// that did not load (the other live changes are applied).
  void reload(const std::string& who, service::Done done);
  void on_hup();
  void arm_status();
  void arm_watchdog(std::chrono::microseconds every);
  void arm_heartbeat();
  [[nodiscard]] std::vector<std::string> endpoints() const;

  boost::asio::signal_set stop_signals_{io, SIGTERM, SIGINT};
  boost::asio::signal_set hup_signal_{io, SIGHUP};
  boost::asio::steady_timer status_timer_{io};
  boost::asio::steady_timer watchdog_timer_{io};
  boost::asio::steady_timer heartbeat_timer_{io};
  std::atomic<std::int64_t> io_heartbeat_ns_{0};  ///< last io-thread tick, for /healthz
  std::atomic<bool> ready_{false};
  std::atomic<std::uint64_t> io_exceptions_{0};
  std::atomic<bool> io_unhealthy_{false};       ///< too many io exceptions: no more watchdog pings
  std::deque<std::int64_t> recent_exceptions_;  ///< host ns of the last ones (io thread)

  std::unique_ptr<StatusReport> status_;
  std::unique_ptr<Labeller> labeller_;
  std::unique_ptr<ModelSwap> swap_;
  std::unique_ptr<DaemonService> service_;
  std::unique_ptr<MetricsServer> metrics_;
};

}  // namespace primus::app
