#pragma once
// The web console ([web], docs/web.md): primusd's own HTTP server for people who teach and watch.
//
//   GET  /, /console.js, /console.css   the page (embedded, src/web/assets.h)
//   GET  /api/session                    whether a token is needed and given; the devices
//   POST /api/login, /api/logout         set / clear the token cookie
//   POST /api/call/<method>              one service API call (src/service/json_api.h): the same
//                                        methods, parameters and errors as the control socket
//   GET  /api/stream                     server-sent events: hello, frames (each device's six
//                                        channels at the model rate), scores (the live top
//                                        classes), and the bus's gesture, device, training,
//                                        status and truth messages
//
// Who may call it: src/web/web_auth.h. Slow browsers: src/web/live_hub.h (a bounded queue per
// stream, drop-oldest, closed when it overflows for long) plus a write timeout on the socket.
//
// Threads: cpp-httplib's pool (max_clients + 8 threads) serves requests; one pump thread
// ("primus-web") reads the devices' frame rings (lock-free, src/core/ring_buffer.h) frame_rate_hz
// times a second and broadcasts what is new. on_bus() and on_scores() are called by the
// publisher's tap and the events stage's score tap on their threads and never block. A service
// call waits at most 30 s for its answer, and stop() ends every wait at once (the daemon stops
// the console on its io thread, which may be the one that would answer).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "src/config/config.h"
#include "src/core/log_throttle.h"
#include "src/core/time_source.h"
#include "src/events/events_stage.h"
#include "src/service/service.h"
#include "src/signal/windower.h"
#include "src/web/live_hub.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace primus::web {

/// What the page is told about the daemon at connect (the hello message, /api/session).
struct ConsoleInfo {
  std::string version;
  std::vector<std::string> devices;
  double rate_hz = 50.0;  ///< model rate: the frames' rate
  int window_length = 0;  ///< frames per window
  int hop = 0;            ///< frames between windows
};

class WebConsole {
 public:
  /// Reads web.token_file (throws std::runtime_error naming it when it cannot be read or its
  /// token is malformed). Nothing listens yet.
  WebConsole(const WebConfig& cfg, ConsoleInfo info,
             const TimeSource& clock = SteadyTimeSource::instance());
  ~WebConsole();  ///< stop()
  WebConsole(const WebConsole&) = delete;
  WebConsole& operator=(const WebConsole&) = delete;

  /// A bus message (Publisher tap): gesture.*, device.*, training, status and truth.* go to the
  /// live streams; others are ignored. Any thread, never blocks.
  void on_bus(const std::string& topic, const std::string& payload);
  /// A scored window (EventsStage score tap): kept as the device's latest scores. Events thread.
  void on_scores(std::uint32_t device, const events::ModelTag& model, const float* scores,
                 const events::ScoredWindow& w);

  /// Bind web.listen and start serving. `rings[i]` is device i's frame ring; it and `svc` must
  /// outlive stop(). Throws std::runtime_error naming web.listen when it cannot bind.
  void serve(service::Service& svc, std::vector<const signal::FrameRing*> rings);
  /// Close every stream, answer waiting calls with "unavailable", stop the server and the pump.
  /// Idempotent; any thread but the console's own.
  void stop();

  [[nodiscard]] int port() const { return port_; }
  /// status.web (docs/web.md).
  [[nodiscard]] nlohmann::json status_json() const;

 private:
  void routes();
  /// Applies web_auth's rules; on refusal fills `res` (401/403) and returns false.
  bool authorize(const httplib::Request& req, httplib::Response& res, bool state_changing);
  void call(const std::string& method, const httplib::Request& req, httplib::Response& res);
  void stream(const httplib::Request& req, httplib::Response& res);
  void pump();
  /// The frames JSON of device i from ring index `from` (at most `max` frames); advances `from`.
  [[nodiscard]] std::string frames_json(std::size_t i, std::uint64_t& from, std::size_t max,
                                        bool history) const;
  [[nodiscard]] std::string hello_json(bool authenticated) const;

  const WebConfig cfg_;
  const ConsoleInfo info_;
  const TimeSource& clock_;
  std::string token_;
  LiveHub hub_;
  std::unique_ptr<httplib::Server> server_;
  service::Service* svc_ = nullptr;
  std::vector<const signal::FrameRing*> rings_;
  std::thread http_thread_;
  std::thread pump_thread_;
  int port_ = 0;

  // Latest scores per device (events thread writes, pump reads).
  struct LiveScores {
    std::string json;
    bool fresh = false;
  };
  mutable std::mutex scores_mu_;
  std::vector<LiveScores> scores_;
  std::atomic<bool> has_clients_{false};

  // Waiting service calls and the pump's sleep.
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;

  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> refused_auth_{0};
  std::mutex log_mu_;
  LogThrottle refused_log_{10'000'000'000};
};

}  // namespace primus::web
