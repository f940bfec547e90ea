#pragma once
// The capture store: labelled captures in one SQLite file (WAL mode). See docs/capture.md.
//
// Durability: append() returns only after its transaction has committed. With the default
// Synchronous::kFull, SQLite fsyncs the write-ahead log at every commit, so a capture whose
// append() returned survives kill -9 at any later moment and also an OS crash or power loss.
// Synchronous::kNormal skips that fsync: a returned append still survives kill -9 (the WAL
// write is in the OS page cache) but not a power loss. The crash test kills a writer process
// with SIGKILL at random moments and checks every acknowledged capture (tests/capture/).
//
// Schema: versioned with PRAGMA user_version (kSchemaVersion). Opening a fresh file creates the
// current schema in one transaction; an older version is migrated step by step, each step in its
// own transaction; a newer version, or a file with tables but no version, is refused.
//
// Retention: after each insert, in the same transaction, captures older than max_age_s (by
// created_wall_ns) are deleted, then the oldest captures (lowest id) until the payload (sum of
// data blobs, 24 bytes per sample) is at most max_bytes. A capture larger than max_bytes on its
// own is refused. Ids are never reused (AUTOINCREMENT), so an evicted id stays gone.
//
// Storage full: when the file system (or the test-only max_page_count) has no room for a write,
// append() and the other writes throw StorageFullError (a CaptureError): SQLITE_FULL, or an
// SQLITE_IOERR whose system errno is ENOSPC or EDQUOT. The failed transaction is rolled back,
// nothing of it is visible, and the connection stays usable: once space returns, the next
// append() works. Other SQLite failures throw a plain CaptureError.
//
// Threads: NOT thread-safe. One thread owns a CaptureStore and makes every call on it (in the
// daemon: the capture writer thread, see capture_writer.h). Other threads that need to read (the
// trainer, `primusctl captures export`) open their own CaptureStore, possibly read-only: WAL lets
// them read a consistent snapshot while the owner writes, and neither blocks the other for long
// (busy_timeout_ms bounds any wait on a lock).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/capture/capture_record.h"

struct sqlite3;
struct sqlite3_stmt;

namespace primus::capture {

enum class Synchronous {
  kFull,    ///< fsync the WAL at every commit: survives kill -9 and power loss
  kNormal,  ///< no fsync at commit: survives kill -9, may lose the newest commits on power loss
};

struct RetentionLimits {
  std::int64_t max_bytes = 0;  ///< payload bytes kept (24 per sample); 0 = unlimited
  std::int64_t max_age_s = 0;  ///< captures older than this (wall time) are deleted; 0 = never
};

struct StoreOptions {
  Synchronous synchronous = Synchronous::kFull;
  RetentionLimits retention{};
  bool read_only = false;      ///< open an existing store for reading only
  int busy_timeout_ms = 5000;  ///< longest wait on another connection's lock
  /// Wall (UTC) clock in ns since the epoch, for created_wall_ns and max_age_s. Empty: the system
  /// clock. Called on the owner thread only.
  std::function<std::int64_t()> wall_clock_ns{};
  /// TEST ONLY: PRAGMA max_page_count on this connection (0: SQLite's default, no limit worth
  /// the name). Writes that would grow the database beyond it fail with SQLITE_FULL, so tests
  /// can run the store out of space for real. The daemon leaves it 0.
  std::int64_t max_page_count = 0;
};

/// Thrown by writes when the storage is full (see the top of this file): an environment
/// condition, not a bug; the caller may retry once space has been freed.
class StorageFullError : public CaptureError {
 public:
  using CaptureError::CaptureError;
};

/// A capture without its data (what list() returns).
struct CaptureInfo {
  std::int64_t id = 0;
  std::string device;
  std::string label;
  std::int64_t t_start_device_us = 0;
  std::int64_t t_end_device_us = 0;
  std::int64_t t_start_host_ns = 0;
  std::int64_t t_end_host_ns = 0;
  double rate_hz = 0.0;
  double source_rate_hz = 0.0;
  std::string conversion;
  std::int64_t created_wall_ns = 0;
  std::int64_t n_samples = 0;
  std::int64_t bytes = 0;        ///< data blob size (24 * n_samples)
  std::uint32_t data_crc32 = 0;  ///< crc32() of the blob
};

/// Which captures list()/for_each()/remove_matching() touch. Empty fields match everything.
struct CaptureFilter {
  std::optional<std::string> label;
  std::optional<std::string> device;
  std::optional<std::int64_t> min_id;  ///< id >= min_id (e.g. "new since the last training")
  std::optional<std::int64_t> created_before_wall_ns;  ///< created_wall_ns < this
  std::int64_t limit = 0;                              ///< at most this many (0: no limit)
  bool newest_first = false;  ///< order by id descending instead of ascending
};

/// Counts for one (label, device) pair.
struct LabelStats {
  std::string label;
  std::string device;
  std::int64_t captures = 0;
  std::int64_t samples = 0;
  std::int64_t bytes = 0;
  std::int64_t windows = 0;  ///< windows of the asked length/stride cut within captures
};

struct StoreStats {
  std::int64_t captures = 0;
  std::int64_t samples = 0;
  std::int64_t bytes = 0;  ///< payload (what max_bytes limits)
  std::int64_t windows = 0;
  std::int64_t file_bytes = 0;              ///< database + WAL file size on disk
  std::int64_t oldest_created_wall_ns = 0;  ///< 0 when empty
  std::int64_t newest_created_wall_ns = 0;
  std::int64_t max_id = 0;           ///< highest id ever assigned (0: none yet)
  std::vector<LabelStats> by_label;  ///< sorted by label, then device
};

struct StoreCounters {
  std::uint64_t appended = 0;      ///< append() calls that committed
  std::uint64_t rejected = 0;      ///< append() calls refused by validation or the size limit
  std::uint64_t evicted = 0;       ///< captures deleted by retention
  std::uint64_t storage_full = 0;  ///< append() calls that threw StorageFullError
};

struct IntegrityReport {
  bool ok = true;
  std::vector<std::string> problems;  ///< empty when ok
};

class CaptureStore {
 public:
  static constexpr int kSchemaVersion = 1;

