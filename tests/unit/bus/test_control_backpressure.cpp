// Back-pressure of the control server (src/bus/control_server.h) over real ZeroMQ sockets: a
// client that pipelines far more requests than ZeroMQ queues gets exactly one reply per request
// (ok or busy), in order; replies that cannot be delivered (the client left, the backlog is full)
// are counted in replies_dropped, never lost silently. Every wait is bounded.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "src/bus/control_client.h"
#include "src/bus/control_server.h"

namespace primus::bus {
namespace {
using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kRequests = 20000;
/// Longest wait for one reply (or one send) before the test gives up: never hang.
constexpr auto kStall = 5000ms;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path() /
           ("primus_ctl_bp_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  [[nodiscard]] std::string ipc() const { return "ipc://" + (path / "control.sock").string(); }
};

void ping(const json&, Responder r) { r.ok("pong"); }

/// A DEALER with ZeroMQ's default queues (as primusctl or pyzmq has) and a send timeout.
struct Dealer {
  zmq::socket_t s;
  Dealer(zmq::context_t& ctx, const std::string& ep) : s(ctx, zmq::socket_type::dealer) {
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::sndtimeo, static_cast<int>(kStall.count()));
    s.connect(ep);
  }
  /// ["", {"id": id, "method": "ping"}]; false if it could not be queued within kStall.
  bool send_ping(int id) {
    const std::string body = R"({"id":)" + std::to_string(id) + R"(,"method":"ping"})";
    return s.send(zmq::const_buffer(nullptr, 0), zmq::send_flags::sndmore).has_value() &&
           s.send(zmq::buffer(body), zmq::send_flags::none).has_value();
  }
  /// The next reply body, parsed; nullopt after `timeout` without one.
  std::optional<json> recv(std::chrono::milliseconds timeout = kStall) {
    zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, timeout);
    if (!(items[0].revents & ZMQ_POLLIN)) return std::nullopt;
    std::vector<zmq::message_t> parts;
    (void)zmq::recv_multipart(s, std::back_inserter(parts));
    return json::parse(parts.back().to_string());
  }
};

/// Polls server.stats() until pred holds or `timeout` passes; returns the last stats.
template <class Pred>
ControlServerStats wait_stats(const ControlServer& server, Pred pred,
                              std::chrono::milliseconds timeout = 10000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ControlServerStats st = server.stats();
  while (!pred(st) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    st = server.stats();
  }
  return st;
}

/// Every request answered by the server: handed to ZeroMQ, waiting in the backlog or dropped.
bool all_answered(const ControlServerStats& s) {
  return s.requests == static_cast<std::uint64_t>(kRequests) && s.in_flight == 0 &&
         s.replies_ok + s.replies_error + s.replies_dropped + s.backlog ==
             static_cast<std::uint64_t>(kRequests);
}

/// What a client read back.
struct Replies {
  int total = 0;
  int ok = 0;
  int busy = 0;
  int other = 0;
  int duplicates = 0;
  int out_of_order = 0;
};

/// Reads until `expected` replies (to requests with ids 0..kRequests-1) have come or one is
/// kStall late.
Replies read_replies(Dealer& c, int expected) {
  Replies r;
  std::vector<int> seen(static_cast<std::size_t>(kRequests), 0);
  int last_id = -1;
  while (r.total < expected) {
    const auto reply = c.recv();
    if (!reply) break;
    ++r.total;
    const int id = reply->at("id").get<int>();
    if (id < 0 || id >= kRequests || seen[static_cast<std::size_t>(id)]++ > 0) ++r.duplicates;
    if (id <= last_id) ++r.out_of_order;
    last_id = id;
    if (reply->at("ok") == true && reply->at("result") == "pong") {
      ++r.ok;
    } else if (reply->at("ok") == false && reply->at("error").at("code") == "busy") {
      ++r.busy;
    } else {
      ++r.other;
    }
  }
  return r;
}

