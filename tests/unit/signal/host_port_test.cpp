#include "src/core/host_port.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace primus {
namespace {

struct Split {
  const char* text;
  bool ok;
  const char* host;
  std::optional<int> port;
  bool bracketed;
};

TEST(HostPort, SplitsTheForms) {
  const Split cases[] = {
      {"0.0.0.0:9000", true, "0.0.0.0", 9000, false},
      {"127.0.0.1", true, "127.0.0.1", std::nullopt, false},
      {"[::]:9100", true, "::", 9100, true},
      {"[::1]", true, "::1", std::nullopt, true},
      {"1.2.3.4:0", true, "1.2.3.4", 0, false},
      {"1.2.3.4:65535", true, "1.2.3.4", 65535, false},
      {"1.2.3.4:00080", true, "1.2.3.4", 80, false},
      {"localhost:9000", true, "localhost", 9000, false},  // host not checked here
      {"::1", true, ":", 1, false},                        // unbracketed v6: last colon
      {"1.2.3.4:", false, "", std::nullopt, false},
      {"1.2.3.4:65536", false, "", std::nullopt, false},
      {"1.2.3.4:123456", false, "", std::nullopt, false},
      {"1.2.3.4:80x", false, "", std::nullopt, false},
      {"1.2.3.4:-1", false, "", std::nullopt, false},
      {"1.2.3.4: 80", false, "", std::nullopt, false},
      {"[::1", false, "", std::nullopt, false},
      {"[::1]x", false, "", std::nullopt, false},
      {"[::1]:", false, "", std::nullopt, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const auto hp = split_host_port(c.text);
    ASSERT_EQ(hp.has_value(), c.ok);
    if (!hp) continue;
    EXPECT_EQ(hp->host, c.host);
    EXPECT_EQ(hp->bracketed, c.bracketed);
    ASSERT_EQ(hp->port.has_value(), c.port.has_value());
    if (c.port) {
      EXPECT_EQ(*hp->port, *c.port);
    }
  }
}

TEST(HostPort, NumericAddresses) {
  EXPECT_TRUE(is_numeric_address("192.0.2.1", false));
  EXPECT_FALSE(is_numeric_address("phone.local", false));
  EXPECT_FALSE(is_numeric_address("::1", false));
  EXPECT_TRUE(is_numeric_address("::1", true));
  EXPECT_TRUE(is_numeric_address("::", true));
  EXPECT_FALSE(is_numeric_address("192.0.2.1", true));
  EXPECT_FALSE(is_numeric_address("", false));
}

}  // namespace
}  // namespace primus
