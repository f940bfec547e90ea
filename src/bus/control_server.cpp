#include "src/bus/control_server.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace primus::bus {
namespace detail {

/// What the server thread and every Responder share; outlives the server while Responders do.
struct ControlCore {
  struct Outgoing {
    std::string identity;
    bool delimiter = false;
    std::string body;
    bool ok = false;
  };

  int wake_fd = -1;  ///< eventfd: written by post(), read by the server thread
  std::mutex mu;
  std::deque<Outgoing> queue;  ///< replies given on any thread, sent by the server thread
  bool closed = false;         ///< stop() was called: drop replies, end the thread

  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::uint64_t> requests{0}, replies_ok{0}, replies_error{0}, bad_frames{0}, busy{0},
      send_failed{0};

  ~ControlCore() {
    if (wake_fd >= 0) ::close(wake_fd);
  }
  void wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd, &one, sizeof one);
  }
  void post(Outgoing o) {
    {
      std::lock_guard lk(mu);
      if (closed) return;
      queue.push_back(std::move(o));
    }
    wake();
  }
};

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ok_body(const std::string& id_json, const nlohmann::json& result) {
  return "{\"id\":" + id_json + ",\"ok\":true,\"result\":" + dump(result) + "}";
}

std::string error_body(const std::string& id_json, const std::string& code,
                       const std::string& message) {
  const nlohmann::json err = {{"code", code}, {"message", message}};
  return "{\"id\":" + id_json + ",\"ok\":false,\"error\":" + dump(err) + "}";
}

/// One request being handled: shared by the copies of its Responder.
struct ResponderState {
  ResponderState(std::shared_ptr<ControlCore> c, std::string ident, bool delim, std::string id)
      : core(std::move(c)), identity(std::move(ident)), delimiter(delim), id_json(std::move(id)) {
    core->in_flight.fetch_add(1);
  }
  ~ResponderState() {
    if (!done.load())
      finish(false, error_body(id_json, control_code::kInternal, "handler did not reply"));
  }
  ResponderState(const ResponderState&) = delete;
  ResponderState& operator=(const ResponderState&) = delete;

  void finish(bool ok, std::string body) {
    if (done.exchange(true)) return;
    core->in_flight.fetch_sub(1);
    core->post({identity, delimiter, std::move(body), ok});
  }

  std::shared_ptr<ControlCore> core;
  std::string identity;
  bool delimiter;
  std::string id_json;
  std::atomic<bool> done{false};
};

}  // namespace detail

void Responder::ok(nlohmann::json result) const {
  if (!s_ || s_->done.load()) return;
  s_->finish(true, detail::ok_body(s_->id_json, result));
}

void Responder::fail(std::string code, std::string message) const {
  if (!s_ || s_->done.load()) return;
  s_->finish(false, detail::error_body(s_->id_json, code, message));
}

bool Responder::done() const noexcept { return !s_ || s_->done.load(); }

ControlServer::ControlServer(zmq::context_t& ctx, const std::vector<std::string>& endpoints,
                             ControlServerOptions opt)
    : opt_(std::move(opt)), core_(std::make_shared<detail::ControlCore>()) {
  if (opt_.max_request_bytes < 1 || opt_.max_in_flight < 1)
    throw std::invalid_argument("control server: max_request_bytes and max_in_flight must be >= 1");
  core_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (core_->wake_fd < 0)
    throw std::runtime_error(std::string("control server: eventfd: ") + std::strerror(errno));
  sock_ = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router);
  sock_->set(zmq::sockopt::linger, 0);
  sock_->set(zmq::sockopt::router_mandatory, false);
  sock_->set(zmq::sockopt::maxmsgsize,
             std::max<std::int64_t>(std::int64_t{1} << 20,
                                    std::int64_t{16} * std::int64_t{opt_.max_request_bytes}));
  if (!opt_.curve_secret_z85.empty()) {
    sock_->set(zmq::sockopt::curve_server, true);
    sock_->set(zmq::sockopt::curve_secretkey, opt_.curve_secret_z85);
    sock_->set(zmq::sockopt::zap_domain, "primusd");
  }
  for (const auto& ep : endpoints) {
    try {
      sock_->bind(ep);
    } catch (const zmq::error_t& e) {
      throw std::runtime_error("control.listen: cannot bind " + ep + ": " + e.what());
    }
    std::string last = sock_->get(zmq::sockopt::last_endpoint);
    constexpr std::string_view kIpc = "ipc://";
    if (last.rfind(kIpc, 0) == 0 && last.size() > kIpc.size() && last[kIpc.size()] != '@') {
      const std::string path = last.substr(kIpc.size());
      if (::chmod(path.c_str(), 0660) != 0)
        throw std::runtime_error("control.listen: " + ep + ": cannot chmod 0660 " + path + ": " +
                                 std::strerror(errno));
    }
    bound_.push_back(std::move(last));
  }
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::on(const std::string& method, Handler handler) {
  if (started_.load()) throw std::logic_error("ControlServer::on(" + method + ") after start()");
  handlers_[method] = std::move(handler);
}

std::vector<std::string> ControlServer::methods() const {
  std::vector<std::string> out;
  out.reserve(handlers_.size());
  for (const auto& [name, h] : handlers_) out.push_back(name);
  return out;
}

void ControlServer::start() {
  if (stopped_) throw std::logic_error("ControlServer::start() after stop()");
  if (started_.exchange(true)) throw std::logic_error("ControlServer::start() called twice");
  thread_ = std::thread([this] { run(); });  // thread creation is the barrier that hands over sock_
}

void ControlServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lk(core_->mu);
    core_->closed = true;
    core_->queue.clear();
  }
  core_->wake();
  if (thread_.joinable()) thread_.join();
  sock_.reset();  // linger 0: nothing queued goes out
}

