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
#include <unordered_map>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "src/core/log_throttle.h"
#include "src/core/time_source.h"

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
      send_failed{0}, replies_dropped{0}, deferred{0}, backlog_depth{0}, backlog_bytes{0},
      backlog_high_water{0};

  // The backlog: replies whose client's pipe was full, one FIFO per client identity. Server
  // thread only (stats() reads the atomics above).
  std::unordered_map<std::string, std::deque<Outgoing>> backlog;
  std::size_t backlog_n = 0;
  std::size_t backlog_size = 0;  ///< identities + bodies, bytes
  bool backlog_progress = true;  ///< the last retry sent something: wait for POLLOUT again
  LogThrottle drop_log{10'000'000'000};
  LogThrottle busy_log{10'000'000'000};

  static std::size_t bytes_of(const Outgoing& o) { return o.identity.size() + o.body.size(); }
  void backlog_changed() {
    backlog_depth.store(backlog_n, std::memory_order_relaxed);
    backlog_bytes.store(backlog_size, std::memory_order_relaxed);
    if (backlog_n > backlog_high_water.load(std::memory_order_relaxed)) {
      backlog_high_water.store(backlog_n, std::memory_order_relaxed);
    }
  }

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
  if (opt_.max_request_bytes < 1 || opt_.max_in_flight < 1 || opt_.max_backlog < 1 ||
      opt_.max_backlog_bytes < 1)
    throw std::invalid_argument(
        "control server: max_request_bytes, max_in_flight, max_backlog and max_backlog_bytes "
        "must be >= 1");
  core_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (core_->wake_fd < 0)
    throw std::runtime_error(std::string("control server: eventfd: ") + std::strerror(errno));
  sock_ = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router);
  sock_->set(zmq::sockopt::linger, 0);
  // A send to a full or unknown peer fails (EAGAIN / EHOSTUNREACH) instead of being dropped.
  sock_->set(zmq::sockopt::router_mandatory, true);
  sock_->set(zmq::sockopt::sndhwm, kControlSndHwm);
  sock_->set(zmq::sockopt::rcvhwm, kControlRcvHwm);
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
  if (core_->backlog_n > 0) drop(core_->backlog_n, "the control server stopped");
  core_->backlog.clear();
  core_->backlog_n = 0;
  core_->backlog_size = 0;
  core_->backlog_changed();
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
  s.replies_dropped = core_->replies_dropped.load(std::memory_order_relaxed);
  s.deferred = core_->deferred.load(std::memory_order_relaxed);
  s.backlog = core_->backlog_depth.load(std::memory_order_relaxed);
  s.backlog_bytes = core_->backlog_bytes.load(std::memory_order_relaxed);
  s.backlog_high_water = core_->backlog_high_water.load(std::memory_order_relaxed);
  s.in_flight = core_->in_flight.load(std::memory_order_relaxed);
  return s;
}

