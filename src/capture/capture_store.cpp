#include "src/capture/capture_store.h"

#include <sqlite3.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "src/capture/sqlite_util.h"
#include "src/core/time_source.h"

namespace primus::capture {

namespace {

using sqlite_util::fail;
using sqlite_util::Stmt;
using sqlite_util::storage_full;
using sqlite_util::WriteTxn;

constexpr std::int64_t kBytesPerSample = 4 * kCaptureChannels;

// Schema version 1. Every statement runs in the migration's transaction.
constexpr const char* kSchemaV1[] = {
    R"sql(CREATE TABLE captures (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  device            TEXT    NOT NULL CHECK (length(device) BETWEEN 1 AND 64),
  label             TEXT    NOT NULL CHECK (length(label) BETWEEN 1 AND 64),
  t_start_device_us INTEGER NOT NULL,
  t_end_device_us   INTEGER NOT NULL CHECK (t_end_device_us >= t_start_device_us),
  t_start_host_ns   INTEGER NOT NULL,
  t_end_host_ns     INTEGER NOT NULL CHECK (t_end_host_ns >= t_start_host_ns),
  rate_hz           REAL    NOT NULL CHECK (rate_hz > 0),
  source_rate_hz    REAL    NOT NULL CHECK (source_rate_hz > 0),
  conversion        TEXT    NOT NULL CHECK (json_valid(conversion)),
  created_wall_ns   INTEGER NOT NULL,
  n_samples         INTEGER NOT NULL CHECK (n_samples > 0),
  data_crc32        INTEGER NOT NULL,
  data              BLOB    NOT NULL,
  CHECK (length(data) = 24 * n_samples)
))sql",
    "CREATE INDEX captures_by_label ON captures(label, device)",
    "CREATE INDEX captures_by_device ON captures(device)",
    "CREATE INDEX captures_by_created ON captures(created_wall_ns)",
    // Running totals, kept by triggers in the same transaction, so retention needs no scan.
    R"sql(CREATE TABLE totals (
  k        INTEGER PRIMARY KEY CHECK (k = 0),
  captures INTEGER NOT NULL,
  samples  INTEGER NOT NULL,
  bytes    INTEGER NOT NULL
))sql",
    "INSERT INTO totals VALUES (0, 0, 0, 0)",
    R"sql(CREATE TRIGGER captures_after_insert AFTER INSERT ON captures BEGIN
  UPDATE totals SET captures = captures + 1, samples = samples + NEW.n_samples,
                    bytes = bytes + 24 * NEW.n_samples WHERE k = 0;
END)sql",
    R"sql(CREATE TRIGGER captures_after_delete AFTER DELETE ON captures BEGIN
  UPDATE totals SET captures = captures - 1, samples = samples - OLD.n_samples,
                    bytes = bytes - 24 * OLD.n_samples WHERE k = 0;
END)sql",
    R"sql(CREATE VIEW labels AS
  SELECT label, device, COUNT(*) AS captures, SUM(n_samples) AS samples,
         SUM(24 * n_samples) AS bytes, MIN(created_wall_ns) AS first_created_wall_ns,
         MAX(created_wall_ns) AS last_created_wall_ns
  FROM captures GROUP BY label, device)sql",
};

struct Migration {
  int to_version;
  const char* const* statements;
  std::size_t n;
};
// Step k takes user_version k-1 to k. A future schema change appends a step here.
constexpr Migration kMigrations[] = {
    {1, kSchemaV1, std::size(kSchemaV1)},
};

constexpr const char* kInfoColumns =
    "id, device, label, t_start_device_us, t_end_device_us, t_start_host_ns, t_end_host_ns, "
    "rate_hz, source_rate_hz, conversion, created_wall_ns, n_samples, data_crc32";

