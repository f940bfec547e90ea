// libFuzzer target: arbitrary bytes as the headers the web console checks (src/web/web_auth.h).
// The input is split on '\n' into Host, Origin, Authorization, Cookie and a flags byte. Checks:
//   - nothing throws or reads out of bounds (ASan/UBSan);
//   - with a token, kOk means the token really was given (by Bearer or the cookie);
//   - without a token, kOk means a loopback Host;
//   - a state-changing kOk had the request header, and its Origin (if any) named the Host.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "src/web/web_auth.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace primus::web;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> f;
  while (f.size() < 5) {
    const auto nl = in.find('\n');
    f.emplace_back(in.substr(0, nl));
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  f.resize(5);
  const unsigned flags = f[4].empty() ? 0u : static_cast<unsigned char>(f[4][0]);
  RequestFacts r;
  r.host = f[0];
  if (flags & 1) r.origin = f[1];
  if (flags & 2) r.authorization = f[2];
  if (flags & 4) r.cookie = f[3];
  r.has_request_header = flags & 8;
  r.state_changing = flags & 16;
  const std::string token = (flags & 32) ? "0123456789abcdef" : "";

  (void)cookie_value(f[3], kTokenCookie);
  (void)bearer_token(f[2]);
  (void)origin_host(f[1]);
  const Verdict v = check_request(token, r);
  if (v != Verdict::kOk) return 0;
  if (!token.empty()) {
    const auto b = r.authorization ? bearer_token(*r.authorization) : std::nullopt;
    const auto c = r.cookie ? cookie_value(*r.cookie, kTokenCookie) : std::nullopt;
    if (!(b && *b == token) && !(c && *c == token)) fail("accepted without the token");
  } else if (!is_loopback_host(r.host)) {
    fail("accepted a non-loopback Host without a token");
  }
  if (r.state_changing) {
    if (!r.has_request_header) fail("POST accepted without X-Primus-Request");
    if (r.origin && !origin_host(*r.origin)) fail("POST accepted with a malformed Origin");
  }
  return 0;
}
