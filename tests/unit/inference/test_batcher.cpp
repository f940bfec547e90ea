#include <gtest/gtest.h>

#include <thread>

#include "src/inference/batcher.h"

namespace primus::inference {
namespace {

Window make(std::uint32_t dev, std::uint64_t seq) {
  Window w;
  w.device = dev;
  w.seq = seq;
  return w;
}

TEST(Batcher, FullBatchIsDueAtOnce) {
  ManualTimeSource clock(0);
  Batcher b(64, 4, 1'000'000, clock);
  for (int i = 0; i < 4; ++i) b.push(make(0, i));
  std::vector<Window> out;
  ASSERT_TRUE(b.pop_batch(out));  // would block for 1 s of the manual clock if not due
  ASSERT_EQ(out.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i].seq, static_cast<std::uint64_t>(i));
}

TEST(Batcher, PartialBatchWaitsForTheOldestWindowsDeadline) {
  ManualTimeSource clock(0);
  Batcher b(64, 8, 5000, clock);  // 5 ms
  b.push(make(0, 0));
  clock.advance_ns(2'000'000);
  b.push(make(1, 0));
  std::vector<Window> out;
  std::thread consumer([&] { b.pop_batch(out); });
  // Not due yet (2 ms of 5 ms): the consumer keeps waiting on the computed deadline.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(out.empty());
  clock.advance_ns(3'000'000);  // now the oldest has waited 5 ms
  consumer.join();
  EXPECT_EQ(out.size(), 2u);
}

TEST(Batcher, RoundRobinServesEveryDevice) {
  ManualTimeSource clock(0);
  Batcher b(256, 6, 0, clock);
  for (int i = 0; i < 50; ++i) b.push(make(0, i));  // chatty device
  b.push(make(1, 0));
  b.push(make(2, 0));
  std::vector<Window> out;
  ASSERT_TRUE(b.pop_batch(out));
  ASSERT_EQ(out.size(), 6u);
  int dev1 = 0, dev2 = 0;
  for (const auto& w : out) {
    dev1 += w.device == 1;
    dev2 += w.device == 2;
  }
  EXPECT_EQ(dev1, 1);
  EXPECT_EQ(dev2, 1);
}

TEST(Batcher, OverloadDropsTheBusiestDevicesOldest) {
  ManualTimeSource clock(0);
  Batcher b(4, 4, 0, clock);
  b.push(make(0, 0));
  b.push(make(0, 1));
  b.push(make(0, 2));
  b.push(make(1, 0));
  b.push(make(1, 1));  // full: drops device 0's seq 0
  EXPECT_EQ(b.stats().dropped_overload, 1u);
  std::vector<Window> out;
  ASSERT_TRUE(b.pop_batch(out));
  std::vector<std::uint64_t> dev0;
  for (const auto& w : out)
    if (w.device == 0) dev0.push_back(w.seq);
  EXPECT_EQ(dev0, (std::vector<std::uint64_t>{1, 2}));
}

TEST(Batcher, CloseDrainsThenEnds) {
  ManualTimeSource clock(0);
  Batcher b(16, 8, 1'000'000'000, clock);
  b.push(make(0, 0));
  b.close();
  EXPECT_FALSE(b.push(make(0, 1)));
  std::vector<Window> out;
  ASSERT_TRUE(b.pop_batch(out));  // closed: queued windows come out without waiting
  EXPECT_EQ(out.size(), 1u);
  EXPECT_FALSE(b.pop_batch(out));
}

}  // namespace
}  // namespace primus::inference