CaptureInfo read_info(const Stmt& s) {
  CaptureInfo c;
  c.id = s.i64(0);
  c.device = s.text(1);
  c.label = s.text(2);
  c.t_start_device_us = s.i64(3);
  c.t_end_device_us = s.i64(4);
  c.t_start_host_ns = s.i64(5);
  c.t_end_host_ns = s.i64(6);
  c.rate_hz = s.f64(7);
  c.source_rate_hz = s.f64(8);
  c.conversion = s.text(9);
  c.created_wall_ns = s.i64(10);
  c.n_samples = s.i64(11);
  c.bytes = c.n_samples * kBytesPerSample;
  c.data_crc32 = static_cast<std::uint32_t>(s.i64(12));
  return c;
}

/// Reads columns 0..12 (kInfoColumns) and 13 (data); verifies the checksum.
CaptureRecord read_record(const Stmt& s) {
  const CaptureInfo c = read_info(s);
  const void* blob = sqlite3_column_blob(s.get(), 13);
  const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 13));
  if (n != static_cast<std::size_t>(c.bytes)) {
    throw CaptureError("capture " + std::to_string(c.id) + ": data is " + std::to_string(n) +
                       " bytes, expected " + std::to_string(c.bytes));
  }
  if (crc32(blob, n) != c.data_crc32) {
    throw CaptureError("capture " + std::to_string(c.id) + ": data checksum mismatch");
  }
  CaptureRecord r;
  r.id = c.id;
  r.device = c.device;
  r.label = c.label;
  r.t_start_device_us = c.t_start_device_us;
  r.t_end_device_us = c.t_end_device_us;
  r.t_start_host_ns = c.t_start_host_ns;
  r.t_end_host_ns = c.t_end_host_ns;
  r.rate_hz = c.rate_hz;
  r.source_rate_hz = c.source_rate_hz;
  r.conversion = c.conversion;
  r.created_wall_ns = c.created_wall_ns;
  r.data = decode_capture_data(blob, n);
  return r;
}

/// " WHERE ..." for a filter, with the values to bind in order.
struct Where {
  std::string sql;
  std::vector<std::string> texts;  // bound first, in order
  std::vector<std::int64_t> ints;  // then these
};

Where build_where(const CaptureFilter& f) {
  Where w;
  std::vector<std::string> conds;
  if (f.label) {
    conds.emplace_back("label = ?");
    w.texts.push_back(*f.label);
  }
  if (f.device) {
    conds.emplace_back("device = ?");
    w.texts.push_back(*f.device);
  }
  if (f.min_id) {
    conds.emplace_back("id >= ?");
    w.ints.push_back(*f.min_id);
  }
  if (f.created_before_wall_ns) {
    conds.emplace_back("created_wall_ns < ?");
    w.ints.push_back(*f.created_before_wall_ns);
  }
  for (std::size_t i = 0; i < conds.size(); ++i) w.sql += (i == 0 ? " WHERE " : " AND ") + conds[i];
  return w;
}

std::string order_limit(const CaptureFilter& f) {
  std::string s = f.newest_first ? " ORDER BY id DESC" : " ORDER BY id ASC";
  if (f.limit > 0) s += " LIMIT " + std::to_string(f.limit);
  return s;
}

void bind_where(Stmt& s, const Where& w) {
  int i = 1;
  for (const auto& t : w.texts) s.bind(i++, t);
  for (const auto v : w.ints) s.bind(i++, v);
}

std::int64_t file_size_or_zero(const std::filesystem::path& p) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : static_cast<std::int64_t>(n);
}

}  // namespace