void ControlServer::run() {
  pthread_setname_np(pthread_self(), "primus-ctl");
  for (;;) {
    // With replies waiting: POLLOUT while retries make progress (with ROUTER_MANDATORY it means
    // that some client's pipe has room, maybe not the waiting one's, hence the retry timer).
    const bool waiting = core_->backlog_n > 0;
    const short events =
        static_cast<short>(ZMQ_POLLIN | (waiting && core_->backlog_progress ? ZMQ_POLLOUT : 0));
    zmq::pollitem_t items[] = {{sock_->handle(), 0, events, 0},
                               {nullptr, core_->wake_fd, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, waiting ? kBacklogRetry : std::chrono::milliseconds(-1));
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
    if (waiting) core_->backlog_progress = flush_backlog();
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

ControlServer::SendStatus ControlServer::try_send(const std::string& identity, bool delimiter,
                                                  const std::string& body, bool ok) {
  try {
    // With ROUTER_MANDATORY the identity frame is where a full pipe (EAGAIN: no value) or an
    // unknown peer (EHOSTUNREACH: thrown) shows; once it is taken the other frames are too.
    if (!sock_->send(zmq::buffer(identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait)
             .has_value())
      return SendStatus::kPeerFull;
    if (delimiter && !sock_
                          ->send(zmq::const_buffer(nullptr, 0),
                                 zmq::send_flags::sndmore | zmq::send_flags::dontwait)
                          .has_value())
      return SendStatus::kFailed;
    // Counted before the last frame goes out (and taken back if it fails), so that a client
    // that has its reply also sees it in stats().
    auto& counter = ok ? core_->replies_ok : core_->replies_error;
    counter.fetch_add(1, std::memory_order_relaxed);
    if (!sock_->send(zmq::buffer(body), zmq::send_flags::dontwait).has_value()) {
      counter.fetch_sub(1, std::memory_order_relaxed);
      return SendStatus::kFailed;
    }
    return SendStatus::kSent;
  } catch (const zmq::error_t& e) {
    return e.num() == EHOSTUNREACH ? SendStatus::kPeerGone : SendStatus::kFailed;
  }
}

void ControlServer::send(const std::string& identity, bool delimiter, const std::string& body,
                         bool ok) {
  auto& core = *core_;
  const auto waiting = core.backlog.find(identity);
  SendStatus st = SendStatus::kPeerFull;
  // A client with replies waiting gets this one after them, to keep its replies in order.
  if (waiting == core.backlog.end()) st = try_send(identity, delimiter, body, ok);
  switch (st) {
    case SendStatus::kSent:
      return;
    case SendStatus::kPeerGone:
    case SendStatus::kFailed:
      core.send_failed.fetch_add(1, std::memory_order_relaxed);
      drop(1, st == SendStatus::kPeerGone ? "the client has gone away" : "ZeroMQ refused it");
      return;
    case SendStatus::kPeerFull:
      break;
  }
  detail::ControlCore::Outgoing o{identity, delimiter, body, ok};
  const std::size_t bytes = detail::ControlCore::bytes_of(o);
  if (core.backlog_size + bytes > opt_.max_backlog_bytes) {
    drop(1, "the backlog is full (max_backlog_bytes)");
    return;
  }
  core.deferred.fetch_add(1, std::memory_order_relaxed);
  core.backlog[identity].push_back(std::move(o));
  ++core.backlog_n;
  core.backlog_size += bytes;
  core.backlog_changed();
}

bool ControlServer::flush_backlog() {
  auto& core = *core_;
  bool progress = false;
  for (auto it = core.backlog.begin(); it != core.backlog.end();) {
    auto& q = it->second;
    while (!q.empty()) {
      const auto& o = q.front();
      const SendStatus st = try_send(o.identity, o.delimiter, o.body, o.ok);
      if (st == SendStatus::kPeerFull) break;
      progress = true;
      if (st == SendStatus::kPeerGone) {  // every reply to it is undeliverable
        core.send_failed.fetch_add(1, std::memory_order_relaxed);
        std::size_t bytes = 0;
        for (const auto& r : q) bytes += detail::ControlCore::bytes_of(r);
        const std::size_t n = q.size();
        core.backlog_n -= n;
        core.backlog_size -= bytes;
        q.clear();
        drop(n, "the client has gone away");
        break;
      }
      if (st == SendStatus::kFailed) {
        core.send_failed.fetch_add(1, std::memory_order_relaxed);
        drop(1, "ZeroMQ refused it");
      }
      core.backlog_n -= 1;
      core.backlog_size -= detail::ControlCore::bytes_of(o);
      q.pop_front();
    }
    it = q.empty() ? core.backlog.erase(it) : std::next(it);
  }
  core.backlog_changed();
  return progress;
}

void ControlServer::drop(std::uint64_t n, const char* why) {
  core_->replies_dropped.fetch_add(n, std::memory_order_relaxed);
  if (const auto k = core_->drop_log.note(SteadyTimeSource::instance().now_ns(), n)) {
    spdlog::warn("control: {} repl{} dropped since the last warning (the last because {})", k,
                 k == 1 ? "y" : "ies", why);
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
  if (const auto w = core_->backlog.find(identity);
      w != core_->backlog.end() && w->second.size() >= static_cast<std::size_t>(opt_.max_backlog)) {
    // This client does not read its replies: do not take on more work for it.
    core_->busy.fetch_add(1, std::memory_order_relaxed);
    if (const auto k = core_->busy_log.note(SteadyTimeSource::instance().now_ns())) {
      spdlog::warn(
          "control: {} request(s) answered busy since the last warning: a client has {} replies "
          "it has not read (max_backlog = {})",
          k, w->second.size(), opt_.max_backlog);
    }
    fail(code::kBusy, id_json,
         std::to_string(w->second.size()) +
             " replies to this client wait for it to read them (max_backlog = " +
             std::to_string(opt_.max_backlog) + "); read them, then try again");
    return;
  }
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
