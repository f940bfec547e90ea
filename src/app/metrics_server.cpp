#include "src/app/metrics_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <pthread.h>

#include <stdexcept>

namespace primus::app {

MetricsServer::MetricsServer(const std::string& listen, std::function<std::string()> render,
                             std::function<bool()> alive, std::function<bool()> ready)
    : server_(std::make_unique<httplib::Server>()) {
  const auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int port = std::stoi(listen.substr(colon + 1));
  server_->Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/healthz", [alive](const httplib::Request&, httplib::Response& res) {
    const bool ok = alive();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : "io thread stalled\n", "text/plain");
  });
  server_->Get("/readyz", [ready](const httplib::Request&, httplib::Response& res) {
    const bool ok = ready();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ready\n" : "not ready\n", "text/plain");
  });
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) throw std::runtime_error("metrics.listen: cannot bind " + listen);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "primus-http");
    server_->listen_after_bind();
  });
}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void PromWriter::help(const std::string& name, const std::string& type, const std::string& text) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, text, name, type);
}

void PromWriter::sample(const std::string& name, const std::string& labels, double value) {
  if (labels.empty()) {
    out += fmt::format("{} {}\n", name, value);
  } else {
    out += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
}

}  // namespace primus::app
