#pragma once
// The control API of the daemon: a ZeroMQ ROUTER socket that takes one JSON request per message
// and answers each with one JSON reply (docs/control.md lists the methods).
//
// Protocol
//   request  one JSON object (UTF-8, at most `max_request_bytes`):
//              {"id": <any JSON, optional, echoed>, "method": "<string>", "params": {<optional>}}
//   reply    one JSON object, "id" first (null when the request had none or was unreadable):
//              {"id": ..., "ok": true, "result": <any JSON>}
//              {"id": ..., "ok": false, "error": {"code": "<code>", "message": "<text>"}}
//   codes    bad_request     not JSON, not an object, "method" missing or not a string, "params"
//                            not an object, nested deeper than 64, larger than
//                            max_request_bytes, more than one body frame
//            unknown_method  the message lists the known methods
//            invalid_params, not_found, conflict, unavailable, timeout: from handlers
//            busy            more than `max_in_flight` requests are being handled, or
//                            `max_backlog` replies to this client wait for it to read them
//            internal        a handler threw something other than ControlError, or dropped its
//                            Responder without replying
// Reading the body (size, depth, JSON, "id", "method", "params") is parse_control_request
// (src/bus/control_request.h), a pure function without ZeroMQ.
// Framing: the server accepts REQ clients (the ROUTER sees [identity, "", body]) and DEALER
// clients ([identity, body] or [identity, "", body]) and replies with the same envelope shape.
// A message with more frames gets a bad_request reply and is counted in `bad_frames`; a message
// with no body frame is dropped and counted. Messages larger than 16 x max_request_bytes (at least
// 1 MiB) make ZeroMQ drop the connection (ZMQ_MAXMSGSIZE) instead of buffering them.
//
// Back-pressure (every reply is delivered or counted, never lost silently)
// - The ROUTER has ZMQ_ROUTER_MANDATORY on, so a send fails visibly instead of being dropped:
//   EAGAIN when the client's pipe is at its high-water mark (kControlSndHwm replies queued in
//   ZeroMQ for that client), EHOSTUNREACH when the client has gone away. Sends never block.
// - A reply that meets a full pipe waits in the server's backlog (one FIFO per client, so a
//   client's replies keep their order and a slow client does not hold up the others). The
//   server thread retries when the socket is writable (ZMQ_POLLOUT) and at least every
//   kBacklogRetry while the backlog is not empty. A client that pipelines many requests and
//   reads afterwards therefore gets one reply per request.
// - While `max_backlog` replies to a client are waiting, its new requests are answered busy
//   (that reply queues behind the others) instead of being handled.
// - The backlog of all clients together holds at most `max_backlog_bytes` (identities and
//   bodies); a reply that does not fit is dropped. Replies to a client that has gone away
//   (EHOSTUNREACH), including all of its backlog, are dropped, as is the backlog at stop().
//   Every dropped reply is counted in `replies_dropped` and logged (spdlog::warn, at most one
//   line per 10 s, with the count since the previous line).
// - ZeroMQ's own queue for each client is not raised beyond its default of 1000 messages
//   (kControlSndHwm, kControlRcvHwm): it is per client and unbounded in bytes, while the backlog
//   is bounded in bytes for all clients together. Requests beyond kControlRcvHwm from one client
//   stay in its connection (the client's sends wait): back-pressure, not loss.
// Accounting (stats()): once idle, requests with a body = replies_ok + replies_error +
// replies_dropped + backlog + in_flight.
//
// Threads: the constructor binds (on the caller's thread); `start()` hands the socket to the
// server thread "primus-ctl", which owns it from then on. Handlers run ON THE SERVER THREAD and
// must not block: a handler that needs another thread (the daemon's io thread) posts work there
// and keeps a copy of its Responder; any thread may reply through it later. Replies from other
// threads are queued under a mutex and wake the server thread through an eventfd, so they go out
// at once; the server thread never waits for a handler.
//
// Security: with `curve_secret_z85` every endpoint is a CURVE server (as bus::Publisher; a
// ZapAuthenticator in the context restricts clients). ipc:// socket files are chmod 0660 after
// binding, so only the service user and group can connect; the caller creates the directory (whose
// permissions are the real guard: the file exists with the umask's mode for a moment).
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "src/bus/control_request.h"  // control_code, ParsedRequest, parse_control_request

namespace zmq {
class context_t;
class socket_t;
class message_t;
}  // namespace zmq

namespace primus::bus {

/// Thrown by a handler (on the server thread) to fail a request with `code` and `what()`.
class ControlError : public std::runtime_error {
 public:
  ControlError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  [[nodiscard]] const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

namespace detail {
struct ControlCore;
struct ResponderState;
}  // namespace detail

/// How a handler answers one request. Copyable; every copy refers to the same request and may be
/// used from any thread. Only the first ok()/fail() of all copies is sent; later calls do nothing.
/// When the last copy is destroyed without a reply, an `internal` "handler did not reply" error
/// is sent. Replies after ControlServer::stop() are dropped (the Responder stays safe to use).
class Responder {
 public:
  void ok(nlohmann::json result) const;
  void fail(std::string code, std::string message) const;
  /// Whether a reply (of any copy) was already given.
  [[nodiscard]] bool done() const noexcept;

