#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>
#include <string>
#include <vector>

#include "src/capture/capture_store.h"
#include "tests/unit/capture/capture_test_util.h"

namespace primus::capture {
namespace {

using test::make_record;
using test::TempDir;

/// Raw SQL on the file through a second connection (what a user with sqlite3 would see).
std::string query_one(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  sqlite3_close(h);
  return out;
}

void exec_raw(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
            SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(h);
}

/// A wall clock the test sets by hand.
struct FakeWall {
  std::int64_t now_ns = 1'700'000'000'000'000'000LL;
  StoreOptions options(RetentionLimits lim = {}) {
    StoreOptions o;
    o.retention = lim;
    o.wall_clock_ns = [this] { return now_ns; };
    return o;
  }
};

TEST(CaptureStore, SchemaVersionWalAndDurabilitySettings) {
  TempDir dir;
  const auto db = dir / "c.db";
  CaptureStore store(db);
  EXPECT_EQ(store.schema_version(), CaptureStore::kSchemaVersion);
  EXPECT_EQ(query_one(db, "PRAGMA user_version"), "1");
  EXPECT_EQ(query_one(db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query_one(db, "PRAGMA auto_vacuum"), "2");  // incremental
  for (const char* name : {"captures", "totals", "labels", "captures_by_label"}) {
    EXPECT_EQ(query_one(db, std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") +
                                name + "'"),
              "1")
        << name;
  }
  EXPECT_EQ(store.synchronous_level(), 2);  // FULL: the WAL is fsynced at every commit
  StoreOptions normal;
  normal.synchronous = Synchronous::kNormal;
  CaptureStore second(db, normal);
  EXPECT_EQ(second.synchronous_level(), 1);
  EXPECT_EQ(second.schema_version(), 1);
}

TEST(CaptureStore, AppendGetRoundTripsBitForBit) {
  TempDir dir;
  FakeWall wall;
  CaptureStore store(dir / "c.db", wall.options());
  const CaptureRecord in = make_record(250, "wave", "wrist1", 7);
  const std::int64_t id = store.append(in);
  EXPECT_GT(id, 0);
  const auto out = store.get(id);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->id, id);
  EXPECT_EQ(out->label, "wave");
  EXPECT_EQ(out->device, "wrist1");
  EXPECT_EQ(out->t_start_device_us, in.t_start_device_us);
  EXPECT_EQ(out->t_end_device_us, in.t_end_device_us);
  EXPECT_EQ(out->t_start_host_ns, in.t_start_host_ns);
  EXPECT_EQ(out->t_end_host_ns, in.t_end_host_ns);
  EXPECT_EQ(out->rate_hz, 50.0);
  EXPECT_EQ(out->source_rate_hz, 119.0);
  EXPECT_EQ(out->conversion, in.conversion);
  EXPECT_EQ(out->created_wall_ns, wall.now_ns);
  ASSERT_EQ(out->data.size(), in.data.size());
  EXPECT_EQ(std::memcmp(out->data.data(), in.data.data(), in.data.size() * 4), 0);
  EXPECT_FALSE(store.get(id + 1).has_value());
  // Stored blob is channel-major little-endian float32: first float of channel 1 at byte 1000.
  EXPECT_EQ(query_one(store.path(), "SELECT length(data) FROM captures"), "6000");
  EXPECT_EQ(store.counters().appended, 1u);
}

TEST(CaptureStore, SurvivesReopen) {
  TempDir dir;
  std::int64_t id = 0;
  {
    CaptureStore store(dir / "c.db");
    id = store.append(make_record(100));
  }
  CaptureStore again(dir / "c.db");
  ASSERT_TRUE(again.get(id).has_value());
  EXPECT_EQ(again.get(id)->data, make_record(100).data);
}

TEST(CaptureStore, RejectsBadInputAndWritesNothing) {
  TempDir dir;
  CaptureStore store(dir / "c.db");
  CaptureRecord r = make_record(20);
  r.label = "";
  EXPECT_THROW(store.append(r), CaptureError);
  r = make_record(20);
  r.data[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(store.append(r), CaptureError);
  r = make_record(20);
  r.data.resize(r.data.size() - 3);
  EXPECT_THROW(store.append(r), CaptureError);
  EXPECT_EQ(store.stats().captures, 0);
  EXPECT_EQ(store.counters().rejected, 3u);
  EXPECT_TRUE(store.integrity_check().ok);
}

TEST(CaptureStore, RefusesNewerSchemaAndForeignFiles) {
  TempDir dir;
  { CaptureStore store(dir / "new.db"); }
  exec_raw(dir / "new.db", "PRAGMA user_version = 2");
  try {
    CaptureStore store(dir / "new.db");
    FAIL() << "opened a newer schema";
  } catch (const CaptureError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 2 is newer"), std::string::npos)
        << e.what();
  }
  exec_raw(dir / "foreign.db", "CREATE TABLE t(x)");
  try {
    CaptureStore store(dir / "foreign.db");
    FAIL() << "opened a foreign database";
  } catch (const CaptureError& e) {
    EXPECT_NE(std::string(e.what()).find("not a capture store"), std::string::npos) << e.what();
  }
}

TEST(CaptureStore, ReadOnlyOpenNeedsAnExistingStoreAndRefusesWrites) {
  TempDir dir;
  StoreOptions ro;
  ro.read_only = true;
  EXPECT_THROW(CaptureStore(dir / "missing.db", ro), CaptureError);
  std::int64_t id = 0;
  {
    CaptureStore rw(dir / "c.db");
    id = rw.append(make_record(10));
  }
  CaptureStore reader(dir / "c.db", ro);
  EXPECT_TRUE(reader.get(id).has_value());
  EXPECT_THROW(reader.append(make_record(10)), CaptureError);
  EXPECT_THROW(reader.remove(id), CaptureError);
}

TEST(CaptureStore, ReaderConnectionSeesCommittedCapturesWhileWriterIsOpen) {
  TempDir dir;
  CaptureStore writer(dir / "c.db");
  StoreOptions ro;
  ro.read_only = true;
  CaptureStore reader(dir / "c.db", ro);
  EXPECT_EQ(reader.stats().captures, 0);
  const std::int64_t id = writer.append(make_record(50));
  EXPECT_TRUE(reader.get(id).has_value());
  // A snapshot does not move while the writer commits.
  reader.with_snapshot([&] {
    EXPECT_EQ(reader.list().size(), 1u);
    writer.append(make_record(50));
    EXPECT_EQ(reader.list().size(), 1u);
  });
  EXPECT_EQ(reader.list().size(), 2u);
}

TEST(CaptureStore, ListFiltersAndOrders) {
  TempDir dir;
  CaptureStore store(dir / "c.db");
  const std::int64_t a = store.append(make_record(10, "wave", "d1"));
  const std::int64_t b = store.append(make_record(20, "tap", "d1"));
  const std::int64_t c = store.append(make_record(30, "wave", "d2"));
  auto ids = [](const std::vector<CaptureInfo>& v) {
    std::vector<std::int64_t> out;
    for (const auto& i : v) out.push_back(i.id);
    return out;
  };
  EXPECT_EQ(ids(store.list()), (std::vector<std::int64_t>{a, b, c}));
  CaptureFilter f;
  f.label = "wave";
  EXPECT_EQ(ids(store.list(f)), (std::vector<std::int64_t>{a, c}));
  f.device = "d2";
  EXPECT_EQ(ids(store.list(f)), (std::vector<std::int64_t>{c}));
  CaptureFilter g;
  g.min_id = b;
  g.newest_first = true;
  EXPECT_EQ(ids(store.list(g)), (std::vector<std::int64_t>{c, b}));
  g.limit = 1;
  EXPECT_EQ(ids(store.list(g)), (std::vector<std::int64_t>{c}));
  const auto info = store.list(f).front();
  EXPECT_EQ(info.n_samples, 30);
  EXPECT_EQ(info.bytes, 720);
  std::vector<std::int64_t> seen;
  store.for_each(CaptureFilter{}, [&](const CaptureRecord& r) { seen.push_back(r.id); });
  EXPECT_EQ(seen, (std::vector<std::int64_t>{a, b, c}));
}

TEST(CaptureStore, StatsCountWindowsPerLabelAndDevice) {
  TempDir dir;
  FakeWall wall;
  CaptureStore store(dir / "c.db", wall.options());
  store.append(make_record(250, "wave", "d1"));  // (250-250)/50+1 = 1 window
  wall.now_ns += 10;
  store.append(make_record(400, "wave", "d1"));  // (400-250)/50+1 = 4
  store.append(make_record(249, "wave", "d1"));  // too short: 0
  store.append(make_record(300, "tap", "d2"));   // 2
  const StoreStats s = store.stats(250, 50);
  EXPECT_EQ(s.captures, 4);
  EXPECT_EQ(s.samples, 250 + 400 + 249 + 300);
  EXPECT_EQ(s.bytes, 24 * s.samples);
  EXPECT_EQ(s.windows, 7);
  EXPECT_EQ(s.max_id, 4);
  EXPECT_EQ(s.oldest_created_wall_ns, 1'700'000'000'000'000'000LL);
  EXPECT_EQ(s.newest_created_wall_ns, 1'700'000'000'000'000'010LL);
  EXPECT_GT(s.file_bytes, s.bytes);
  ASSERT_EQ(s.by_label.size(), 2u);
  EXPECT_EQ(s.by_label[0].label, "tap");
  EXPECT_EQ(s.by_label[0].windows, 2);
  EXPECT_EQ(s.by_label[1].label, "wave");
  EXPECT_EQ(s.by_label[1].device, "d1");
  EXPECT_EQ(s.by_label[1].captures, 3);
  EXPECT_EQ(s.by_label[1].windows, 5);
  EXPECT_EQ(store.stats().windows, 0);  // no window length asked
  // The labels view agrees.
  EXPECT_EQ(query_one(store.path(), "SELECT captures FROM labels WHERE label = 'wave'"), "3");
}

TEST(CaptureStore, RemoveAndRemoveMatchingKeepTotals) {
  TempDir dir;
  CaptureStore store(dir / "c.db");
  const std::int64_t a = store.append(make_record(10, "wave"));
  store.append(make_record(10, "tap"));
  store.append(make_record(10, "tap"));
  EXPECT_TRUE(store.remove(a));
  EXPECT_FALSE(store.remove(a));
  CaptureFilter f;
  f.label = "tap";
  EXPECT_EQ(store.remove_matching(f), 2);
  EXPECT_EQ(store.stats().captures, 0);
  EXPECT_EQ(query_one(store.path(), "SELECT bytes FROM totals"), "0");
  EXPECT_TRUE(store.integrity_check().ok);
}

TEST(CaptureStore, RetentionByBytesEvictsOldestFirstAndNeverReusesIds) {
  TempDir dir;
  FakeWall wall;
  RetentionLimits lim;
  lim.max_bytes = 3 * 6000;  // three 250-sample captures
  CaptureStore store(dir / "c.db", wall.options(lim));
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(store.append(make_record(250, "wave", "d", i)));
  auto left = store.list();
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left[0].id, ids[2]);
  EXPECT_EQ(left[2].id, ids[4]);
  EXPECT_EQ(store.counters().evicted, 2u);
  EXPECT_LE(store.stats().bytes, lim.max_bytes);
  // A bigger capture pushes out as many old ones as needed.
  const std::int64_t big = store.append(make_record(500, "wave", "d", 9));
  left = store.list();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].id, ids[4]);
  EXPECT_EQ(left[1].id, big);
  EXPECT_GT(big, ids[4]);
  // One capture larger than the whole budget is refused, and nothing is evicted for it.
  EXPECT_THROW(store.append(make_record(1000)), CaptureError);
  EXPECT_EQ(store.list().size(), 2u);
  // Ids keep increasing after eviction (AUTOINCREMENT).
  store.remove_matching({});
  EXPECT_GT(store.append(make_record(10)), big);
  EXPECT_TRUE(store.integrity_check().ok);
}

