#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "src/capture/capture_writer.h"
#include "tests/unit/capture/capture_test_util.h"

namespace primus::capture {
namespace {

using test::make_record;
using test::TempDir;

/// Collects outcomes from the writer thread.
struct Acks {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<AppendOutcome> got;
  AckFn fn() {
    return [this](const AppendOutcome& o) {
      std::lock_guard lock(mu);
      got.push_back(o);
      cv.notify_all();
    };
  }
  void wait_for(std::size_t n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return got.size() >= n; });
  }
};

std::unique_ptr<CaptureStore> open_store(const TempDir& dir) {
  return std::make_unique<CaptureStore>(dir / "c.db");
}

TEST(CaptureWriter, AcknowledgesEachCaptureOnceInOrderAfterCommit) {
  TempDir dir;
  Acks acks;
  {
    CaptureWriter w(open_store(dir));
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(w.submit(make_record(50, "wave", "d", i), acks.fn()), SubmitResult::kQueued);
    }
    acks.wait_for(5);
    // The ack came after the commit: another connection already sees the capture.
    CaptureStore reader(dir / "c.db");
    for (const auto& a : acks.got) {
      ASSERT_TRUE(a.ok()) << a.error;
      EXPECT_TRUE(reader.get(a.id).has_value());
    }
    const auto c = w.counters();
    EXPECT_EQ(c.queued, 5u);
    EXPECT_EQ(c.written, 5u);
  }
  ASSERT_EQ(acks.got.size(), 5u);
  for (std::size_t i = 1; i < acks.got.size(); ++i) EXPECT_GT(acks.got[i].id, acks.got[i - 1].id);
}

TEST(CaptureWriter, RefusesInvalidRecordsAtSubmit) {
  TempDir dir;
  CaptureWriter w(open_store(dir));
  CaptureRecord r = make_record(10);
  r.label.clear();
  std::string why;
  bool called = false;
  EXPECT_EQ(w.submit(
                r, [&](const AppendOutcome&) { called = true; }, &why),
            SubmitResult::kInvalid);
  EXPECT_NE(why.find("label"), std::string::npos);
  w.stop();
  EXPECT_FALSE(called);
  EXPECT_EQ(w.counters().refused_invalid, 1u);
}

TEST(CaptureWriter, RefusesWhenTheQueueIsFullAndKeepsWhatItAccepted) {
  TempDir dir;
  Acks acks;
  WriterOptions opt;
  opt.max_jobs = 3;
  CaptureWriter w(open_store(dir), opt);
  // Hold the writer thread inside a task so the queue fills deterministically.
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  ASSERT_EQ(w.post([&](CaptureStore&) {
    entered.set_value();
    released.wait();
  }),
            SubmitResult::kQueued);
  entered.get_future().wait();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(w.submit(make_record(10, "wave", "d", i), acks.fn()), SubmitResult::kQueued);
  }
  EXPECT_EQ(w.submit(make_record(10), acks.fn()), SubmitResult::kFull);
  EXPECT_EQ(w.post([](CaptureStore&) {}), SubmitResult::kFull);
  auto c = w.counters();
  EXPECT_EQ(c.refused_full, 2u);
  EXPECT_EQ(c.depth, 3u);
  EXPECT_EQ(c.high_water, 3u);
  release.set_value();
  acks.wait_for(3);
  for (const auto& a : acks.got) EXPECT_TRUE(a.ok()) << a.error;
  w.stop();
  EXPECT_EQ(w.counters().written, 3u);
  EXPECT_EQ(w.counters().depth, 0u);
}

TEST(CaptureWriter, StopDrainsTheQueueThenRefuses) {
  TempDir dir;
  Acks acks;
  CaptureWriter w(open_store(dir));
  std::promise<void> release;
  auto released = release.get_future().share();
  w.post([released](CaptureStore&) { released.wait(); });
  for (int i = 0; i < 4; ++i) w.submit(make_record(10, "wave", "d", i), acks.fn());
  std::thread stopper([&] { w.stop(); });
  release.set_value();
  stopper.join();
  EXPECT_EQ(acks.got.size(), 4u);  // every accepted capture was written before stop returned
  EXPECT_EQ(w.submit(make_record(10), acks.fn()), SubmitResult::kStopped);
  EXPECT_EQ(w.post([](CaptureStore&) {}), SubmitResult::kStopped);
  CaptureStore reader(dir / "c.db");
  EXPECT_EQ(reader.stats().captures, 4);
}

TEST(CaptureWriter, ReportsStoreErrorsThroughTheAck) {
  TempDir dir;
  RetentionLimits lim;
  lim.max_bytes = 1000;
  StoreOptions so;
  so.retention = lim;
  Acks acks;
  CaptureWriter w(std::make_unique<CaptureStore>(dir / "c.db", so));
  ASSERT_EQ(w.submit(make_record(100), acks.fn()), SubmitResult::kQueued);  // 2400 bytes > 1000
  acks.wait_for(1);
  EXPECT_FALSE(acks.got[0].ok());
  EXPECT_NE(acks.got[0].error.find("max_bytes"), std::string::npos) << acks.got[0].error;
  w.stop();
  EXPECT_EQ(w.counters().failed, 1u);
}

TEST(CaptureWriter, TasksRunOnTheWriterThreadAndErrorsAreCounted) {
  TempDir dir;
  CaptureWriter w(open_store(dir));
  std::promise<std::thread::id> where;
  std::promise<std::int64_t> count;
  w.submit(make_record(10), {});
  w.post([&](CaptureStore& s) {
    where.set_value(std::this_thread::get_id());
    count.set_value(s.stats().captures);
  });
  w.post([](CaptureStore&) { throw std::runtime_error("boom"); });
  w.submit(make_record(10), [](const AppendOutcome&) { throw std::runtime_error("cb"); });
  EXPECT_NE(where.get_future().get(), std::this_thread::get_id());
  EXPECT_EQ(count.get_future().get(), 1);  // queue order: the capture before the task
  w.stop();
  const auto c = w.counters();
  EXPECT_EQ(c.task_errors, 1u);
  EXPECT_EQ(c.callback_errors, 1u);
  EXPECT_EQ(c.written, 2u);
}

TEST(CaptureWriter, RejectsBadConstruction) {
  EXPECT_THROW(CaptureWriter(nullptr), std::invalid_argument);
  TempDir dir;
  WriterOptions opt;
  opt.max_jobs = 0;
  EXPECT_THROW(CaptureWriter(open_store(dir), opt), std::invalid_argument);
}

}  // namespace
}  // namespace primus::capture
