#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <thread>
#include <utility>
#include <vector>

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

namespace primus::inference {
namespace {

// The batching rule written the plain way (a scan of every device per push and per batch): the
// Batcher's heap and arrival list must give exactly the same drops, expiries and batches.
class ReferenceBatcher {
 public:
  ReferenceBatcher(std::size_t capacity, int max_batch, std::int64_t max_queue_delay_ns)
      : capacity_(capacity), max_batch_(max_batch), max_queue_delay_ns_(max_queue_delay_ns) {}
  void push(std::uint32_t dev, std::uint64_t seq, std::int64_t now) {
    if (size_ >= capacity_) {
      auto busiest = q_.end();
      for (auto it = q_.begin(); it != q_.end(); ++it)
        if (busiest == q_.end() || it->second.size() > busiest->second.size()) busiest = it;
      busiest->second.pop_front();
      --size_;
      ++dropped;
    }
    q_[dev].push_back({seq, now});
    ++size_;
  }
  std::vector<std::pair<std::uint32_t, std::uint64_t>> take(std::int64_t now) {
    if (max_queue_delay_ns_ > 0) {
      for (auto& [dev, q] : q_) {
        while (!q.empty() && q.front().second < now - max_queue_delay_ns_) {
          q.pop_front();
          --size_;
          ++expired;
        }
      }
    }
    std::vector<std::uint32_t> ids;
    for (auto& [dev, q] : q_)
      if (!q.empty()) ids.push_back(dev);
    std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
    std::size_t start = 0;
    while (start < ids.size() && ids[start] < rr_next_) ++start;
    if (start == ids.size()) start = 0;
    bool took = true;
    while (static_cast<int>(out.size()) < max_batch_ && took) {
      took = false;
      for (std::size_t k = 0; k < ids.size() && static_cast<int>(out.size()) < max_batch_; ++k) {
        auto& q = q_[ids[(start + k) % ids.size()]];
        if (q.empty()) continue;
        out.emplace_back(ids[(start + k) % ids.size()], q.front().first);
        q.pop_front();
        --size_;
        took = true;
      }
    }
    if (!ids.empty()) rr_next_ = ids[start] + 1;
    return out;
  }
  std::size_t size() const { return size_; }
  bool all_expired(std::int64_t now) const {
    if (max_queue_delay_ns_ <= 0) return false;
    for (const auto& [dev, q] : q_)
      for (const auto& item : q)
        if (item.second >= now - max_queue_delay_ns_) return false;
    return true;
  }
  std::uint64_t dropped = 0, expired = 0;

 private:
  std::size_t capacity_;
  int max_batch_;
  std::int64_t max_queue_delay_ns_;
  std::map<std::uint32_t, std::deque<std::pair<std::uint64_t, std::int64_t>>> q_;
  std::size_t size_ = 0;
  std::uint32_t rr_next_ = 0;
};

TEST(Batcher, SameDropsExpiriesAndBatchesAsThePlainRule) {
  for (const std::int64_t expiry_us : {0, 1500}) {
    ManualTimeSource clock(0);
    const std::size_t capacity = 40;
    const int max_batch = 7;
    Batcher b(capacity, max_batch, 0, clock, expiry_us);
    ReferenceBatcher ref(capacity, max_batch, expiry_us * 1000);
    std::mt19937 rng(static_cast<unsigned>(expiry_us + 1));
    std::map<std::uint32_t, std::uint64_t> seq;
    std::vector<Window> out;
    for (int step = 0; step < 20000; ++step) {
      clock.advance_ns(100'000);
      // Uneven devices (ids far apart, some chatty), bursts of pushes between batches.
      const int pushes = static_cast<int>(rng() % 12);
      for (int i = 0; i < pushes; ++i) {
        const std::uint32_t dev =
            (rng() % 4 == 0) ? 7 : static_cast<std::uint32_t>(rng() % 9) * 1000;
        b.push(make(dev, seq[dev]));
        ref.push(dev, seq[dev], clock.now_ns());
        ++seq[dev];
      }
      if (rng() % 4 == 0) {  // fewer windows taken than pushed: the queue fills, drops
        // (When every queued window has expired the Batcher waits for more: not a batch.)
        if (ref.size() == 0 || ref.all_expired(clock.now_ns())) continue;
        const auto want = ref.take(clock.now_ns());
        ASSERT_TRUE(b.pop_batch(out));
        ASSERT_EQ(out.size(), want.size()) << "step " << step;
        for (std::size_t k = 0; k < want.size(); ++k) {
          ASSERT_EQ(out[k].device, want[k].first) << "step " << step << " item " << k;
          ASSERT_EQ(out[k].seq, want[k].second) << "step " << step << " item " << k;
        }
      }
      ASSERT_EQ(b.stats().depth, ref.size()) << "step " << step;
    }
    EXPECT_EQ(b.stats().dropped_overload, ref.dropped);
    EXPECT_EQ(b.stats().expired, ref.expired);
    EXPECT_GT(ref.dropped, 100u);
    if (expiry_us > 0) {
      EXPECT_GT(ref.expired, 100u);
    }
  }
}

}  // namespace
}  // namespace primus::inference