TEST(CaptureStore, RetentionByAgeUsesTheWallClock) {
  TempDir dir;
  FakeWall wall;
  RetentionLimits lim;
  lim.max_age_s = 3600;
  CaptureStore store(dir / "c.db", wall.options(lim));
  const std::int64_t old_id = store.append(make_record(10));
  wall.now_ns += 1800LL * 1'000'000'000;
  const std::int64_t mid_id = store.append(make_record(10));
  wall.now_ns += 1801LL * 1'000'000'000;  // old_id is now 3601 s old
  EXPECT_EQ(store.enforce_retention(), 1);
  EXPECT_FALSE(store.get(old_id).has_value());
  EXPECT_TRUE(store.get(mid_id).has_value());
  wall.now_ns += 3600LL * 1'000'000'000;
  const std::int64_t new_id = store.append(make_record(10));  // append evicts mid_id too
  EXPECT_FALSE(store.get(mid_id).has_value());
  EXPECT_TRUE(store.get(new_id).has_value());
  EXPECT_EQ(store.counters().evicted, 2u);
}

TEST(CaptureStore, RetentionGivesPagesBack) {
  TempDir dir;
  RetentionLimits lim;
  lim.max_bytes = 4 * 24 * 5000;
  CaptureStore store(dir / "c.db", StoreOptions{Synchronous::kNormal, lim});
  for (int i = 0; i < 40; ++i) store.append(make_record(5000, "wave", "d", i));
  // 40 x 120 kB were written; only 4 are kept, and incremental vacuum keeps the file near that.
  const auto s = store.stats();
  EXPECT_EQ(s.captures, 4);
  EXPECT_EQ(query_one(store.path(), "PRAGMA freelist_count"), "0");
}

