#pragma once
// The daemon's object graph and run loop: sources -> per-device pipelines -> batcher ->
// inference engine -> publisher, plus signals, sd_notify and the status timer.
//
// Threads: run() turns the calling thread into the io thread (Asio io_context: sources, pipelines,
// timers, signals). The engine and the publisher own one thread each.
#include <memory>

#include "src/config/config.h"

namespace primus::app {

class Daemon {
 public:
  /// `cfg` must come from load_config (validated).
  explicit Daemon(Config cfg);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Start everything, notify READY=1, run until SIGTERM/SIGINT, stop gracefully.
  /// Returns the process exit code (0 after a clean stop). Throws std::runtime_error when
  /// start-up fails (bad weights, endpoint in use, unreadable replay file...).
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace primus::app