CaptureStore::CaptureStore(const std::filesystem::path& path, StoreOptions opt)
    : path_(path), opt_(std::move(opt)) {
  const int flags =
      (opt_.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw CaptureError("capture store " + path_.string() + ": cannot open: " + msg);
  }
  try {
    sqlite3_busy_timeout(db_, opt_.busy_timeout_ms);
    if (!opt_.read_only) {
      // Only takes effect on a file without tables, and only before the switch to WAL writes
      // the header: lets retention give freed pages back to the file system.
      exec("PRAGMA auto_vacuum=INCREMENTAL");
      {
        Stmt s(db_, "PRAGMA journal_mode=WAL");
        if (!s.step() || s.text(0) != "wal") {
          throw CaptureError("cannot switch to WAL mode (journal_mode = " + s.text(0) + ")");
        }
      }
      exec(opt_.synchronous == Synchronous::kFull ? "PRAGMA synchronous=FULL"
                                                  : "PRAGMA synchronous=NORMAL");
      migrate();
      if (sqlite3_prepare_v3(db_,
                             "INSERT INTO captures (device, label, t_start_device_us, "
                             "t_end_device_us, t_start_host_ns, t_end_host_ns, rate_hz, "
                             "source_rate_hz, conversion, created_wall_ns, n_samples, data_crc32, "
                             "data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             -1, SQLITE_PREPARE_PERSISTENT, &insert_, nullptr) != SQLITE_OK) {
        fail(db_, "prepare insert");
      }
      if (opt_.max_page_count > 0) set_max_page_count(opt_.max_page_count);
    } else {
      const int v = schema_version();
      if (v != kSchemaVersion) {
        throw CaptureError("schema version " + std::to_string(v) + ", this build reads " +
                           std::to_string(kSchemaVersion) +
                           (v == 0 ? " (not a capture store, or never opened for writing)" : ""));
      }
    }
  } catch (const CaptureError& e) {
    sqlite3_finalize(insert_);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw CaptureError("capture store " + path_.string() + ": " + e.what());
  }
}

CaptureStore::~CaptureStore() {
  sqlite3_finalize(insert_);
  sqlite3_close_v2(db_);
}

void CaptureStore::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg =
        std::string(sql).substr(0, 60) + ": " + (err != nullptr ? err : "unknown error");
    sqlite3_free(err);
    if (storage_full(db_)) throw StorageFullError(msg);
    throw CaptureError(msg);
  }
}

std::int64_t CaptureStore::set_max_page_count(std::int64_t pages) {
  Stmt s(db_, "PRAGMA max_page_count = " + std::to_string(pages));
  return s.step() ? s.i64(0) : 0;
}

int CaptureStore::schema_version() const {
  Stmt s(db_, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.i64(0)) : 0;
}

int CaptureStore::synchronous_level() const {
  Stmt s(db_, "PRAGMA synchronous");
  return s.step() ? static_cast<int>(s.i64(0)) : -1;
}

void CaptureStore::migrate() {
  // Read the version inside the write transaction, so two processes opening a fresh file at
  // once cannot both create the schema.
  WriteTxn txn(db_);
  int v = schema_version();
  if (v > kSchemaVersion) {
    throw CaptureError("schema version " + std::to_string(v) + " is newer than this build (" +
                       std::to_string(kSchemaVersion) + ")");
  }
  if (v == 0) {
    Stmt s(db_, "SELECT count(*) FROM sqlite_schema");
    if (s.step() && s.i64(0) != 0) {
      throw CaptureError("the file holds tables but no schema version: not a capture store");
    }
  }
  for (const auto& m : kMigrations) {
    if (m.to_version <= v) continue;
    for (std::size_t i = 0; i < m.n; ++i) exec(m.statements[i]);
    exec(("PRAGMA user_version=" + std::to_string(m.to_version)).c_str());
    v = m.to_version;
  }
  txn.commit();
}

std::int64_t CaptureStore::now_wall_ns() const {
  return opt_.wall_clock_ns ? opt_.wall_clock_ns() : primus::wall_clock_ns();
}

std::int64_t CaptureStore::append(const CaptureRecord& r) {
  if (opt_.read_only) throw CaptureError("capture store " + path_.string() + " is read-only");
  try {
    validate_capture(r);
  } catch (const CaptureError&) {
    ++counters_.rejected;
    throw;
  }
  const std::int64_t bytes = r.n_samples() * kBytesPerSample;
  if (opt_.retention.max_bytes > 0 && bytes > opt_.retention.max_bytes) {
    ++counters_.rejected;
    throw CaptureError(
        "capture of " + std::to_string(bytes) +
        " bytes exceeds the store's max_bytes = " + std::to_string(opt_.retention.max_bytes));
  }
  const std::vector<unsigned char> blob = encode_capture_data(r.data);
  const std::string conversion = r.conversion.empty() ? "{}" : r.conversion;
  try {
    return insert_locked(r, blob, conversion);
  } catch (const StorageFullError& e) {
    ++counters_.storage_full;
    throw StorageFullError("capture store " + path_.string() + ": " + e.what());
  } catch (const CaptureError& e) {
    throw CaptureError("capture store " + path_.string() + ": " + e.what());
  }
}

