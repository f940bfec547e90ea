#include "src/web/web_console.h"

#include <fmt/format.h>
#include <httplib.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "src/config/web_token.h"
#include "src/service/json_api.h"
#include "src/web/assets.h"
#include "src/web/web_auth.h"

namespace primus::web {
namespace {

using nlohmann::json;

constexpr auto kCallTimeout = std::chrono::seconds(30);
constexpr double kHistorySeconds = 10.0;

const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

void security_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
}

void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& code,
                 const std::string& message) {
  reply_json(res, status, {{"ok", false}, {"error", {{"code", code}, {"message", message}}}});
}

int http_status(service::Errc c) {
  switch (c) {
    case service::Errc::kInvalidParams:
      return 400;
    case service::Errc::kNotFound:
      return 404;
    case service::Errc::kConflict:
      return 409;
    case service::Errc::kBusy:
      return 429;
    case service::Errc::kUnavailable:
      return 503;
    case service::Errc::kTimeout:
      return 504;
    case service::Errc::kInternal:
      return 500;
  }
  return 500;
}

std::optional<std::string> header(const httplib::Request& req, const char* name) {
  if (!req.has_header(name)) return std::nullopt;
  return req.get_header_value(name);
}

/// What a request says about itself, for web_auth's rules.
RequestFacts facts_of(const httplib::Request& req, bool state_changing) {
  RequestFacts f;
  f.host = req.get_header_value("Host");
  f.origin = header(req, "Origin");
  f.authorization = header(req, "Authorization");
  f.cookie = header(req, "Cookie");
  f.has_request_header = req.get_header_value(std::string(kRequestHeader).c_str()) == "1";
  f.state_changing = state_changing;
  return f;
}

/// Three significant decimals are more than a chart shows; keeps the frames small.
void append_num(std::string& out, double v) {
  const double r = std::round(v * 1000.0) / 1000.0;
  fmt::format_to(std::back_inserter(out), "{}", r == 0.0 ? 0.0 : r);
}

std::string read_token_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("web.token_file = \"" + path + "\": cannot be read");
  std::string line;
  std::getline(f, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (const auto why = web_token_problem(line); !why.empty())
    throw std::runtime_error("web.token_file = \"" + path + "\": its first line (the token) " +
                             why);
  return line;
}

}  // namespace

WebConsole::WebConsole(const WebConfig& cfg, ConsoleInfo info, const TimeSource& clock)
    : cfg_(cfg),
      info_(std::move(info)),
      clock_(clock),
      token_(cfg.token_file.empty() ? cfg.token : read_token_file(cfg.token_file)),
      hub_(static_cast<std::size_t>(cfg.max_clients), static_cast<std::size_t>(cfg.client_queue),
           std::chrono::seconds(5), clock),
      scores_(info_.devices.size()) {}

WebConsole::~WebConsole() { stop(); }

void WebConsole::on_bus(const std::string& topic, const std::string& payload) {
  if (!has_clients_.load(std::memory_order_relaxed)) return;
  const auto dot = topic.find('.');
  const std::string kind = topic.substr(0, dot);
  if (kind != "gesture" && kind != "device" && kind != "training" && kind != "status" &&
      kind != "truth")
    return;
  hub_.broadcast(sse_message(kind, payload));
}

