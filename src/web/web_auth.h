#pragma once
// Who may use the web console, decided per request from its headers (docs/web.md "Security").
// Pure functions, no I/O: unit-tested from tables and fuzzed (tests/fuzz/fuzz_web_auth.cpp).
//
// The rules:
// - With a token (web.token / web.token_file), every /api request carries it, either as
//   `Authorization: Bearer <token>` or as the `primusd_token` cookie that POST /api/login sets
//   (HttpOnly, SameSite=Strict). Compared in constant time; never logged.
// - Without a token (loopback only; the loader refuses anything else), the Host header must name
//   a loopback host, so a page on another site cannot reach the console through DNS rebinding.
// - State-changing requests (POST) are CSRF-safe: they must carry `X-Primus-Request: 1` (a header
//   a cross-site form cannot send, and fetch() cannot without a CORS preflight, which the console
//   never grants) and, when the browser sends Origin, its host must equal the Host header.
#include <optional>
#include <string>
#include <string_view>

namespace primus::web {

inline constexpr std::string_view kTokenCookie = "primusd_token";
inline constexpr std::string_view kRequestHeader = "X-Primus-Request";

/// The value of cookie `name` in a Cookie header ("a=1; primusd_token=xyz"), or nullopt.
[[nodiscard]] std::optional<std::string> cookie_value(std::string_view header,
                                                      std::string_view name);
/// "Bearer <token>" (scheme case-insensitive) -> the token, or nullopt.
[[nodiscard]] std::optional<std::string> bearer_token(std::string_view authorization);
/// a == b without an early exit on the first difference (the length is not secret).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;
/// A Host header naming loopback: 127.x.y.z, localhost or [::1], with or without ":port".
[[nodiscard]] bool is_loopback_host(std::string_view host);
/// "http://h:p" or "https://h:p" (no path) -> "h:p"; nullopt when malformed or "null".
[[nodiscard]] std::optional<std::string> origin_host(std::string_view origin);

/// What a request says about itself (absent headers are nullopt).
struct RequestFacts {
  std::string host;
  std::optional<std::string> origin;
  std::optional<std::string> authorization;
  std::optional<std::string> cookie;
  bool has_request_header = false;  ///< X-Primus-Request: 1
  bool state_changing = false;      ///< POST
};

enum class Verdict {
  kOk,
  kUnauthorized,   ///< 401: token missing or wrong
  kBadHost,        ///< 403: no token and the Host is not loopback (DNS rebinding)
  kBadOrigin,      ///< 403: cross-origin state-changing request
  kMissingHeader,  ///< 403: state-changing request without X-Primus-Request
};
[[nodiscard]] const char* to_string(Verdict v) noexcept;

/// `token` empty: no token configured.
[[nodiscard]] Verdict check_request(const std::string& token, const RequestFacts& r);

}  // namespace primus::web
