#pragma once
// Small RAII helpers over SQLite's C API for the capture store (private to src/capture): a
// prepared statement, a write transaction, and the mapping of SQLite failures to CaptureError
// and StorageFullError (a full disk, or the store's page limit, is the environment, not a bug).
// Same thread contract as the connection they use (one thread at a time).
#include <sqlite3.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "src/capture/capture_store.h"

namespace primus::capture::sqlite_util {

/// Whether the last failure on db was a full storage: SQLITE_FULL (a write hit ENOSPC, or
/// max_page_count), or an I/O error whose system errno says the file system or quota is full
/// (e.g. growing the -shm file).
inline bool storage_full(sqlite3* db) {
  if (db == nullptr) return false;
  const int rc = sqlite3_extended_errcode(db) & 0xff;
  if (rc == SQLITE_FULL) return true;
  if (rc != SQLITE_IOERR) return false;
  const int err = sqlite3_system_errno(db);
  return err == ENOSPC || err == EDQUOT;
}

[[noreturn]] inline void fail(sqlite3* db, const std::string& what) {
  const std::string message =
      what + ": " + (db != nullptr ? sqlite3_errmsg(db) : std::string("out of memory"));
  if (storage_full(db)) throw StorageFullError(message);
  throw CaptureError(message);
}

/// RAII prepared statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK) {
      fail(db, "prepare \"" + sql.substr(0, 60) + "\"");
    }
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  /// true: a row is ready; false: done. Throws on error.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, "step");
  }
  sqlite3_stmt* get() const noexcept { return s_; }
  std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  double f64(int col) const { return sqlite3_column_double(s_, col); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p),
                                      static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
                        : std::string();
  }
  void bind(int i, std::int64_t v) { check(sqlite3_bind_int64(s_, i, v)); }
  void bind(int i, const std::string& v) {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail(db_, "bind");
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

/// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed. After SQLITE_FULL or an I/O error
/// SQLite may already have rolled the transaction back itself; the destructor rolls back only
/// what is still open, so the connection is always back in autocommit mode afterwards.
class WriteTxn {
 public:
  explicit WriteTxn(sqlite3* db) : db_(db) { run("BEGIN IMMEDIATE"); }
  ~WriteTxn() {
    if (!done_ && sqlite3_get_autocommit(db_) == 0) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;
  void commit() {
    run("COMMIT");
    done_ = true;
  }

 private:
  void run(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db_, sql);
  }
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace primus::capture::sqlite_util
