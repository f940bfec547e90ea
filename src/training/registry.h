#pragma once
// The model registry: versioned classifier files under one directory.
//
//   <dir>/<n>/model.safetensors   the classifier (encoder + head + metadata, docs/model.md)
//   <dir>/<n>/meta.json           {"version","status","labels","mode","parent","created_wall_ns",
//                                  "metrics","data","reason"}
//   <dir>/active                  the active version number ("0" = the configured base model)
//
// Crash safety: a version is written into <dir>/.tmp-<n>-<pid>/, both files fsynced, the
// directory fsynced, then renamed to <dir>/<n> and <dir> fsynced: after kill -9 or power loss a
// version directory is complete or absent. Leftover .tmp-* directories are removed on open.
// `active` is replaced the same way (temporary file, fsync, rename, fsync dir). A version whose
// files do not load is reported by list() with status "broken" and cannot be activated.
//
// Version 0 is the base model from the configuration (model.weights, or random weights); it has
// no directory. Numbers are never reused: the next version is max(existing, highest ever) + 1,
// the highest kept in <dir>/next.
//
// Threads: every method is thread-safe (one mutex); file I/O happens under it, so call it from
// threads that may wait on the disk (the trainer, a loader), not from the io thread's hot path.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace primus::training {

struct VersionInfo {
  int version = 0;
  std::string status;  ///< "accepted" | "rejected" | "broken"
  nlohmann::json meta = nlohmann::json::object();
};

class ModelRegistry {
 public:
  /// Creates the directory if needed, removes leftover temporaries. Throws std::runtime_error
  /// naming the path when it cannot.
  explicit ModelRegistry(std::filesystem::path dir);

  /// Writes a new version: `write_model(path, version)` must write the classifier file at `path`
  /// (e.g. Classifier::save). meta gets "version" and "created_wall_ns" filled in. Returns the
  /// number, once the version is durable.
  int add(const std::function<void(const std::filesystem::path&, int)>& write_model,
          nlohmann::json meta);

  /// Makes `version` the one loaded at start-up (durable when this returns). 0 = base model.
  /// Throws std::invalid_argument when the version does not exist.
  void set_active(int version);
  /// The active version: the number in <dir>/active, 0 when there is none.
  [[nodiscard]] int active() const;

  /// Every version on disk, ascending; status from meta.json ("broken" when unreadable).
  [[nodiscard]] std::vector<VersionInfo> list() const;
  [[nodiscard]] std::optional<VersionInfo> get(int version) const;
  [[nodiscard]] std::filesystem::path model_path(int version) const;
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

  /// Removes the oldest versions beyond `keep`, never the active one. Returns how many.
  int prune(int keep);

 private:
  [[nodiscard]] std::optional<VersionInfo> read_locked(int version) const;
  int next_locked() const;

  std::filesystem::path dir_;
  mutable std::mutex mu_;
};

/// fsync a file or directory; throws std::runtime_error naming it.
void fsync_path(const std::filesystem::path& p, bool directory);
/// Writes `text` to `path` atomically and durably (temporary, fsync, rename, fsync dir).
void write_file_durably(const std::filesystem::path& path, const std::string& text);

}  // namespace primus::training
