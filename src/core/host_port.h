#pragma once
// "HOST:PORT" text, as written in the configuration (devices[].udp_bind, devices[].udp_sender)
// and read again by the UDP adapter: one grammar for both, std only.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace primus {

struct HostPort {
  std::string host;                   ///< without the brackets of "[V6]"; not checked
  std::optional<std::uint16_t> port;  ///< absent when the text names none; 0 is kept as 0
  bool bracketed = false;             ///< written "[HOST]" (an IPv6 address)
};

/// Splits "HOST:PORT", "[V6]:PORT", "HOST" or "[V6]" (the last colon separates an unbracketed
/// port). PORT is 1..5 decimal digits with a value of at most 65535. Returns nullopt for an
/// unclosed '[', anything but ":PORT" after ']', an empty or non-numeric port, or one > 65535.
/// Pure function; thread-safe.
std::optional<HostPort> split_host_port(std::string_view text);

/// A numeric IPv4 address ("192.0.2.1"), or with `v6` a numeric IPv6 address ("::1", no
/// brackets), as inet_pton(3) reads them.
bool is_numeric_address(const std::string& host, bool v6);

}  // namespace primus
