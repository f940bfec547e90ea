#pragma once
// Prometheus metrics and health over HTTP (cpp-httplib), on a loopback address.
//   GET /metrics  text exposition format 0.0.4, rendered by `render` on the HTTP thread
//   GET /healthz  200 "ok" while `alive()` (the io thread has ticked recently), else 503
//   GET /readyz   200 "ready" once `ready()` (sources open, model loaded), else 503
// Threads: one HTTP thread owned here; the callbacks run on it and must be thread-safe.
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace primus::app {

class MetricsServer {
 public:
  /// `listen` = "HOST:PORT" (port 0 picks a free one). Throws std::runtime_error if it cannot bind.
  MetricsServer(const std::string& listen, std::function<std::string()> render,
                std::function<bool()> alive, std::function<bool()> ready);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  [[nodiscard]] int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

/// Helpers to write the exposition format.
struct PromWriter {
  std::string out;
  void help(const std::string& name, const std::string& type, const std::string& help);
  void sample(const std::string& name, const std::string& labels, double value);
};

}  // namespace primus::app
