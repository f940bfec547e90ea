#pragma once
// The human-readable form of control replies that primusctl prints (docs/control.md lists the
// methods and their results). Pure functions of their arguments; thread-safe.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace primus::ctl {

/// The human form of `method`'s result (exposed for tests). Methods it does not know and results
/// of an unexpected shape come out as indented JSON. `now_host_ns` (CLOCK_MONOTONIC of the
/// daemon's host; 0 = unknown) turns host timestamps into ages.
std::string format_result(const std::string& method, const nlohmann::json& result,
                          std::int64_t now_host_ns = 0);

}  // namespace primus::ctl
