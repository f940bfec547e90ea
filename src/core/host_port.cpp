#include "src/core/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace primus {

std::optional<HostPort> split_host_port(std::string_view s) {
  HostPort out;
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(s.substr(1, close - 1));
    out.bracketed = true;
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return std::nullopt;
      port = s.substr(close + 2);
      has_port = true;
    }
  } else {
    const auto colon = s.rfind(':');
    out.host = std::string(s.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = s.substr(colon + 1);
      has_port = true;
    }
  }
  if (has_port) {
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos)
      return std::nullopt;
    unsigned v = 0;
    for (const char c : port) v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(v);
  }
  return out;
}

bool is_numeric_address(const std::string& host, bool v6) {
  if (v6) {
    in6_addr a6{};
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1;
  }
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1;
}

}  // namespace primus
