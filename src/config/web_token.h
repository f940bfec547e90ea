#pragma once
// The rule for a web console token, shared by the loader (web.token) and the console
// (web.token_file, read at start).
#include <string>

namespace primus {

/// Why `token` cannot be a web.token (it travels in an HTTP header and a cookie: 16..256
/// printable ASCII characters without spaces, quotes, ';', ',' or '\\'), e.g. "must be 16..256
/// characters long"; empty when it can.
[[nodiscard]] std::string web_token_problem(const std::string& token);

}  // namespace primus