void WebConsole::on_scores(std::uint32_t device, const events::ModelTag& model, const float* scores,
                           const events::ScoredWindow& w) {
  if (!has_clients_.load(std::memory_order_relaxed) || device >= scores_.size()) return;
  const std::size_t n = model.labels.size();
  std::vector<std::size_t> order(n);
  for (std::size_t k = 0; k < n; ++k) order[k] = k;
  const std::size_t top = std::min<std::size_t>(n, 3);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
                    [scores](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  json t = json::array();
  for (std::size_t k = 0; k < top; ++k)
    t.push_back({model.labels[order[k]], std::round(scores[order[k]] * 1000.0) / 1000.0});
  std::string s = json{
      {"device", info_.devices[device]},
      {"window_seq", w.seq},
      {"t_host_ns", w.end.t_host_ns},
      {"model_version", model.version},
      {"top",
       std::move(t)}}.dump(-1, ' ', false, json::error_handler_t::replace);
  std::lock_guard lk(scores_mu_);
  scores_[device] = {std::move(s), true};
}

void WebConsole::serve(service::Service& svc, std::vector<const signal::FrameRing*> rings) {
  svc_ = &svc;
  rings_ = std::move(rings);
  server_ = std::make_unique<httplib::Server>();
  const auto threads = static_cast<std::size_t>(cfg_.max_clients) + 8;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(64 * 1024);
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(2, 0);  // a browser that stops reading frees its thread in 2 s
  server_->set_keep_alive_max_count(100);
  // Accepted sockets inherit the listener's buffer sizes (Linux): a bounded send buffer means a
  // browser that stops reading blocks a write within seconds, and the write timeout ends it,
  // instead of the kernel soaking up megabytes for it first.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    (void)setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    int sndbuf = 256 * 1024;
    (void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  });
  routes();
  const auto colon = cfg_.listen.rfind(':');
  std::string host = cfg_.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int port = std::stoi(cfg_.listen.substr(colon + 1));
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0)
    throw std::runtime_error("web.listen = \"" + cfg_.listen +
                             "\": cannot bind (in use, or not an address of this machine)");
  http_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "primus-web-http");
    server_->listen_after_bind();
  });
  pump_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "primus-web");
    pump();
  });
}

void WebConsole::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  hub_.stop();
  if (server_) server_->stop();
  if (http_thread_.joinable()) http_thread_.join();
  if (pump_thread_.joinable()) pump_thread_.join();
}

bool WebConsole::authorize(const httplib::Request& req, httplib::Response& res,
                           bool state_changing) {
  const Verdict v = check_request(token_, facts_of(req, state_changing));
  if (v == Verdict::kOk) return true;
  refused_auth_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lk(log_mu_);
    if (const auto n = refused_log_.note(clock_.now_ns()))
      spdlog::warn("web: refused {} {} from {}: {} ({} refused since the last warning)", req.method,
                   req.path, req.remote_addr, to_string(v), n);
  }
  reply_error(res, v == Verdict::kUnauthorized ? 401 : 403,
              v == Verdict::kUnauthorized ? "unauthorized" : "forbidden", to_string(v));
  return false;
}

void WebConsole::routes() {
  auto& s = *server_;
  s.set_pre_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    security_headers(res);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  for (const auto& a : embedded_assets()) {
    const Asset asset = a;
    auto serve_asset = [asset](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-cache");
      res.set_content(std::string(asset.bytes()), asset.mime);
    };
    s.Get(asset.path, serve_asset);
    if (std::string_view(asset.path) == "/index.html") s.Get("/", serve_asset);
  }
  s.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  s.Get("/api/session", [this](const httplib::Request& req, httplib::Response& res) {
    const bool ok = check_request(token_, facts_of(req, false)) == Verdict::kOk;
    if (!ok && token_.empty()) return (void)authorize(req, res, false);  // bad Host
    json body = json::parse(hello_json(ok));
    body["ok"] = true;
    reply_json(res, 200, body);
  });
  s.Post("/api/login", [this](const httplib::Request& req, httplib::Response& res) {
    // The CSRF rules apply to the login too; the token is what it checks itself.
    const Verdict v = check_request({}, facts_of(req, true));
    if (v != Verdict::kOk && v != Verdict::kBadHost) return (void)authorize(req, res, true);
    if (token_.empty()) return reply_json(res, 200, {{"ok", true}, {"auth_required", false}});
    const auto body = json::parse(req.body, nullptr, false);
    const std::string given =
        body.is_object() && body.contains("token") && body["token"].is_string()
            ? body["token"].get<std::string>()
            : std::string();
    if (!constant_time_equal(given, token_)) {
      refused_auth_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lk(log_mu_);
      if (const auto n = refused_log_.note(clock_.now_ns()))
        spdlog::warn(
            "web: refused a login from {}: wrong token ({} refused since the last "
            "warning)",
            req.remote_addr, n);
      return reply_error(res, 401, "unauthorized", "wrong token");
    }
    res.set_header("Set-Cookie",
                   fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", kTokenCookie, token_));
    spdlog::info("web: login from {}", req.remote_addr);
    reply_json(res, 200, {{"ok", true}, {"auth_required", true}});
  });
  s.Post("/api/logout", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, true)) return;
    res.set_header("Set-Cookie",
                   fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", kTokenCookie));
    reply_json(res, 200, {{"ok", true}});
  });
  s.Post(R"(/api/call/([a-z][a-z_.]{0,63}))",
         [this](const httplib::Request& req, httplib::Response& res) {
           if (!authorize(req, res, true)) return;
           call(req.matches[1].str(), req, res);
         });
  s.Get("/api/stream", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res, false)) return;
    stream(req, res);
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      reply_error(res, res.status, "not_found", fmt::format("HTTP {}", res.status));
  });
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("web: {} {}: {}", req.method, req.path, what);
        reply_error(res, 500, "internal", what);
      });
}

