#pragma once
// The web console's live streams: one bounded queue per connected browser, fed by broadcast()
// from the daemon's threads and drained by that browser's HTTP thread (server-sent events).
//
//   publisher tap / frame pump --broadcast()--> [client queue]* --next()--> HTTP thread --> socket
//
// Contract
// - broadcast() never waits on a browser: it takes the hub's lock and each client's lock for a
//   push of a shared, already-encoded message (no copy per client). A full queue drops its oldest
//   message (counted per client and in HubStats::dropped).
// - A client whose queue has overflowed continuously for longer than `slow_after` is closed
//   ("slow": counted in slow_disconnects); its HTTP thread sees next() return false and ends the
//   response. Together with the HTTP server's write timeout, a browser that stops reading costs
//   the daemon one queue of memory and one HTTP thread for a few seconds, never a stall.
// - At most `max_clients` at once; connect() beyond that returns null (counted in refused).
//
// Threads: every member is thread-safe. Client::next() is for the one thread serving that client.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/core/time_source.h"

namespace primus::web {

/// One server-sent event, encoded once ("event: gesture\ndata: {...}\n\n").
using Message = std::shared_ptr<const std::string>;
/// `event` is the SSE event name ([a-z_]+), `json` one line of JSON (no newline).
[[nodiscard]] Message sse_message(const std::string& event, const std::string& json);

struct HubStats {
  std::size_t clients = 0;             ///< connected now
  std::uint64_t connected = 0;         ///< ever
  std::uint64_t refused = 0;           ///< connect() beyond max_clients
  std::uint64_t broadcasts = 0;        ///< messages offered to the clients
  std::uint64_t sent = 0;              ///< messages handed to a client's socket
  std::uint64_t dropped = 0;           ///< messages dropped oldest-first from full queues
  std::uint64_t slow_disconnects = 0;  ///< clients closed for overflowing longer than slow_after
  std::uint64_t write_failed = 0;  ///< streams ended by a failed socket write: the browser left,
                                   ///< or stopped reading for longer than the write timeout
};

class LiveHub {
 public:
  class Client {
   public:
    /// Wait up to `wait` for messages and move every queued one into `out` (cleared first).
    /// False once the client is closed (slow, hub stopping, or close()); `out` may still hold
    /// the last messages then.
    bool next(std::vector<Message>& out, std::chrono::milliseconds wait);
    /// Queue a message for this client only (the hello and history at connect).
    void push(Message m);
    void close();
    /// The HTTP thread could not write to the socket: counted, and the client closed.
    void write_failed();
    [[nodiscard]] std::uint64_t dropped() const;

   private:
    friend class LiveHub;
    Client(LiveHub& hub, std::size_t capacity) : hub_(hub), capacity_(capacity) {}
    bool push_locked(Message m, std::int64_t now_ns);  ///< false when it turned slow

    LiveHub& hub_;
    const std::size_t capacity_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Message> queue_;
    std::uint64_t dropped_ = 0;
    std::int64_t overflow_since_ns_ = -1;  ///< first drop of the current overflow, -1: none
    bool closed_ = false;
  };

  /// `slow_after`: how long a queue may overflow before its client is closed.
  LiveHub(std::size_t max_clients, std::size_t queue_capacity,
          std::chrono::milliseconds slow_after = std::chrono::seconds(5),
          const TimeSource& clock = SteadyTimeSource::instance());
  ~LiveHub();  ///< stop()
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

  /// A new client, or null when max_clients are connected or the hub stopped. The client leaves
  /// the hub when the last shared_ptr to it goes; the hub must outlive its clients.
  [[nodiscard]] std::shared_ptr<Client> connect();
  /// Offer `m` to every client.
  void broadcast(const Message& m);
  /// Close every client and refuse new ones.
  void stop();

  [[nodiscard]] std::size_t clients() const;
  [[nodiscard]] HubStats stats() const;

 private:
  const std::size_t max_clients_;
  const std::size_t capacity_;
  const std::int64_t slow_after_ns_;
  const TimeSource& clock_;
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<Client>> clients_;
  std::uint64_t connected_ = 0, refused_ = 0, broadcasts_ = 0;
  std::atomic<std::uint64_t> sent_{0}, dropped_{0}, slow_{0},
      write_failed_{0};  ///< updated by the clients
  bool stopped_ = false;
};

}  // namespace primus::web
