#pragma once
// The daemon's service API: the one set of operations that every front end calls, the control
// socket (src/bus/control_server.h, JSON over ZeroMQ) today, the web console and the MQTT bridge
// tomorrow. Front ends only translate their wire format into these calls and the Result back
// (src/service/json_api.h does it for JSON); validation of values and the error codes live here
// and in the implementation (src/app/daemon_service.h), once.
//
// Calls are asynchronous: each takes a Done callback and returns at once. The callback runs
// exactly once, on whichever daemon thread finishes the work (the io thread, the capture writer,
// the trainer); it must not block and must be safe to call from any thread. Arguments are
// already-typed values; a front end that reads untyped input checks types and ranges first
// (json_api.h) and the implementation still checks every value it relies on.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "src/config/config.h"

namespace primus::service {

/// Why a call failed. The wire names (to_string) are the control API's codes (docs/control.md).
enum class Errc {
  kInvalidParams,  ///< a parameter is missing, of the wrong type or out of range (named)
  kNotFound,       ///< no such device, version, ...
  kConflict,       ///< the state does not allow it now (already labelling, job running, ...)
  kBusy,           ///< a queue is full; try again
  kUnavailable,    ///< the part is disabled, the daemon is stopping, storage is full, ...
  kTimeout,
  kInternal,  ///< a bug: the message says what broke
};
[[nodiscard]] const char* to_string(Errc c) noexcept;

struct Error {
  Errc code = Errc::kInternal;
  std::string message;
};

/// Thrown by validation helpers and caught by the call that ran them; never crosses Done.
class ServiceError : public std::runtime_error {
 public:
  ServiceError(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

/// A call's outcome: a JSON result (the documented result object of the method), or an error.
struct Result {
  nlohmann::json value;
  std::optional<Error> error;

  static Result ok(nlohmann::json v) { return {std::move(v), std::nullopt}; }
  static Result fail(Errc c, std::string message) {
    return {nullptr, Error{c, std::move(message)}};
  }
  [[nodiscard]] bool is_ok() const noexcept { return !error.has_value(); }
};

using Done = std::function<void(Result)>;

/// label.mark: either `last_s` (the last seconds up to now) or an explicit host-time span.
struct MarkSpan {
  std::optional<double> last_s;              ///< > 0, finite
  std::optional<std::int64_t> from_host_ns;  ///< CLOCK_MONOTONIC ns, >= 0
  std::optional<std::int64_t> to_host_ns;    ///< > from_host_ns
};

/// captures.list and captures.delete: which captures. Empty fields match everything.
struct CaptureSelector {
  std::optional<std::int64_t> id;     ///< one capture (>= 1)
  std::optional<std::string> label;   ///< every capture of this label
  std::optional<std::string> device;  ///< only this device's
};

class Service {
 public:
  virtual ~Service() = default;

  /// The status message's body (docs/events.md "status").
  virtual void status(Done done) = 0;
  virtual void devices(Done done) = 0;
  /// Re-read the configuration file and apply its live keys (as SIGHUP).
  virtual void reload(Done done) = 0;

  virtual void label_start(const std::string& device, const std::string& label, Done done) = 0;
  virtual void label_stop(const std::string& device, Done done) = 0;
  virtual void label_mark(const std::string& device, const std::string& label, MarkSpan span,
                          Done done) = 0;
  virtual void labels(Done done) = 0;
  virtual void capture_stats(Done done) = 0;
  /// The newest `limit` (1..10000) matching captures, newest first, without their samples.
  virtual void captures_list(CaptureSelector which, std::int64_t limit, Done done) = 0;
  /// Delete the matching captures (an id, or a label, optionally on one device; never "all" by
  /// omission). Durable once done answers {"deleted": n}, in one transaction.
  virtual void captures_delete(CaptureSelector which, Done done) = 0;

  /// Queue a fine-tune (mode empty: training.mode). With `wait`, done runs when it has finished;
  /// otherwise as soon as it is queued.
  virtual void finetune_run(std::optional<FinetuneMode> mode, bool wait, Done done) = 0;
  virtual void finetune_status(Done done) = 0;
  virtual void models_list(Done done) = 0;
  /// version: 0 (the base model) .. kMaxModelVersion. Rejected versions need `force`.
  virtual void models_activate(std::int64_t version, bool force, Done done) = 0;
  /// To `version`, or (empty) the parent of the live version.
  virtual void models_rollback(std::optional<std::int64_t> version, Done done) = 0;
};

/// Registry version numbers are 32-bit signed on disk and in the registry.
inline constexpr std::int64_t kMaxModelVersion = 2147483647;

/// Checks a gesture label: 1..64 bytes of valid UTF-8 with no control characters (C0, DEL, C1),
/// no format or invisible characters (bidi overrides and isolates, zero-width characters, BOM,
/// soft hyphen, ...), no line or paragraph separators and no private-use or noncharacter code
/// points, since labels become topic names, MQTT topics and Home Assistant ids. Throws
/// ServiceError(kInvalidParams) naming the offending code point (e.g. "U+202E") and its byte
/// offset.
void check_label(const std::string& label);

}  // namespace primus::service