 private:
  friend class ControlServer;
  explicit Responder(std::shared_ptr<detail::ResponderState> s) : s_(std::move(s)) {}
  std::shared_ptr<detail::ResponderState> s_;
};

/// ZMQ_SNDHWM of the ROUTER: replies ZeroMQ queues per client before a send meets EAGAIN and
/// the reply goes to the backlog (ZeroMQ's default, set explicitly).
inline constexpr int kControlSndHwm = 1000;
/// ZMQ_RCVHWM of the ROUTER: requests ZeroMQ queues per client before it stops reading that
/// client's connection (ZeroMQ's default, set explicitly).
inline constexpr int kControlRcvHwm = 1000;
/// Longest wait before the backlog is retried, whatever the socket reports.
inline constexpr std::chrono::milliseconds kBacklogRetry{10};

struct ControlServerOptions {
  int max_request_bytes = 65536;  ///< larger requests get bad_request
  int max_in_flight = 64;         ///< requests handled at once (not yet replied); more get busy
  /// Replies to one client waiting in the backlog (its pipe full); while this many wait, its new
  /// requests get busy. >= 1.
  int max_backlog = 4096;
  /// Bytes (identities + bodies) of the backlog of all clients together; a reply that does not
  /// fit is dropped and counted in replies_dropped. >= 1.
  std::size_t max_backlog_bytes = std::size_t{16} << 20;
  std::string curve_secret_z85;  ///< non-empty: CURVE server on every endpoint
};

/// Counters since construction. stats() may be called from any thread; each field is read
/// atomically (the fields together are not one snapshot).
struct ControlServerStats {
  std::uint64_t requests = 0;         ///< messages received (with or without a usable shape)
  std::uint64_t replies_ok = 0;       ///< ok replies handed to ZeroMQ
  std::uint64_t replies_error = 0;    ///< error replies handed to ZeroMQ (every code, busy too)
  std::uint64_t bad_frames = 0;       ///< messages with no body frame or more than one
  std::uint64_t busy = 0;             ///< requests refused with busy (max_in_flight or max_backlog)
  std::uint64_t send_failed = 0;      ///< sends ZeroMQ refused other than for a full pipe (client
                                      ///< gone: EHOSTUNREACH, or another error)
  std::uint64_t replies_dropped = 0;  ///< replies never handed to ZeroMQ: client gone, backlog
                                      ///< over max_backlog_bytes, or left in it at stop()
  std::uint64_t deferred = 0;         ///< replies that waited in the backlog (their client's
                                      ///< pipe was full, or earlier replies to it were waiting)
  std::uint64_t backlog = 0;          ///< replies in the backlog now
  std::uint64_t backlog_bytes = 0;    ///< their identities + bodies, bytes
  std::uint64_t backlog_high_water = 0;  ///< most replies ever in the backlog at once
  std::int64_t in_flight = 0;            ///< requests given to a handler and not answered yet
};

class ControlServer {
 public:
  /// `params` is always an object ({} when the request had none). Called on the server thread.
  /// Throwing ControlError replies with its code; nlohmann::json::exception (reading params)
  /// replies invalid_params; any other exception internal, with what(). A throw after a reply
  /// has been given is ignored (the first reply counts).
  using Handler = std::function<void(const nlohmann::json& params, Responder reply)>;

  /// Binds every endpoint now; throws std::runtime_error naming the endpoint that failed. For
  /// ipc:// the directory must exist; the socket file is chmod 0660.
  ControlServer(zmq::context_t& ctx, const std::vector<std::string>& endpoints,
                ControlServerOptions opt = {});
  ~ControlServer();  ///< stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// Registers the handler of `method` (replacing any). Only before start(): throws
  /// std::logic_error after.
  void on(const std::string& method, Handler handler);
  /// Starts the server thread. Requests that arrived since binding are served now.
  void start();
  /// Stops the server thread and closes the socket (linger 0). Idempotent; no reply goes out
  /// after it returns, including replies of Responders still held elsewhere.
  void stop();

  [[nodiscard]] ControlServerStats stats() const;
  /// The bound endpoints (tcp ports chosen by the system resolved, as ZMQ_LAST_ENDPOINT says).
  [[nodiscard]] const std::vector<std::string>& endpoints() const { return bound_; }
  /// The registered methods, sorted.
  [[nodiscard]] std::vector<std::string> methods() const;

 private:
  enum class SendStatus { kSent, kPeerFull, kPeerGone, kFailed };

  // All of these run on the server thread.
  void run();
  void handle(std::vector<zmq::message_t>& parts);
  void drain();
  /// Sends now, or queues behind the client's earlier replies / in the backlog, or drops.
  void send(const std::string& identity, bool delimiter, const std::string& body, bool ok);
  SendStatus try_send(const std::string& identity, bool delimiter, const std::string& body,
                      bool ok);
  /// Sends what the clients' pipes take now; true if anything left the backlog.
  bool flush_backlog();
  void drop(std::uint64_t n, const char* why);

  ControlServerOptions opt_;
  std::unique_ptr<zmq::socket_t> sock_;
  std::vector<std::string> bound_;
  std::map<std::string, Handler> handlers_;
  std::shared_ptr<detail::ControlCore> core_;
  std::atomic<bool> started_{false};
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace primus::bus