std::vector<std::int64_t> CaptureStore::append_all(const std::vector<CaptureRecord>& rs) {
  if (opt_.read_only) throw CaptureError("capture store " + path_.string() + " is read-only");
  std::int64_t total = 0;
  for (std::size_t i = 0; i < rs.size(); ++i) {
    try {
      validate_capture(rs[i]);
    } catch (const CaptureError& e) {
      ++counters_.rejected;
      throw CaptureError("capture " + std::to_string(i) + " of " + std::to_string(rs.size()) +
                         ": " + e.what());
    }
    total += rs[i].n_samples() * kBytesPerSample;
  }
  if (opt_.retention.max_bytes > 0 && total > opt_.retention.max_bytes) {
    ++counters_.rejected;
    throw CaptureError(
        "the " + std::to_string(rs.size()) + " captures hold " + std::to_string(total) +
        " bytes, more than the store's max_bytes = " + std::to_string(opt_.retention.max_bytes));
  }
  std::vector<std::int64_t> ids;
  ids.reserve(rs.size());
  try {
    WriteTxn txn(db_);
    for (const auto& r : rs)
      ids.push_back(
          insert_row(r, encode_capture_data(r.data), r.conversion.empty() ? "{}" : r.conversion));
    const std::int64_t evicted = evict_locked();
    txn.commit();
    counters_.appended += rs.size();
    counters_.evicted += static_cast<std::uint64_t>(evicted);
  } catch (const StorageFullError& e) {
    ++counters_.storage_full;
    throw StorageFullError("capture store " + path_.string() + ": " + e.what());
  } catch (const CaptureError& e) {
    throw CaptureError("capture store " + path_.string() + ": " + e.what());
  }
  return ids;
}

std::int64_t CaptureStore::insert_locked(const CaptureRecord& r,
                                         const std::vector<unsigned char>& blob,
                                         const std::string& conversion) {
  WriteTxn txn(db_);
  const std::int64_t id = insert_row(r, blob, conversion);
  const std::int64_t evicted = evict_locked();
  txn.commit();
  ++counters_.appended;
  counters_.evicted += static_cast<std::uint64_t>(evicted);
  return id;
}

std::int64_t CaptureStore::insert_row(const CaptureRecord& r,
                                      const std::vector<unsigned char>& blob,
                                      const std::string& conversion) {
  sqlite3_reset(insert_);
  sqlite3_clear_bindings(insert_);
  int i = 1;
  bool ok = sqlite3_bind_text(insert_, i++, r.device.data(), static_cast<int>(r.device.size()),
                              SQLITE_STATIC) == SQLITE_OK;
  ok = ok && sqlite3_bind_text(insert_, i++, r.label.data(), static_cast<int>(r.label.size()),
                               SQLITE_STATIC) == SQLITE_OK;
  for (const std::int64_t v :
       {r.t_start_device_us, r.t_end_device_us, r.t_start_host_ns, r.t_end_host_ns}) {
    ok = ok && sqlite3_bind_int64(insert_, i++, v) == SQLITE_OK;
  }
  ok = ok && sqlite3_bind_double(insert_, i++, r.rate_hz) == SQLITE_OK;
  ok = ok && sqlite3_bind_double(insert_, i++, r.source_rate_hz) == SQLITE_OK;
  ok = ok && sqlite3_bind_text(insert_, i++, conversion.data(), static_cast<int>(conversion.size()),
                               SQLITE_STATIC) == SQLITE_OK;
  ok = ok && sqlite3_bind_int64(insert_, i++, now_wall_ns()) == SQLITE_OK;
  ok = ok && sqlite3_bind_int64(insert_, i++, r.n_samples()) == SQLITE_OK;
  ok = ok && sqlite3_bind_int64(insert_, i++, crc32(blob.data(), blob.size())) == SQLITE_OK;
  ok = ok && sqlite3_bind_blob(insert_, i++, blob.data(), static_cast<int>(blob.size()),
                               SQLITE_STATIC) == SQLITE_OK;
  if (!ok) fail(db_, "bind insert");
  const int rc = sqlite3_step(insert_);
  // The error is read before the reset, which may replace it.
  const bool full = rc != SQLITE_DONE && storage_full(db_);
  const std::string error = rc != SQLITE_DONE ? sqlite3_errmsg(db_) : "";
  sqlite3_reset(insert_);
  sqlite3_clear_bindings(insert_);
  if (full) throw StorageFullError("insert capture: " + error);
  if (rc != SQLITE_DONE) throw CaptureError("insert capture: " + error);
  return sqlite3_last_insert_rowid(db_);
}

