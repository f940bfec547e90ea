#pragma once
// Reading one control API request body (the protocol is in src/bus/control_server.h and
// docs/control.md). Kept apart from the ZeroMQ transport so that it can be tested and fuzzed from
// plain sources (nlohmann json only).
//
// Checks, in this order; the first that fails gives a bad_request with the message shown:
//   size     body larger than max_request_bytes  "request of N bytes is larger than M ..."
//   depth    arrays/objects nested deeper than kMaxRequestDepth (counted without parsing, so a
//            hostile body never reaches the recursive parts of the JSON library)
//   JSON     not JSON ("request is not JSON: ...", also for any raw NUL byte, which the JSON
//            library would take for the end of the input), not an object ("... got <type>")
//   method   missing, or not a string (an empty string passes: it is an unknown method later)
//   params   present and not an object
// "id" is echoed as serialised JSON ("null" when absent or the body could not be read as an
// object); it is set as soon as the body is a JSON object, so the method/params errors carry it.
//
// Threads: pure; any thread.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace primus::bus {

/// The error codes of the protocol.
namespace control_code {
inline constexpr const char* kBadRequest = "bad_request";
inline constexpr const char* kUnknownMethod = "unknown_method";
inline constexpr const char* kInvalidParams = "invalid_params";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kConflict = "conflict";
inline constexpr const char* kBusy = "busy";
inline constexpr const char* kUnavailable = "unavailable";
inline constexpr const char* kTimeout = "timeout";
inline constexpr const char* kInternal = "internal";
}  // namespace control_code

/// Deepest nesting of arrays and objects a request may have.
inline constexpr int kMaxRequestDepth = 64;

/// A request body, read. When ok(): method is the "method" string (possibly empty) and params an
/// object ({} when absent). Otherwise error_code/error_message say why (error_code is always
/// bad_request) and id_json is what the error reply echoes.
struct ParsedRequest {
  std::string id_json = "null";  ///< "id" serialised (invalid UTF-8 replaced), "null" if none
  std::string method;
  nlohmann::json params = nlohmann::json::object();
  std::string error_code;
  std::string error_message;
  [[nodiscard]] bool ok() const { return error_code.empty(); }
};

/// Reads one request body (see above); a negative max_request_bytes refuses every body. Never
/// throws for any input except std::bad_alloc.
[[nodiscard]] ParsedRequest parse_control_request(std::string_view body, int max_request_bytes);

/// The deepest nesting of arrays and objects in a JSON text (strings skipped), without parsing.
/// Exact for valid JSON; unbalanced closers count down.
[[nodiscard]] int json_nesting_depth(std::string_view s);

}  // namespace primus::bus
