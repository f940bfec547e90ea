// A full disk is an environment condition of the capture store and writer, not a bug: SQLite is
// run out of space for real (PRAGMA max_page_count, and a small tmpfs when the test may mount
// one); the failure is typed (StorageFullError, AppendError::kStorageFull) and counted, nothing
// half-written is stored, and the same connection works again once space returns.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "src/capture/capture_store.h"
#include "src/capture/capture_writer.h"
#include "src/core/log_throttle.h"
#include "tests/unit/capture/capture_test_util.h"

namespace primus::capture {
namespace {

using test::make_record;
using test::TempDir;

constexpr int kMaxTries = 200;  ///< appends tried before a test gives up waiting for "full"

/// Appends records of n samples until one throws; returns the ids that were written and the
/// error (a default-constructed string if none failed within kMaxTries).
struct FillResult {
  std::vector<std::int64_t> ids;
  std::string error;
  bool storage_full = false;
};

FillResult fill(CaptureStore& store, std::int64_t n_samples) {
  FillResult out;
  for (int i = 0; i < kMaxTries; ++i) {
    try {
      out.ids.push_back(store.append(make_record(n_samples, "wave", "wrist1", i + 1)));
    } catch (const StorageFullError& e) {
      out.error = e.what();
      out.storage_full = true;
      return out;
    } catch (const CaptureError& e) {
      out.error = e.what();
      return out;
    }
  }
  return out;
}

void expect_intact(const CaptureStore& store, std::size_t captures) {
  const IntegrityReport rep = store.integrity_check();
  EXPECT_TRUE(rep.ok) << (rep.problems.empty() ? "" : rep.problems.front());
  EXPECT_EQ(store.list().size(), captures);
  EXPECT_EQ(store.stats().captures, static_cast<std::int64_t>(captures));
}

TEST(StorageFull, MaxPageCountMakesAppendThrowTypedAndTheStoreRecovers) {
  TempDir dir;
  StoreOptions opt;
  opt.max_page_count = 64;  // 256 KiB of 4 KiB pages: a handful of 24 KB captures
  CaptureStore store(dir / "c.db", opt);

  const FillResult f = fill(store, 1000);
  ASSERT_TRUE(f.storage_full) << "no StorageFullError after " << f.ids.size()
                              << " appends; last error: '" << f.error << "'";
  ASSERT_FALSE(f.ids.empty()) << "the limit is too small for even one capture";
  EXPECT_NE(f.error.find((dir / "c.db").string()), std::string::npos) << f.error;  // names the file
  EXPECT_NE(f.error.find("full"), std::string::npos) << f.error;
  EXPECT_EQ(store.counters().storage_full, 1u);
  EXPECT_EQ(store.counters().appended, f.ids.size());
  // Nothing of the failed transaction is visible, and the file is consistent.
  expect_intact(store, f.ids.size());

  // Still full: the same typed error again, the connection is not wedged in a transaction.
  EXPECT_THROW(store.append(make_record(1000, "wave", "wrist1", 999)), StorageFullError);
  EXPECT_EQ(store.counters().storage_full, 2u);
  // A small capture may still fit, or not; either way it is all or nothing.

  // Space returns: the next append works on the same connection.
  EXPECT_GE(store.set_max_page_count(100000), 100000);
  const std::int64_t id = store.append(make_record(1000, "wave", "wrist1", 1000));
  EXPECT_GT(id, f.ids.back());
  expect_intact(store, f.ids.size() + 1);
  ASSERT_TRUE(store.get(id).has_value());
  EXPECT_EQ(store.get(id)->data, make_record(1000, "wave", "wrist1", 1000).data);

  // A second connection (what the trainer opens) sees the same consistent store.
  StoreOptions ro;
  ro.read_only = true;
  const CaptureStore reader(dir / "c.db", ro);
  expect_intact(reader, f.ids.size() + 1);
}

TEST(StorageFull, OtherFailuresAreNotStorageFull) {
  TempDir dir;
  StoreOptions opt;
  opt.retention.max_bytes = 1000;
  CaptureStore store(dir / "c.db", opt);
  try {
    store.append(make_record(1000));  // 24000 bytes > max_bytes
    ADD_FAILURE() << "accepted";
  } catch (const StorageFullError& e) {
    ADD_FAILURE() << "a refused capture reported as storage full: " << e.what();
  } catch (const CaptureError&) {
  }
  EXPECT_EQ(store.counters().storage_full, 0u);
}

/// Collects the writer's outcomes.
std::future<AppendOutcome> submit(CaptureWriter& w, CaptureRecord r) {
  auto p = std::make_shared<std::promise<AppendOutcome>>();
  auto fut = p->get_future();
  const SubmitResult s = w.submit(std::move(r), [p](const AppendOutcome& o) { p->set_value(o); });
  EXPECT_EQ(s, SubmitResult::kQueued);
  return fut;
}

TEST(StorageFull, WriterReportsTypedOutcomeCountsAndRecovers) {
  TempDir dir;
  StoreOptions opt;
  opt.max_page_count = 64;
  CaptureWriter w(std::make_unique<CaptureStore>(dir / "c.db", opt));

  std::uint64_t written = 0;
  AppendOutcome full;
  for (int i = 0; i < kMaxTries; ++i) {
    const AppendOutcome o = submit(w, make_record(1000, "wave", "wrist1", i + 1)).get();
    if (!o.ok()) {
      full = o;
      break;
    }
    EXPECT_EQ(o.code, AppendError::kNone);
    ++written;
  }
  ASSERT_FALSE(full.ok()) << "never full";
  EXPECT_TRUE(full.storage_full()) << full.error;
  EXPECT_EQ(full.code, AppendError::kStorageFull);
  EXPECT_STREQ(to_string(full.code), "storage full");
  EXPECT_EQ(full.id, 0);
  EXPECT_NE(full.error.find((dir / "c.db").string()), std::string::npos) << full.error;

  // More failures while full: each counted (the warning is rate limited, the count is not).
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(submit(w, make_record(1000)).get().storage_full());
  WriterCounters c = w.counters();
  EXPECT_EQ(c.written, written);
  EXPECT_EQ(c.storage_full, 4u);
  EXPECT_EQ(c.failed, 4u);

  // Space returns (on the writer thread, which owns the store): the next capture is written.
  std::promise<void> raised;
  ASSERT_EQ(w.post([&](CaptureStore& s) {
    s.set_max_page_count(100000);
    raised.set_value();
  }),
            SubmitResult::kQueued);
  raised.get_future().get();
  const AppendOutcome ok = submit(w, make_record(1000, "wave", "wrist1", 500)).get();
  EXPECT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.code, AppendError::kNone);
  c = w.counters();
  EXPECT_EQ(c.written, written + 1);
  EXPECT_EQ(c.storage_full, 4u);

