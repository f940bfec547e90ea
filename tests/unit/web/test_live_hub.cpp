// The web console's live streams (src/web/live_hub.h): each browser has a bounded queue; a full
// queue drops its oldest messages; a queue that overflows for longer than slow_after closes its
// client; broadcast never waits for a reader; max_clients bounds the streams.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "src/web/live_hub.h"

namespace primus::web {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> drain(LiveHub::Client& c) {
  std::vector<Message> got;
  (void)c.next(got, 0ms);
  std::vector<std::string> out;
  for (const auto& m : got) out.push_back(*m);
  return out;
}

TEST(LiveHub, SseMessagesAreEncodedOnce) {
  EXPECT_EQ(*sse_message("gesture", R"({"a":1})"), "event: gesture\ndata: {\"a\":1}\n\n");
}

TEST(LiveHub, EveryClientGetsEveryMessageInOrder) {
  LiveHub hub(4, 16);
  auto a = hub.connect(), b = hub.connect();
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 5; ++i) hub.broadcast(sse_message("x", std::to_string(i)));
  const auto ga = drain(*a), gb = drain(*b);
  ASSERT_EQ(ga.size(), 5u);
  EXPECT_EQ(ga, gb);
  EXPECT_EQ(ga.front(), "event: x\ndata: 0\n\n");
  EXPECT_EQ(ga.back(), "event: x\ndata: 4\n\n");
  const auto st = hub.stats();
  EXPECT_EQ(st.clients, 2u);
  EXPECT_EQ(st.broadcasts, 5u);
  EXPECT_EQ(st.sent, 10u);
  EXPECT_EQ(st.dropped, 0u);
}

TEST(LiveHub, AFullQueueDropsItsOldestAndOnlyItsOwn) {
  ManualTimeSource clock;
  LiveHub hub(4, 3, 5s, clock);
  auto slow = hub.connect(), fast = hub.connect();
  for (int i = 0; i < 5; ++i) {
    hub.broadcast(sse_message("x", std::to_string(i)));
    EXPECT_EQ(drain(*fast).size(), 1u);  // a reader that keeps up loses nothing
  }
  const auto got = drain(*slow);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got.front(), "event: x\ndata: 2\n\n");  // 0 and 1 dropped
  EXPECT_EQ(slow->dropped(), 2u);
  EXPECT_EQ(fast->dropped(), 0u);
  EXPECT_EQ(hub.stats().dropped, 2u);
  EXPECT_EQ(hub.stats().slow_disconnects, 0u);
}

TEST(LiveHub, AClientThatOverflowsLongerThanSlowAfterIsClosed) {
  ManualTimeSource clock;
  LiveHub hub(4, 2, 5s, clock);
  auto c = hub.connect();
  for (int i = 0; i < 3; ++i) hub.broadcast(sse_message("x", "m"));  // overflow starts now
  clock.advance_ns(4'000'000'000);
  hub.broadcast(sse_message("x", "m"));
  std::vector<Message> got;
  EXPECT_TRUE(c->next(got, 0ms)) << "4 s of overflow is within slow_after";
  // Reading resets the overflow; a new one must last slow_after again.
  for (int i = 0; i < 3; ++i) hub.broadcast(sse_message("x", "m"));
  clock.advance_ns(5'000'000'001);
  hub.broadcast(sse_message("x", "m"));
  EXPECT_FALSE(c->next(got, 0ms));
  EXPECT_EQ(hub.stats().slow_disconnects, 1u);
}

TEST(LiveHub, MaxClientsAndTheirDeparture) {
  LiveHub hub(2, 8);
  auto a = hub.connect(), b = hub.connect();
  EXPECT_EQ(hub.connect(), nullptr);
  EXPECT_EQ(hub.stats().refused, 1u);
  a.reset();  // the browser went away
  EXPECT_NE(hub.connect(), nullptr);
}

TEST(LiveHub, StopWakesAWaitingReaderAndRefusesNewOnes) {
  LiveHub hub(2, 8);
  auto c = hub.connect();
  std::atomic<bool> returned{false};
  std::thread reader([&] {
    std::vector<Message> got;
    while (c->next(got, 10s)) {
    }
    returned = true;
  });
  std::this_thread::sleep_for(20ms);
  hub.stop();
  reader.join();
  EXPECT_TRUE(returned);
  EXPECT_EQ(hub.connect(), nullptr);
}

TEST(LiveHub, BroadcastNeverWaitsForAReaderThatDoesNotRead) {
  // 100k broadcasts into a client nobody drains: bounded memory (the queue), no blocking.
  LiveHub hub(2, 64, 3600s);
  auto idle = hub.connect();
  for (int i = 0; i < 100000; ++i) hub.broadcast(sse_message("x", "y"));
  EXPECT_EQ(idle->dropped(), 100000u - 64u);
  EXPECT_EQ(drain(*idle).size(), 64u);
}

}  // namespace
}  // namespace primus::web