ControlServerStats ControlServer::stats() const {
  ControlServerStats s;
  s.requests = core_->requests.load(std::memory_order_relaxed);
  s.replies_ok = core_->replies_ok.load(std::memory_order_relaxed);
  s.replies_error = core_->replies_error.load(std::memory_order_relaxed);
  s.bad_frames = core_->bad_frames.load(std::memory_order_relaxed);
  s.busy = core_->busy.load(std::memory_order_relaxed);
  s.send_failed = core_->send_failed.load(std::memory_order_relaxed);
  s.in_flight = core_->in_flight.load(std::memory_order_relaxed);
  return s;
}

void ControlServer::run() {
  pthread_setname_np(pthread_self(), "primus-ctl");
  for (;;) {
    zmq::pollitem_t items[] = {{sock_->handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, core_->wake_fd, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(-1));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      spdlog::error("control: poll failed, the control API stops: {}", e.what());
      return;
    }
    if (items[1].revents & ZMQ_POLLIN) {
      std::uint64_t n = 0;
      [[maybe_unused]] const ssize_t r = ::read(core_->wake_fd, &n, sizeof n);
    }
    {
      std::lock_guard lk(core_->mu);
      if (core_->closed) return;
    }
    drain();
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    // A bounded batch per round, so that replies of other threads are not held back by a flood.
    for (int i = 0; i < 256; ++i) {
      std::vector<zmq::message_t> parts;
      std::optional<std::size_t> got;
      try {
        got = zmq::recv_multipart(*sock_, std::back_inserter(parts), zmq::recv_flags::dontwait);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        spdlog::warn("control: receive failed: {}", e.what());
        break;
      }
      if (!got) break;
      handle(parts);
      drain();
    }
  }
}

void ControlServer::drain() {
  std::deque<detail::ControlCore::Outgoing> q;
  {
    std::lock_guard lk(core_->mu);
    q.swap(core_->queue);
  }
  for (const auto& o : q) send(o.identity, o.delimiter, o.body, o.ok);
}

void ControlServer::send(const std::string& identity, bool delimiter, const std::string& body,
                         bool ok) {
  try {
    bool sent =
        sock_->send(zmq::buffer(identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait)
            .has_value();
    if (sent && delimiter)
      sent = sock_
                 ->send(zmq::const_buffer(nullptr, 0),
                        zmq::send_flags::sndmore | zmq::send_flags::dontwait)
                 .has_value();
    // Counted before the last frame goes out (and taken back if it fails), so that a client
    // that has its reply also sees it in stats().
    auto& counter = ok ? core_->replies_ok : core_->replies_error;
    if (sent) {
      counter.fetch_add(1, std::memory_order_relaxed);
      sent = sock_->send(zmq::buffer(body), zmq::send_flags::dontwait).has_value();
      if (!sent) counter.fetch_sub(1, std::memory_order_relaxed);
    }
    if (!sent) {
      core_->send_failed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  } catch (const zmq::error_t&) {
    core_->send_failed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
}

void ControlServer::handle(std::vector<zmq::message_t>& parts) {
  namespace code = control_code;
  core_->requests.fetch_add(1, std::memory_order_relaxed);
  if (parts.size() < 2) {  // an identity and nothing else: no body to answer
    core_->bad_frames.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::string identity = parts[0].to_string();
  const bool delimiter = parts.size() >= 3 && parts[1].size() == 0;
  const std::size_t body_at = delimiter ? 2 : 1;
  const std::string null_id = "null";
  const auto fail = [&](const char* c, const std::string& id_json, const std::string& message) {
    send(identity, delimiter, detail::error_body(id_json, c, message), false);
  };
  if (parts.size() != body_at + 1) {
    core_->bad_frames.fetch_add(1, std::memory_order_relaxed);
    fail(code::kBadRequest, null_id,
         "expected one body frame after the envelope, got " +
             std::to_string(parts.size() - body_at));
    return;
  }
  const std::string_view body(static_cast<const char*>(parts[body_at].data()),
                              parts[body_at].size());
  ParsedRequest req = parse_control_request(body, opt_.max_request_bytes);
  const std::string& id_json = req.id_json;
  if (!req.ok()) {
    fail(req.error_code.c_str(), id_json, req.error_message);
    return;
  }
  const std::string& method = req.method;
  const nlohmann::json& params = req.params;
  const auto h = handlers_.find(method);
  if (h == handlers_.end()) {
    std::string known;
    for (const auto& [name, fn] : handlers_) known += (known.empty() ? "" : ", ") + name;
    fail(code::kUnknownMethod, id_json,
         "unknown method \"" + method + "\" (known methods: " + (known.empty() ? "none" : known) +
             ")");
    return;
  }
  const auto in_flight = core_->in_flight.load();
  if (in_flight >= opt_.max_in_flight) {
    core_->busy.fetch_add(1, std::memory_order_relaxed);
    fail(code::kBusy, id_json,
         std::to_string(in_flight) + " requests are being handled (control.max_in_flight = " +
             std::to_string(opt_.max_in_flight) + "); try again later");
    return;
  }
  const Responder reply(
      std::make_shared<detail::ResponderState>(core_, identity, delimiter, id_json));
  try {
    h->second(params, reply);
  } catch (const ControlError& e) {
    reply.fail(e.code(), e.what());
  } catch (const nlohmann::json::exception& e) {
    reply.fail(code::kInvalidParams, e.what());
  } catch (const std::exception& e) {
    if (!reply.done()) spdlog::warn("control: {} failed: {}", method, e.what());
    reply.fail(code::kInternal, e.what());
  } catch (...) {
    reply.fail(code::kInternal, "the handler threw a non-standard exception");
  }
}

}  // namespace primus::bus