  std::promise<IntegrityReport> rep;
  ASSERT_EQ(w.post([&](CaptureStore& s) { rep.set_value(s.integrity_check()); }),
            SubmitResult::kQueued);
  EXPECT_TRUE(rep.get_future().get().ok);
}

/// A tmpfs of `size` mounted on a fresh directory; unmounted (lazily) on destruction.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(const std::filesystem::path& dir, const char* size) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    const std::string data = std::string("size=") + size + ",mode=0700";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;
  [[nodiscard]] bool mounted() const noexcept { return mounted_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST(StorageFull, RealFullFileSystemIsStorageFullAndSpaceComingBackIsRecovered) {
  TempDir dir;
  const auto mnt = dir / "small";
  const SmallFilesystem fs(mnt, "512k");
  if (!fs.mounted()) {
    GTEST_SKIP() << "cannot mount a 512 KiB tmpfs on " << mnt << " (" << fs.error()
                 << "): needs root with CAP_SYS_ADMIN";
  }
  // Space to give back later: real bytes (a sparse file would take none on tmpfs).
  const auto reserve = mnt / "reserve";
  {
    std::ofstream out(reserve, std::ios::binary);
    const std::string block(4096, 'r');
    for (int i = 0; i < 48; ++i) out << block;  // 192 KiB
    ASSERT_TRUE(out.good());
  }
  StoreOptions opt;
  opt.synchronous = Synchronous::kNormal;
  CaptureStore store(mnt / "c.db", opt);

  const FillResult f = fill(store, 2000);  // 48 KB each
  RecordProperty("captures_before_full", static_cast<int>(f.ids.size()));
  RecordProperty("error", f.error);
  ASSERT_TRUE(f.storage_full) << "no StorageFullError after " << f.ids.size()
                              << " appends on a 512 KiB tmpfs; last error: '" << f.error << "'";
  EXPECT_NE(f.error.find((mnt / "c.db").string()), std::string::npos) << f.error;
  EXPECT_EQ(store.counters().storage_full, 1u);
  expect_intact(store, f.ids.size());
  EXPECT_THROW(store.append(make_record(2000, "wave", "wrist1", 900)), StorageFullError);
  expect_intact(store, f.ids.size());

  // Space returns: the same connection writes again.
  std::filesystem::remove(reserve);
  const std::int64_t id = store.append(make_record(2000, "wave", "wrist1", 901));
  EXPECT_GT(id, f.ids.empty() ? 0 : f.ids.back());
  expect_intact(store, f.ids.size() + 1);
  EXPECT_EQ(store.get(id)->data, make_record(2000, "wave", "wrist1", 901).data);
}

TEST(LogThrottle, OneLinePerIntervalWithTheCountSinceTheLastLine) {
  constexpr std::int64_t kS = 1'000'000'000;
  LogThrottle t(10 * kS);
  EXPECT_EQ(t.note(100 * kS), 1u);  // the first event logs at once
  EXPECT_EQ(t.note(101 * kS), 0u);
  EXPECT_EQ(t.note(105 * kS), 0u);
  EXPECT_EQ(t.note(109 * kS), 0u);
  EXPECT_EQ(t.pending(), 3u);
  EXPECT_EQ(t.note(110 * kS), 4u);  // 10 s later: this one and the three held back
  EXPECT_EQ(t.note(111 * kS), 0u);
  EXPECT_EQ(t.reset(), 1u);
  EXPECT_EQ(t.note(112 * kS), 1u);  // after reset, at once again
}

}  // namespace
}  // namespace primus::capture
