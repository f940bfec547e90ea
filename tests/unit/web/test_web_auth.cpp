// The web console's access rules (src/web/web_auth.h) from tables: tokens by header or cookie,
// loopback Host checks without a token (DNS rebinding), and the CSRF rules for POST.
#include <gtest/gtest.h>

#include "src/web/web_auth.h"

namespace primus::web {
namespace {

const std::string kToken = "0123456789abcdef-secret";

TEST(WebAuth, CookieValuesAreFoundAmongOthers) {
  EXPECT_EQ(cookie_value("primusd_token=abc", kTokenCookie), "abc");
  EXPECT_EQ(cookie_value("a=1; primusd_token=abc; b=2", kTokenCookie), "abc");
  EXPECT_EQ(cookie_value("a=1;primusd_token=\"abc\"", kTokenCookie), "abc");
  EXPECT_EQ(cookie_value("xprimusd_token=abc", kTokenCookie), std::nullopt);
  EXPECT_EQ(cookie_value("primusd_token", kTokenCookie), std::nullopt);
  EXPECT_EQ(cookie_value("", kTokenCookie), std::nullopt);
  EXPECT_EQ(cookie_value(";;; =; primusd_token=", kTokenCookie), "");
}

TEST(WebAuth, BearerTokens) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc  "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer "), std::nullopt);
}

TEST(WebAuth, LoopbackHosts) {
  for (const char* h : {"127.0.0.1:8321", "127.0.0.1", "localhost:80", "LOCALHOST", "[::1]:8321",
                        "[::1]", "127.1.2.3:1"})
    EXPECT_TRUE(is_loopback_host(h)) << h;
  for (const char* h :
       {"", "evil.example:8321", "127.0.0.1.evil.example", "localhost.evil:80", "10.0.0.1:8321",
        "[::2]:80", "127.0.0.1:abc", "127.0.0.1:123456", "[::1", "127.0.0:80", "0.0.0.0:8321"})
    EXPECT_FALSE(is_loopback_host(h)) << h;
}

TEST(WebAuth, OriginHosts) {
  EXPECT_EQ(origin_host("http://127.0.0.1:8321"), "127.0.0.1:8321");
  EXPECT_EQ(origin_host("https://Console.Example"), "console.example");
  EXPECT_EQ(origin_host("null"), std::nullopt);
  EXPECT_EQ(origin_host("http://a/b"), std::nullopt);
  EXPECT_EQ(origin_host("http://user@host"), std::nullopt);
  EXPECT_EQ(origin_host("ftp://host"), std::nullopt);
  EXPECT_EQ(origin_host("http://"), std::nullopt);
}

TEST(WebAuth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

struct Row {
  const char* what;
  std::string token;
  RequestFacts facts;
  Verdict want;
};

TEST(WebAuth, RequestsFromTable) {
  const auto get = [](std::string host) {
    RequestFacts f;
    f.host = std::move(host);
    return f;
  };
  const auto post = [](std::string host, std::optional<std::string> origin, bool header) {
    RequestFacts f;
    f.host = std::move(host);
    f.origin = std::move(origin);
    f.has_request_header = header;
    f.state_changing = true;
    return f;
  };
  auto with_bearer = [](RequestFacts f, std::string t) {
    f.authorization = "Bearer " + t;
    return f;
  };
  auto with_cookie = [](RequestFacts f, std::string t) {
    f.cookie = "theme=dark; primusd_token=" + t;
    return f;
  };
  const std::vector<Row> rows{
      // No token: loopback Hosts only.
      {"loopback get", "", get("127.0.0.1:8321"), Verdict::kOk},
      {"rebound host", "", get("evil.example:8321"), Verdict::kBadHost},
      {"loopback post", "", post("127.0.0.1:8321", "http://127.0.0.1:8321", true), Verdict::kOk},
      {"post without origin (curl)", "", post("localhost:8321", std::nullopt, true), Verdict::kOk},
      {"post without header", "", post("127.0.0.1:8321", std::nullopt, false),
       Verdict::kMissingHeader},
      {"cross-site post", "", post("127.0.0.1:8321", "http://evil.example", true),
       Verdict::kBadOrigin},
      {"post from another port", "", post("127.0.0.1:8321", "http://127.0.0.1:9999", true),
       Verdict::kBadOrigin},
      {"opaque origin", "", post("127.0.0.1:8321", "null", true), Verdict::kBadOrigin},
      // A token: any Host, but the token by header or cookie.
      {"no token given", kToken, get("console.lan:8321"), Verdict::kUnauthorized},
      {"bearer", kToken, with_bearer(get("console.lan:8321"), kToken), Verdict::kOk},
      {"wrong bearer", kToken, with_bearer(get("console.lan:8321"), kToken + "x"),
       Verdict::kUnauthorized},
      {"cookie", kToken, with_cookie(get("console.lan:8321"), kToken), Verdict::kOk},
      {"wrong cookie", kToken, with_cookie(get("console.lan:8321"), "nope"),
       Verdict::kUnauthorized},
      {"loopback still needs it", kToken, get("127.0.0.1:8321"), Verdict::kUnauthorized},
      {"cookie post, same origin", kToken,
       with_cookie(post("console.lan:8321", "https://console.lan:8321", true), kToken),
       Verdict::kOk},
      {"cookie post, cross origin", kToken,
       with_cookie(post("console.lan:8321", "https://evil.example", true), kToken),
       Verdict::kBadOrigin},
      {"cookie post, no header", kToken,
       with_cookie(post("console.lan:8321", std::nullopt, false), kToken), Verdict::kMissingHeader},
      {"bad token beats bad origin", kToken, post("console.lan:8321", "http://evil", true),
       Verdict::kUnauthorized},
  };
  for (const auto& r : rows) EXPECT_EQ(check_request(r.token, r.facts), r.want) << r.what;
}

}  // namespace
}  // namespace primus::web
