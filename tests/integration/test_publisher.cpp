#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <zmq.hpp>

#include "src/bus/publisher.h"

namespace primus::bus {
namespace {
using namespace std::chrono_literals;

std::string ipc_endpoint(const char* name) {
  return "ipc://" + (std::filesystem::temp_directory_path() /
                     (std::string(name) + "-" + std::to_string(getpid()) + ".sock"))
                        .string();
}

TEST(Publisher, DeliversMultipartOverIpcAndTcp) {
  zmq::context_t ctx(1);
  const std::string ipc = ipc_endpoint("primus-pub-test");
  Publisher pub(ctx, {ipc, "tcp://127.0.0.1:*"}, 1000, 1000);
  ASSERT_EQ(pub.endpoints().size(), 2u);
  const std::string tcp = pub.endpoints()[1];
  EXPECT_EQ(tcp.rfind("tcp://127.0.0.1:", 0), 0u);

  for (const auto& ep : {ipc, tcp}) {
    SCOPED_TRACE(ep);
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "gesture.");
    sub.set(zmq::sockopt::rcvtimeo, 100);
    sub.connect(ep);
    // PUB/SUB joins asynchronously: publish until the subscription is in place.
    bool got = false;
    for (int i = 0; i < 100 && !got; ++i) {
      pub.publish("status", "{}");  // filtered out by the subscription
      pub.publish("gesture.w1", R"({"n":1})");
      zmq::message_t topic, body;
      if (sub.recv(topic)) {
        ASSERT_TRUE(sub.get(zmq::sockopt::rcvmore));
        ASSERT_TRUE(sub.recv(body));
        EXPECT_EQ(topic.to_string(), "gesture.w1");
        EXPECT_EQ(body.to_string(), R"({"n":1})");
        got = true;
      }
    }
    EXPECT_TRUE(got);
  }
}

TEST(Publisher, SubscriberThatNeverReadsDoesNotBlockPublishing) {
  zmq::context_t ctx(1);
  const std::string ep = ipc_endpoint("primus-pub-slow");
  Publisher pub(ctx, {ep}, 100, 100000);
  zmq::socket_t stuck(ctx, zmq::socket_type::sub);
  stuck.set(zmq::sockopt::subscribe, "");
  stuck.set(zmq::sockopt::rcvhwm, 100);
  stuck.connect(ep);
  std::this_thread::sleep_for(200ms);
  const std::string payload(1000, 'x');
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50000; ++i) pub.publish("score.d", payload);
  // Everything is handed to ZeroMQ (which drops for the stuck subscriber); nothing waits on it.
  for (int i = 0; i < 500 && pub.stats().queue_depth > 0; ++i) std::this_thread::sleep_for(10ms);
  const auto s = pub.stats();
  EXPECT_EQ(s.queue_depth, 0u);
  EXPECT_EQ(s.published + s.send_failed + s.dropped_queue, 50000u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  pub.stop(0);
}

TEST(Publisher, EveryMessageIsEitherSentOrCountedAsDropped) {
  zmq::context_t ctx(1);
  Publisher pub(ctx, {ipc_endpoint("primus-pub-q")}, 10, 4);  // tiny queue: bursts overflow it
  for (int i = 0; i < 20000; ++i) pub.publish("a", "1");
  pub.stop(0);
  const auto s = pub.stats();
  EXPECT_EQ(s.published + s.send_failed + s.dropped_queue, 20000u);
  pub.publish("a", "after stop");  // ignored
  EXPECT_EQ(pub.stats().queue_depth, 0u);
}

TEST(Publisher, BindFailureNamesTheEndpoint) {
  zmq::context_t ctx(1);
  try {
    Publisher pub(ctx, {"ipc:///nonexistent-dir/x/events.sock"}, 10, 10);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ipc:///nonexistent-dir/x/events.sock"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace primus::bus
