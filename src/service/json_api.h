#pragma once
// The service API in JSON: method names, parameter objects and results, as the control socket
// speaks them (docs/control.md) and as the web console and the MQTT bridge will. One table maps
// each method to a reader of its params and a Service call, so every JSON front end shares the
// same names, type checks and messages.
//
// Parameter rules: a missing required key, a value of the wrong JSON type or out of range is
// invalid_params with a message that names the key and the value, e.g.
// `"version" = 4294967296: must be an integer in 0..2147483647`. Integers are read as the 64-bit
// value they claim to be (never wrapped), numbers must be finite. Unknown keys are ignored (older
// clients and newer servers stay compatible).
//
// Threads: call_json runs on the caller's thread and returns at once; `done` runs as Service
// says.
#include <string>
#include <vector>

#include "src/service/service.h"

namespace primus::service {

/// Validate `params` (a JSON object) for `method` and call it on `svc`. An unknown method or bad
/// params answer `done` at once with the error (unknown methods: kNotFound is NOT used; see
/// is_method()).
void call_json(Service& svc, const std::string& method, const nlohmann::json& params, Done done);

/// Whether `method` is one of json_methods().
[[nodiscard]] bool is_method(const std::string& method);
/// Every method name, sorted.
[[nodiscard]] std::vector<std::string> json_methods();

// Readers shared by the method table and its tests. Each throws ServiceError(kInvalidParams)
// naming `key`.
[[nodiscard]] std::string str_param(const nlohmann::json& p, const char* key);
[[nodiscard]] std::optional<std::string> opt_str_param(const nlohmann::json& p, const char* key);
[[nodiscard]] bool opt_bool_param(const nlohmann::json& p, const char* key, bool fallback);
/// A JSON integer in [lo, hi] (no fractional part, no wrap: 2^64-1 is out of range).
[[nodiscard]] std::int64_t int_param(const nlohmann::json& p, const char* key, std::int64_t lo,
                                     std::int64_t hi);
/// A finite JSON number in [lo, hi].
[[nodiscard]] double num_param(const nlohmann::json& p, const char* key, double lo, double hi);

}  // namespace primus::service