void WebConsole::call(const std::string& method, const httplib::Request& req,
                      httplib::Response& res) {
  if (!service::is_method(method))
    return reply_error(res, 404, "invalid_params", "unknown method \"" + method + "\"");
  json params = json::object();
  if (!req.body.empty()) {
    params = json::parse(req.body, nullptr, false);
    if (params.is_discarded())
      return reply_error(res, 400, "invalid_params", "the body is not JSON");
  }
  calls_.fetch_add(1, std::memory_order_relaxed);
  struct Pending {
    std::optional<service::Result> result;
  };
  auto pending = std::make_shared<Pending>();
  service::call_json(*svc_, method, params, [this, pending](service::Result r) {
    {
      std::lock_guard lk(mu_);
      pending->result = std::move(r);
    }
    cv_.notify_all();
  });
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, kCallTimeout, [&] { return pending->result.has_value() || stopping_; });
  if (!pending->result) {
    lk.unlock();
    if (stopping_) return reply_error(res, 503, "unavailable", "the daemon is stopping");
    return reply_error(res, 504, "timeout", method + ": no answer within 30 s");
  }
  const service::Result r = std::move(*pending->result);
  lk.unlock();
  if (r.is_ok()) return reply_json(res, 200, {{"ok", true}, {"result", r.value}});
  reply_error(res, http_status(r.error->code), service::to_string(r.error->code), r.error->message);
}

void WebConsole::stream(const httplib::Request&, httplib::Response& res) {
  auto client = hub_.connect();
  if (!client)
    return reply_error(res, 503, "busy",
                       fmt::format("{} live streams are open (web.max_clients)", cfg_.max_clients));
  has_clients_.store(true, std::memory_order_relaxed);
  client->push(sse_message("hello", hello_json(true)));
  const auto history = static_cast<std::size_t>(kHistorySeconds * info_.rate_hz);
  for (std::size_t i = 0; i < rings_.size(); ++i) {
    const std::uint64_t pushed = rings_[i]->pushed();
    std::uint64_t from = pushed > history ? pushed - history : 0;
    client->push(sse_message("frames", frames_json(i, from, history, true)));
  }
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
  res.set_chunked_content_provider(
      "text/event-stream",
      [client](std::size_t, httplib::DataSink& sink) {
        std::vector<Message> batch;
        const bool open = client->next(batch, std::chrono::seconds(1));
        std::string buf;
        for (const auto& m : batch) buf += *m;
        if (buf.empty()) buf = ": keep-alive\n\n";
        if (!sink.write(buf.data(), buf.size())) {  // gone, or stopped reading
          client->write_failed();
          return false;
        }
        return open;
      },
      [client](bool) { client->close(); });
}