TEST(ControlBackpressure, PipelinedRequestsEachGetExactlyOneReplyInOrder) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc()});
  server.on("ping", ping);
  server.start();
  const ControlServerOptions defaults;

  zmq::context_t client_ctx(1);
  Dealer c(client_ctx, dir.ipc());
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(c.send_ping(i)) << "request " << i << " not taken within " << kStall.count()
                                << " ms: the server stopped reading";
  }
  // Before reading: the server has answered everything it could and keeps the rest.
  auto st = wait_stats(server, all_answered);
  EXPECT_TRUE(all_answered(st));
  EXPECT_GT(st.backlog, 0u) << "the pipes took every reply: the test does not test the backlog";

  const Replies r = read_replies(c, kRequests);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.total, kRequests) << "replies lost (ok " << r.ok << ", busy " << r.busy << ")";
  EXPECT_EQ(r.ok + r.busy, r.total);
  EXPECT_EQ(r.other, 0);
  EXPECT_EQ(r.duplicates, 0);
  EXPECT_EQ(r.out_of_order, 0);  // one FIFO per client
  EXPECT_FALSE(c.recv(100ms).has_value()) << "more replies than requests";
  // Replies beyond ZeroMQ's queue and up to max_backlog were kept, not refused.
  EXPECT_GE(r.ok, defaults.max_backlog);
  EXPECT_LT(seconds, 30.0);
  RecordProperty("replies_ok", r.ok);
  RecordProperty("replies_busy", r.busy);

  st = wait_stats(server, [](const ControlServerStats& s) { return s.backlog == 0; });
  EXPECT_EQ(st.requests, static_cast<std::uint64_t>(kRequests));
  EXPECT_EQ(st.replies_ok, static_cast<std::uint64_t>(r.ok));
  EXPECT_EQ(st.replies_error, static_cast<std::uint64_t>(r.busy));
  EXPECT_EQ(st.busy, static_cast<std::uint64_t>(r.busy));
  EXPECT_EQ(st.replies_dropped, 0u);
  EXPECT_EQ(st.send_failed, 0u);
  EXPECT_EQ(st.bad_frames, 0u);
  EXPECT_EQ(st.backlog, 0u);
  EXPECT_EQ(st.backlog_bytes, 0u);
  EXPECT_GT(st.deferred, 0u);
  EXPECT_GE(st.backlog_high_water, static_cast<std::uint64_t>(defaults.max_backlog));
  EXPECT_EQ(st.in_flight, 0);

  // The server is fine afterwards, for this client and for a new one.
  ASSERT_TRUE(c.send_ping(7));
  const auto again = c.recv();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*again)["result"], "pong");
  EXPECT_EQ(control_call(client_ctx, dir.ipc(), "ping", json::object(), 5.0)["result"], "pong");
}

TEST(ControlBackpressure, RepliesToAClientThatLeftAreCountedAsDropped) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc()});
  server.on("ping", ping);
  server.start();

  zmq::context_t client_ctx(1);
  {
    Dealer gone(client_ctx, dir.ipc());
    for (int i = 0; i < kRequests; ++i) ASSERT_TRUE(gone.send_ping(i)) << "request " << i;
    const auto st = wait_stats(server, all_answered);
    ASSERT_TRUE(all_answered(st));
    ASSERT_GT(st.backlog, 0u);
  }  // closed (linger 0) with replies pending, none read

  const auto st = wait_stats(
      server, [](const ControlServerStats& s) { return s.backlog == 0 && s.replies_dropped > 0; });
  EXPECT_EQ(st.backlog, 0u);
  EXPECT_GT(st.replies_dropped, 0u);
  EXPECT_GE(st.send_failed, 1u);  // the EHOSTUNREACH that showed the client had left
  // Every request is accounted for: handed to ZeroMQ or counted as dropped.
  EXPECT_EQ(st.replies_ok + st.replies_error + st.replies_dropped,
            static_cast<std::uint64_t>(kRequests));
  RecordProperty("replies_dropped", static_cast<int>(st.replies_dropped));

  // Other clients are served as before.
  EXPECT_EQ(control_call(client_ctx, dir.ipc(), "ping", json::object(), 5.0)["result"], "pong");
}

TEST(ControlBackpressure, BacklogOverItsByteLimitDropsAndCounts) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServerOptions opt;
  opt.max_backlog = 1 << 30;         // never busy: only the byte limit applies
  opt.max_backlog_bytes = 64 << 10;  // about a thousand small replies
  ControlServer server(ctx, {dir.ipc()}, opt);
  server.on("ping", ping);
  server.start();

  zmq::context_t client_ctx(1);
  Dealer c(client_ctx, dir.ipc());
  for (int i = 0; i < kRequests; ++i) ASSERT_TRUE(c.send_ping(i)) << "request " << i;
  auto st = wait_stats(server, all_answered);
  ASSERT_TRUE(all_answered(st));
  EXPECT_LE(st.backlog_bytes, opt.max_backlog_bytes);

  EXPECT_GT(st.replies_dropped, 0u);
  const Replies r = read_replies(c, kRequests - static_cast<int>(st.replies_dropped));
  EXPECT_FALSE(c.recv(100ms).has_value()) << "more replies than were not dropped";
  EXPECT_LT(r.total, kRequests);
  EXPECT_EQ(r.ok, r.total);
  EXPECT_EQ(r.duplicates, 0);
  EXPECT_EQ(r.out_of_order, 0);
  st = wait_stats(server, [](const ControlServerStats& s) { return s.backlog == 0; });
  EXPECT_EQ(st.busy, 0u);
  EXPECT_GT(st.replies_dropped, 0u);
  EXPECT_EQ(st.replies_dropped + static_cast<std::uint64_t>(r.total),
            static_cast<std::uint64_t>(kRequests));
  EXPECT_EQ(st.replies_ok, static_cast<std::uint64_t>(r.total));
}

}  // namespace
}  // namespace primus::bus