std::int64_t CaptureStore::evict_locked() {
  std::int64_t evicted = 0;
  if (opt_.retention.max_age_s > 0) {
    Stmt del(db_, "DELETE FROM captures WHERE created_wall_ns < ?");
    del.bind(1, now_wall_ns() - opt_.retention.max_age_s * 1'000'000'000);
    del.step();
    evicted += sqlite3_changes(db_);
  }
  if (opt_.retention.max_bytes > 0) {
    std::int64_t total = 0;
    {
      Stmt s(db_, "SELECT bytes FROM totals WHERE k = 0");
      if (s.step()) total = s.i64(0);
    }
    if (total > opt_.retention.max_bytes) {
      // Oldest first: find the highest id whose deletion (with all before it) is enough.
      std::int64_t last_id = -1;
      Stmt s(db_, "SELECT id, 24 * n_samples FROM captures ORDER BY id ASC");
      while (total > opt_.retention.max_bytes && s.step()) {
        last_id = s.i64(0);
        total -= s.i64(1);
      }
      Stmt del(db_, "DELETE FROM captures WHERE id <= ?");
      del.bind(1, last_id);
      del.step();
      evicted += sqlite3_changes(db_);
    }
  }
  if (evicted > 0) exec("PRAGMA incremental_vacuum");
  return evicted;
}

std::int64_t CaptureStore::enforce_retention() {
  if (opt_.read_only) throw CaptureError("capture store " + path_.string() + " is read-only");
  WriteTxn txn(db_);
  const std::int64_t n = evict_locked();
  txn.commit();
  counters_.evicted += static_cast<std::uint64_t>(n);
  return n;
}

std::vector<CaptureInfo> CaptureStore::list(const CaptureFilter& f) const {
  const Where w = build_where(f);
  Stmt s(db_, std::string("SELECT ") + kInfoColumns + " FROM captures" + w.sql + order_limit(f));
  bind_where(s, w);
  std::vector<CaptureInfo> out;
  while (s.step()) out.push_back(read_info(s));
  return out;
}

std::optional<CaptureRecord> CaptureStore::get(std::int64_t id) const {
  Stmt s(db_, std::string("SELECT ") + kInfoColumns + ", data FROM captures WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_record(s);
}

void CaptureStore::for_each(const CaptureFilter& f,
                            const std::function<void(const CaptureRecord&)>& fn) const {
  const Where w = build_where(f);
  Stmt s(db_,
         std::string("SELECT ") + kInfoColumns + ", data FROM captures" + w.sql + order_limit(f));
  bind_where(s, w);
  while (s.step()) fn(read_record(s));
}

void CaptureStore::with_snapshot(const std::function<void()>& fn) const {
  exec("BEGIN");
  try {
    fn();
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  exec("COMMIT");
}

StoreStats CaptureStore::stats(int window_length, int stride) const {
  StoreStats st;
  const bool win = window_length >= 1 && stride >= 1;
  {
    Stmt s(db_,
           "SELECT label, device, COUNT(*), SUM(n_samples), "
           "SUM(CASE WHEN ?1 > 0 AND n_samples >= ?1 THEN (n_samples - ?1) / ?2 + 1 ELSE 0 END), "
           "MIN(created_wall_ns), MAX(created_wall_ns) "
           "FROM captures GROUP BY label, device ORDER BY label, device");
    s.bind(1, win ? window_length : 0);
    s.bind(2, win ? stride : 1);
    bool first = true;
    while (s.step()) {
      LabelStats l;
      l.label = s.text(0);
      l.device = s.text(1);
      l.captures = s.i64(2);
      l.samples = s.i64(3);
      l.bytes = l.samples * kBytesPerSample;
      l.windows = s.i64(4);
      st.captures += l.captures;
      st.samples += l.samples;
      st.bytes += l.bytes;
      st.windows += l.windows;
      const std::int64_t lo = s.i64(5);
      const std::int64_t hi = s.i64(6);
      st.oldest_created_wall_ns = first ? lo : std::min(st.oldest_created_wall_ns, lo);
      st.newest_created_wall_ns = first ? hi : std::max(st.newest_created_wall_ns, hi);
      first = false;
      st.by_label.push_back(std::move(l));
    }
  }
  {
    Stmt s(db_, "SELECT seq FROM sqlite_sequence WHERE name = 'captures'");
    if (s.step()) st.max_id = s.i64(0);
  }
  st.file_bytes = file_size_or_zero(path_) + file_size_or_zero(path_.string() + "-wal");
  return st;
}

bool CaptureStore::remove(std::int64_t id) {
  if (opt_.read_only) throw CaptureError("capture store " + path_.string() + " is read-only");
  WriteTxn txn(db_);
  Stmt s(db_, "DELETE FROM captures WHERE id = ?");
  s.bind(1, id);
  s.step();
  const bool removed = sqlite3_changes(db_) > 0;
  if (removed) exec("PRAGMA incremental_vacuum");
  txn.commit();
  return removed;
}

std::int64_t CaptureStore::remove_matching(const CaptureFilter& f) {
  if (opt_.read_only) throw CaptureError("capture store " + path_.string() + " is read-only");
  const Where w = build_where(f);
  WriteTxn txn(db_);
  Stmt s(db_, "DELETE FROM captures WHERE id IN (SELECT id FROM captures" + w.sql + order_limit(f) +
                  ")");
  bind_where(s, w);
  s.step();
  const std::int64_t n = sqlite3_changes(db_);
  if (n > 0) exec("PRAGMA incremental_vacuum");
  txn.commit();
  return n;
}

IntegrityReport CaptureStore::integrity_check() const {
  IntegrityReport rep;
  auto problem = [&rep](std::string p) {
    rep.ok = false;
    rep.problems.push_back(std::move(p));
  };
  try {
    Stmt s(db_, "PRAGMA integrity_check");
    while (s.step()) {
      const std::string line = s.text(0);
      if (line != "ok") problem("integrity_check: " + line);
    }
  } catch (const CaptureError& e) {
    problem(e.what());
  }
  try {
    Stmt s(db_, "SELECT id, n_samples, data_crc32, data FROM captures ORDER BY id");
    std::int64_t n = 0;
    std::int64_t samples = 0;
    while (s.step()) {
      const std::int64_t id = s.i64(0);
      const void* blob = sqlite3_column_blob(s.get(), 3);
      const auto len = static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 3));
      if (static_cast<std::int64_t>(len) != s.i64(1) * kBytesPerSample) {
        problem("capture " + std::to_string(id) + ": blob of " + std::to_string(len) +
                " bytes for " + std::to_string(s.i64(1)) + " samples");
      } else if (crc32(blob, len) != static_cast<std::uint32_t>(s.i64(2))) {
        problem("capture " + std::to_string(id) + ": data checksum mismatch");
      }
      ++n;
      samples += s.i64(1);
    }
    Stmt t(db_, "SELECT captures, samples, bytes FROM totals WHERE k = 0");
    if (!t.step()) {
      problem("totals row missing");
    } else if (t.i64(0) != n || t.i64(1) != samples || t.i64(2) != samples * kBytesPerSample) {
      problem("totals (" + std::to_string(t.i64(0)) + " captures, " + std::to_string(t.i64(1)) +
              " samples) disagree with the table (" + std::to_string(n) + ", " +
              std::to_string(samples) + ")");
    }
  } catch (const CaptureError& e) {
    problem(e.what());
  }
  return rep;
}

}  // namespace primus::capture
