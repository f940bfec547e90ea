#include "src/web/web_auth.h"

#include <cctype>

namespace primus::web {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

/// "h:p" / "h" / "[v6]:p" -> the host part, lower-cased.
std::string host_part(std::string_view hp) {
  std::string_view h = hp;
  if (!h.empty() && h.front() == '[') {
    const auto close = h.find(']');
    h = close == std::string_view::npos ? std::string_view{} : h.substr(0, close + 1);
  } else if (const auto colon = h.rfind(':'); colon != std::string_view::npos) {
    h = h.substr(0, colon);
  }
  std::string out(h);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_port_suffix(std::string_view hp) {
  std::size_t colon = std::string_view::npos;
  if (!hp.empty() && hp.front() == '[') {
    const auto close = hp.find(']');
    if (close == std::string_view::npos) return false;
    if (close + 1 == hp.size()) return true;
    if (hp[close + 1] != ':') return false;
    colon = close + 1;
  } else {
    colon = hp.rfind(':');
    if (colon == std::string_view::npos) return true;
  }
  const auto port = hp.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  for (const char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const auto pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    auto v = trim(pair.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

std::optional<std::string> bearer_token(std::string_view authorization) {
  const auto a = trim(authorization);
  const auto sp = a.find(' ');
  if (sp == std::string_view::npos || !iequals(a.substr(0, sp), "bearer")) return std::nullopt;
  const auto t = trim(a.substr(sp + 1));
  if (t.empty()) return std::nullopt;
  return std::string(t);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  return diff == 0;
}

bool is_loopback_host(std::string_view host) {
  host = trim(host);
  if (host.empty() || !valid_port_suffix(host)) return false;
  const auto h = host_part(host);
  if (h == "localhost" || h == "[::1]") return true;
  if (h.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (const char c : h) {
    if (c == '.')
      ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dots == 3;
}

std::optional<std::string> origin_host(std::string_view origin) {
  origin = trim(origin);
  std::string_view rest;
  if (origin.rfind("http://", 0) == 0)
    rest = origin.substr(7);
  else if (origin.rfind("https://", 0) == 0)
    rest = origin.substr(8);
  else
    return std::nullopt;
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) return std::nullopt;
  if (!valid_port_suffix(rest)) return std::nullopt;
  std::string out(rest);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kUnauthorized:
      return "unauthorized: a token is required (Authorization: Bearer, or log in)";
    case Verdict::kBadHost:
      return "forbidden: the Host header is not a loopback address";
    case Verdict::kBadOrigin:
      return "forbidden: cross-origin request";
    case Verdict::kMissingHeader:
      return "forbidden: state-changing requests need the X-Primus-Request: 1 header";
  }
  return "?";
}

Verdict check_request(const std::string& token, const RequestFacts& r) {
  if (token.empty()) {
    if (!is_loopback_host(r.host)) return Verdict::kBadHost;
  } else {
    std::optional<std::string> given;
    if (r.authorization) given = bearer_token(*r.authorization);
    if (!given && r.cookie) given = cookie_value(*r.cookie, kTokenCookie);
    if (!given || !constant_time_equal(*given, token)) return Verdict::kUnauthorized;
  }
  if (r.state_changing) {
    if (!r.has_request_header) return Verdict::kMissingHeader;
    if (r.origin) {
      std::string host(trim(r.host));
      for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const auto oh = origin_host(*r.origin);
      if (!oh || *oh != host) return Verdict::kBadOrigin;
    }
  }
  return Verdict::kOk;
}

}  // namespace primus::web
