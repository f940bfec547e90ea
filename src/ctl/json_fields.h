#pragma once
// Reading control replies defensively: a field that is missing, null or of another type reads as
// missing (the default), so a reply of an unexpected shape never throws from these. Pure
// functions; thread-safe.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace primus::ctl {

/// `j` as JSON text (`indent` < 0: one line); invalid UTF-8 is replaced, never thrown.
std::string dump(const nlohmann::json& j, int indent = -1);

/// j[key] when `j` is an object holding a non-null `key`, else nullptr.
const nlohmann::json* field(const nlohmann::json& j, const char* key);

/// j[key] as a number, else `def`.
double num(const nlohmann::json& j, const char* key, double def = 0);

/// j[key] as an integer (a float is truncated), else `def`.
std::int64_t integer(const nlohmann::json& j, const char* key, std::int64_t def = 0);

/// j[key] as text: strings as they are, numbers and others as JSON, missing as `def`.
std::string text(const nlohmann::json& j, const char* key, const std::string& def = "-");

/// j[key] when it is an object, else an empty object.
const nlohmann::json& sub(const nlohmann::json& j, const char* key);

/// j[key] when it is an array, else an empty array.
const nlohmann::json& list(const nlohmann::json& j, const char* key);

}  // namespace primus::ctl
