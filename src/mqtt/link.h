#pragma once
// One connection to an MQTT broker (libmosquitto, MQTT 3.1.1), shared by the bridge (events out)
// and the mqtt sources (samples in).
//
// Session: a persistent session (clean_session = false) under a stable client id, so the broker
// keeps this client's subscriptions and its QoS 1/2 messages across reconnects; a last will
// (`will_payload`, retained, QoS 1) on `will_topic`, replaced by `online_payload` (retained,
// QoS 1) after every successful connect and by `will_payload` again on a clean stop().
//
// Queue and flow: publish() puts a message into a bounded queue (capacity LinkOptions::queue;
// when full the oldest message is dropped and counted in LinkStats::dropped_queue). While the
// broker accepts us, the link thread hands queued messages to libmosquitto, at most
// kMaxInflight of them unacknowledged at a time (QoS 0: until written); messages in flight when the
// connection breaks are re-sent by libmosquitto after the reconnect (DUP, same session), so a
// QoS 1 message is lost only if the queue overflows. While the broker is away, messages wait in
// the queue. Delivery is at least once: a QoS 1 message may arrive twice across a reconnect.
//
// Reconnect: any failure (refused TCP connect, TLS error, CONNACK refusal such as bad
// credentials, keepalive timeout, broker gone) closes the socket and retries after a delay that
// doubles from reconnect_min_s to reconnect_max_s (adapters::Backoff), for ever. Each distinct
// failure is logged once at error level (naming the broker and the reason, e.g. "not authorised:
// check mqtt.username and mqtt.password"), repeats at debug level; last_error() keeps it.
//
// Threads: one thread, "primus-mqtt", owns the libmosquitto handle and runs its loop (poll on the
// socket and an eventfd). publish(), subscribe(), unsubscribe(), stats() are thread-safe and
// never block on the network. Subscription handlers and on_connect hooks run on the link thread:
// they must not block (post to another thread); they may call publish().
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "adapters/backoff.h"
#include "src/config/config.h"

struct mosquitto;
struct mosquitto_message;

namespace primus::mqtt {

struct LinkOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;  ///< non-empty
  std::string username;   ///< empty: anonymous
  std::string password;
  std::string ca_file;  ///< non-empty: TLS, the broker's certificate checked against it
  std::string cert_file;
  std::string key_file;
  int keepalive_s = 30;
  std::string will_topic;  ///< empty: no will, no online/offline messages
  std::string will_payload = "offline";
  std::string online_payload = "online";
  std::size_t queue = 10000;
  double reconnect_min_s = 0.5;
  double reconnect_max_s = 30.0;
};

/// The link's options for [mqtt]: the will on <topic_prefix>/<node>/status, the password read
/// from password_file (first line). Throws std::runtime_error naming mqtt.password_file.
LinkOptions link_options(const MqttConfig& cfg);

struct LinkStats {
  bool connected = false;              ///< the broker accepted the connection (CONNACK 0)
  std::uint64_t published = 0;         ///< messages the broker acknowledged (QoS 0: written)
  std::uint64_t dropped_queue = 0;     ///< dropped because the queue was full (oldest first)
  std::uint64_t send_failed = 0;       ///< refused by libmosquitto (e.g. payload too large)
  std::uint64_t received = 0;          ///< messages in, for any subscription
  std::uint64_t connects = 0;          ///< successful connects (the first one included)
  std::uint64_t connect_failures = 0;  ///< attempts that failed (TCP, TLS, CONNACK refusal)
  std::uint64_t disconnects = 0;       ///< established connections that broke
  std::size_t queue_depth = 0;
  std::size_t inflight = 0;
  std::string last_error;  ///< the last failure, empty if none yet
};

class Link {
 public:
  /// payload bytes are valid for the call only.
  using Handler = std::function<void(const std::string& topic,
                                     std::span<const std::uint8_t> payload, bool retained)>;
  using ConnectHook = std::function<void()>;
  static constexpr std::size_t kMaxInflight = 64;

  /// Sets up the client (TLS files and credentials are checked here: throws std::runtime_error
  /// naming the mqtt.* key). Nothing connects before start().
  explicit Link(LinkOptions opt);
  ~Link();  ///< stop(0ms) if still running.
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  void start();
  /// Publish the will payload (retained), send what is queued for up to `flush` (until the
  /// broker acknowledged it), disconnect cleanly (the will is not fired), join the thread.
  void stop(std::chrono::milliseconds flush = std::chrono::milliseconds(1000));

  /// Queue a message (any thread, non-blocking). False once stopping.
  bool publish(std::string topic, std::string payload, int qos, bool retain);
  /// Subscribe `filter` at `qos` (now if connected, and after every connect); returns an id for
  /// unsubscribe(). Any thread.
  int subscribe(std::string filter, int qos, Handler h);
  /// After this returns the handler is not running and will not run again. Any thread but the
  /// link thread.
  void unsubscribe(int id);
  /// Called on the link thread after every successful connect (before queued messages go out).
  void on_connect(ConnectHook hook);

  [[nodiscard]] LinkStats stats() const;
  [[nodiscard]] std::string broker() const;  ///< "host:port" (with " (TLS)")
  [[nodiscard]] bool connected() const noexcept { return connected_.load(); }

 private:
  struct Out {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
  };
  struct Sub {
    std::string filter;
    int qos = 0;
    Handler handler;
    bool sent = false;  ///< SUBSCRIBE sent on the current connection
  };

  void run();
  bool open_socket();
  void pump();
  void poll_once(int timeout_ms);
  void lost(const std::string& why);
  void fail(const std::string& why, bool was_connected);
  void wait_backoff();
  void wake();
  void flush_and_disconnect(std::chrono::steady_clock::time_point deadline);

  static void cb_connect(mosquitto*, void* self, int rc);
  static void cb_disconnect(mosquitto*, void* self, int rc);
  static void cb_publish(mosquitto*, void* self, int mid);
  static void cb_message(mosquitto*, void* self, const mosquitto_message* m);
  static void cb_log(mosquitto*, void* self, int level, const char* text);

  LinkOptions opt_;
  mosquitto* mosq_ = nullptr;
  int event_fd_ = -1;
  std::thread thread_;

  mutable std::mutex mu_;  // guards queue_, stopping_, flush_ms_, stats_ counters below
  std::condition_variable cv_;
  std::deque<Out> queue_;
  bool stopping_ = false;
  std::chrono::milliseconds flush_{1000};
  LinkStats counters_;  ///< connected/queue_depth/inflight filled by stats()

  std::mutex subs_mu_;  // guards subs_, hooks_; held while a handler runs
  std::map<int, Sub> subs_;
  int next_sub_ = 1;
  std::vector<ConnectHook> hooks_;

  // Link thread only.
  std::unordered_map<int, int> inflight_;  ///< mid -> qos
  bool socket_open_ = false;
  bool session_up_ = false;     ///< CONNACK 0 on the current socket
  bool disconnecting_ = false;  ///< stop(): our own DISCONNECT is going out
  std::string last_logged_error_;
  std::string attempt_error_;  ///< a CONNACK refusal of the current attempt
  std::string lib_error_;      ///< libmosquitto's last error log line (TLS details)
  adapters::Backoff backoff_;

  std::atomic<bool> connected_{false};
  std::atomic<std::size_t> inflight_count_{0};
};

}  // namespace primus::mqtt