TEST(CaptureStore, IntegrityCheckFindsCorruptedData) {
  TempDir dir;
  std::int64_t id = 0;
  {
    CaptureStore store(dir / "c.db");
    id = store.append(make_record(10));
    store.append(make_record(10, "tap"));
    EXPECT_TRUE(store.integrity_check().ok);
  }
  // Flip one bit of the first capture's data behind the store's back.
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "c.db").c_str(), &h), SQLITE_OK);
    sqlite3_blob* b = nullptr;
    ASSERT_EQ(sqlite3_blob_open(h, "main", "captures", "data", id, 1, &b), SQLITE_OK);
    unsigned char byte = 0;
    ASSERT_EQ(sqlite3_blob_read(b, &byte, 1, 100), SQLITE_OK);
    byte ^= 0x01;
    ASSERT_EQ(sqlite3_blob_write(b, &byte, 1, 100), SQLITE_OK);
    sqlite3_blob_close(b);
    sqlite3_close(h);
  }
  CaptureStore store(dir / "c.db");
  const IntegrityReport rep = store.integrity_check();
  EXPECT_FALSE(rep.ok);
  ASSERT_EQ(rep.problems.size(), 1u);
  EXPECT_NE(rep.problems[0].find("checksum mismatch"), std::string::npos) << rep.problems[0];
  EXPECT_THROW((void)store.get(id), CaptureError);
}

TEST(CaptureStore, SchemaChecksRejectRowsThatBypassTheApi) {
  TempDir dir;
  { CaptureStore store(dir / "c.db"); }
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "c.db").c_str(), &h), SQLITE_OK);
  // Blob length disagrees with n_samples: the table's CHECK refuses it.
  const int rc = sqlite3_exec(
      h,
      "INSERT INTO captures (device, label, t_start_device_us, t_end_device_us, t_start_host_ns, "
      "t_end_host_ns, rate_hz, source_rate_hz, conversion, created_wall_ns, n_samples, "
      "data_crc32, data) VALUES ('d', 'l', 0, 0, 0, 0, 50, 50, '{}', 0, 2, 0, zeroblob(24))",
      nullptr, nullptr, nullptr);
  EXPECT_EQ(rc, SQLITE_CONSTRAINT);
  sqlite3_close(h);
}

}  // namespace
}  // namespace primus::capture