  /// Opens (creating it unless read_only) and migrates the store. Throws CaptureError naming the
  /// file and the reason (cannot open, not WAL-capable, newer schema, ...).
  explicit CaptureStore(const std::filesystem::path& path, StoreOptions opt = {});
  ~CaptureStore();
  CaptureStore(const CaptureStore&) = delete;
  CaptureStore& operator=(const CaptureStore&) = delete;

  /// Validates, inserts, applies retention and commits; returns the new id once the commit has
  /// returned (durable as stated above). Sets created_wall_ns from the wall clock. Throws
  /// (nothing written, transaction rolled back) StorageFullError when the storage is full, and
  /// CaptureError on invalid input, a capture larger than max_bytes, a read-only store or another
  /// SQLite failure. Errors name the file.
  std::int64_t append(const CaptureRecord& r);
  /// All of `rs` in ONE transaction, or none of them (an import: a file is stored whole or not
  /// at all). Every record is validated first; retention runs once, after the inserts, and never
  /// evicts a record of this call (their total must fit max_bytes, else nothing is written).
  /// Returns the new ids in order. Throws like append(), naming the record's index.
  std::vector<std::int64_t> append_all(const std::vector<CaptureRecord>& rs);

  /// Metadata of the matching captures (no data).
  [[nodiscard]] std::vector<CaptureInfo> list(const CaptureFilter& f = {}) const;
  /// The full capture, or nullopt if there is none with this id. Throws CaptureError if its data
  /// fails the checksum.
  [[nodiscard]] std::optional<CaptureRecord> get(std::int64_t id) const;
  /// Calls fn for each matching capture (with data, checksums verified) from one consistent
  /// snapshot; memory use is one capture at a time. fn must not call this store.
  void for_each(const CaptureFilter& f, const std::function<void(const CaptureRecord&)>& fn) const;

  /// Runs fn inside one read transaction: every read fn makes on this store sees the same
  /// snapshot, whatever other connections commit meanwhile. fn must not write.
  void with_snapshot(const std::function<void()>& fn) const;

  /// Counts per (label, device) and overall; `windows` counts the windows of window_length
  /// samples every stride samples that fit inside each capture (0 if either is < 1).
  [[nodiscard]] StoreStats stats(int window_length = 0, int stride = 0) const;

  /// Deletes one capture; false if it did not exist.
  bool remove(std::int64_t id);
  /// Deletes every matching capture (limit and order are honoured); returns how many.
  std::int64_t remove_matching(const CaptureFilter& f);

  /// Applies the retention limits now (age limits need this when nothing is appended); returns
  /// the number of captures deleted.
  std::int64_t enforce_retention();

  /// PRAGMA integrity_check, the blob length and checksum of every capture, and the running
  /// totals against the table. Never throws for a damaged file; problems are reported.
  [[nodiscard]] IntegrityReport integrity_check() const;

  /// TEST ONLY: sets PRAGMA max_page_count on this connection (see StoreOptions); returns the
  /// limit now in force (SQLite never sets it below the database's current size).
  std::int64_t set_max_page_count(std::int64_t pages);

  [[nodiscard]] int schema_version() const;
  /// This connection's PRAGMA synchronous: 2 for kFull, 1 for kNormal.
  [[nodiscard]] int synchronous_level() const;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] const StoreCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const RetentionLimits& retention() const noexcept { return opt_.retention; }
  void set_retention(const RetentionLimits& r) noexcept { opt_.retention = r; }

 private:
  void exec(const char* sql) const;
  void migrate();
  /// append() after validation: one write transaction (insert, retention, commit).
  std::int64_t insert_row(const CaptureRecord& r, const std::vector<unsigned char>& blob,
                          const std::string& conversion);
  std::int64_t insert_locked(const CaptureRecord& r, const std::vector<unsigned char>& blob,
                             const std::string& conversion);
  std::int64_t evict_locked();
  std::int64_t now_wall_ns() const;

  std::filesystem::path path_;
  StoreOptions opt_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  StoreCounters counters_{};
};

}  // namespace primus::capture
