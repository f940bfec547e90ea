#pragma once
// The ZeroMQ PUB side of the event bus.
//
// Threads: `publish()` may be called from any thread and never blocks: messages go into a bounded
// queue (drop-oldest when full, counted). One publisher thread owns the ZeroMQ socket (sockets are
// not thread-safe) and sends each queued message as a two-frame multipart [topic, JSON] with
// ZMQ_DONTWAIT; a subscriber that falls behind by more than `sndhwm` messages loses messages inside
// ZeroMQ (PUB semantics), never stalls the daemon.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zmq {
class context_t;
}

namespace primus::bus {

struct PublisherStats {
  std::uint64_t published = 0;      ///< handed to ZeroMQ
  std::uint64_t dropped_queue = 0;  ///< dropped because the publisher queue was full
  std::uint64_t send_failed = 0;    ///< ZeroMQ refused (EAGAIN etc.)
  std::size_t queue_depth = 0;
};

class Publisher {
 public:
  /// Binds every endpoint now (throws std::runtime_error naming the endpoint on failure) and
  /// starts the publisher thread. For ipc:// endpoints the parent directory must exist.
  /// A non-empty `curve_secret_z85` makes the socket a CURVE server on every endpoint (clients
  /// must know its public key; a ZapAuthenticator in `ctx` may restrict which clients).
  Publisher(zmq::context_t& ctx, const std::vector<std::string>& endpoints, int sndhwm,
            std::size_t queue_capacity, const std::string& curve_secret_z85 = {});
  ~Publisher();  ///< stop(), then join.
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  /// Queue one message. Thread-safe, non-blocking. The taps, if any, see it first.
  void publish(std::string topic, std::string payload);
  /// Another consumer of every published message (the MQTT bridge, the web console), called by
  /// publish() on the publishing thread; it must not block and must copy what it keeps. Add taps
  /// before any other thread publishes; they live as long as the publisher.
  using Tap = std::function<void(const std::string& topic, const std::string& payload)>;
  void add_tap(Tap tap) { taps_.push_back(std::move(tap)); }
  /// Send what is queued (up to `linger_ms` for ZeroMQ to flush), then stop the thread.
  void stop(int linger_ms = 1000);

  [[nodiscard]] PublisherStats stats() const;
  [[nodiscard]] const std::vector<std::string>& endpoints() const { return bound_; }

 private:
  void run();

  zmq::context_t& ctx_;
  std::vector<std::string> endpoints_;
  std::vector<std::string> bound_;  ///< actual endpoints (tcp://*:0 resolved)
  int sndhwm_;
  std::size_t capacity_;
  std::string curve_secret_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> queue_;
  bool stopping_ = false;
  int linger_ms_ = 1000;
  std::uint64_t dropped_queue_ = 0;
  std::atomic<std::uint64_t> published_{0};
  std::atomic<std::uint64_t> send_failed_{0};

  std::thread thread_;
  std::string bind_error_;
  std::vector<Tap> taps_;
};

}  // namespace primus::bus