std::string WebConsole::frames_json(std::size_t i, std::uint64_t& from, std::size_t max,
                                    bool history) const {
  std::vector<signal::ModelFrame> buf(std::max<std::size_t>(max, 1));
  const auto r = rings_[i]->read(from, buf.data(), max);
  from = r.first + r.count;
  std::string out;
  out.reserve(64 + r.count * 72);
  out += "{\"device\":";
  out += json(info_.devices[i]).dump();
  fmt::format_to(std::back_inserter(out), ",\"i0\":{},\"history\":{},\"now_ms\":", r.first,
                 history ? "true" : "false");
  append_num(out, static_cast<double>(clock_.now_ns()) * 1e-6);
  out += ",\"t_ms\":[";
  for (std::size_t k = 0; k < r.count; ++k) {
    if (k) out += ',';
    append_num(out, static_cast<double>(buf[k].t_host_ns) * 1e-6);
  }
  out += "],\"v\":[";
  for (std::size_t k = 0; k < r.count; ++k) {
    for (std::size_t c = 0; c < 6; ++c) {
      if (k || c) out += ',';
      append_num(out, static_cast<double>(buf[k].v[c]));
    }
  }
  out += "]}";
  return out;
}

std::string WebConsole::hello_json(bool authenticated) const {
  json j{{"auth_required", !token_.empty()}, {"authenticated", authenticated}};
  if (authenticated) {
    j["version"] = info_.version;
    j["devices"] = info_.devices;
    j["rate_hz"] = info_.rate_hz;
    j["window_length"] = info_.window_length;
    j["hop"] = info_.hop;
    j["now_ms"] = static_cast<double>(clock_.now_ns()) * 1e-6;
    j["frame_rate_hz"] = cfg_.frame_rate_hz;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void WebConsole::pump() {
  const auto period = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(1.0 / cfg_.frame_rate_hz));
  std::vector<std::uint64_t> next(rings_.size());
  for (std::size_t i = 0; i < rings_.size(); ++i) next[i] = rings_[i]->pushed();
  const auto max_frames = static_cast<std::size_t>(std::ceil(info_.rate_hz * 2.0)) + 8;
  auto deadline = std::chrono::steady_clock::now();
  for (;;) {
    deadline += period;
    {
      std::unique_lock lk(mu_);
      if (cv_.wait_until(lk, deadline, [this] { return stopping_; })) return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - deadline > period * 4) deadline = now;  // fell far behind: do not burst
    const bool any = hub_.clients() > 0;
    has_clients_.store(any, std::memory_order_relaxed);
    if (!any) {  // nothing to send: keep up with the rings so a new stream starts from now
      for (std::size_t i = 0; i < rings_.size(); ++i) next[i] = rings_[i]->pushed();
      continue;
    }
    for (std::size_t i = 0; i < rings_.size(); ++i) {
      const std::uint64_t pushed = rings_[i]->pushed();
      if (pushed < next[i]) next[i] = pushed;  // cannot happen (indices only grow); be safe
      if (pushed == next[i]) continue;
      if (pushed - next[i] > max_frames) next[i] = pushed - max_frames;
      hub_.broadcast(sse_message("frames", frames_json(i, next[i], max_frames, false)));
    }
    std::vector<std::string> fresh;
    {
      std::lock_guard lk(scores_mu_);
      for (auto& s : scores_) {
        if (!s.fresh) continue;
        s.fresh = false;
        fresh.push_back(s.json);
      }
    }
    for (auto& f : fresh) hub_.broadcast(sse_message("scores", f));
  }
}

json WebConsole::status_json() const {
  const auto h = hub_.stats();
  return {{"listen", cfg_.listen},
          {"port", port_},
          {"auth", token_.empty() ? "none (loopback)" : "token"},
          {"clients", h.clients},
          {"connected", h.connected},
          {"refused_clients", h.refused},
          {"sent", h.sent},
          {"dropped", h.dropped},
          {"slow_disconnects", h.slow_disconnects},
          {"write_failed", h.write_failed},
          {"requests", requests_.load(std::memory_order_relaxed)},
          {"calls", calls_.load(std::memory_order_relaxed)},
          {"refused_auth", refused_auth_.load(std::memory_order_relaxed)}};
}

}  // namespace primus::web
