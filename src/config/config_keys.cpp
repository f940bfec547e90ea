#include "src/config/config_keys.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <system_error>

namespace primus::config_detail {

void fail(const std::string& path, const std::string& value, const std::string& why) {
  throw ConfigError(path + " = " + value + ": " + why);
}

std::string quote(const std::string& s) { return "\"" + s + "\""; }

std::string render(const toml::node& n) {
  std::ostringstream os;
  if (auto s = n.as_string()) {
    os << quote(s->get());
  } else if (n.is_table()) {
    os << "{...}";
  } else if (n.is_array()) {
    os << "[...]";
  } else {
    n.visit([&](const auto& v) { os << v; });
  }
  return os.str();
}

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// ---- Ctx ----------------------------------------------------------------------------------------

std::string Ctx::elem(std::size_t i) const { return path_ + "[" + std::to_string(i) + "]"; }

void Ctx::fail(const std::string& value, const std::string& why) const {
  config_detail::fail(path_, value, why);
}

void Ctx::at_least(std::int64_t v, std::int64_t lo) const {
  if (v < lo) fail(std::to_string(v), "must be >= " + std::to_string(lo));
}

void Ctx::in_range(std::int64_t v, std::int64_t lo, std::int64_t hi) const {
  if (v < lo || v > hi)
    fail(std::to_string(v), "must be in " + std::to_string(lo) + ".." + std::to_string(hi));
}

void Ctx::resolve(std::string& p) const {
  if (!p.empty() && !base_.empty() && std::filesystem::path(p).is_relative())
    p = (base_ / p).lexically_normal().string();
}

void Ctx::require_file(const std::string& p) const {
  // The error_code overload: a symlink loop or an unreadable folder must name this key, not
  // escape as a std::filesystem::filesystem_error.
  std::error_code ec;
  const bool there = std::filesystem::exists(p, ec);
  if (ec) fail(quote(p), ec.message());
  if (!there) fail(quote(p), "file does not exist");
}

// ---- reading TOML values ------------------------------------------------------------------------

void read_value(const toml::node& n, const std::string& path, std::string& out) {
  auto v = n.value<std::string>();
  if (!n.is_string() || !v) fail(path, render(n), "must be a string");
  out = *v;
}

void read_value(const toml::node& n, const std::string& path, bool& out) {
  if (!n.is_boolean()) fail(path, render(n), "must be true or false");
  out = *n.value<bool>();
}

void read_value(const toml::node& n, const std::string& path, int& out) {
  if (!n.is_integer()) fail(path, render(n), "must be an integer");
  const auto v = *n.value<std::int64_t>();
  if (v < INT32_MIN || v > INT32_MAX) fail(path, render(n), "out of range");
  out = static_cast<int>(v);
}

void read_value(const toml::node& n, const std::string& path, std::int64_t& out) {
  if (!n.is_integer()) fail(path, render(n), "must be an integer");
  out = *n.value<std::int64_t>();
}

void read_value(const toml::node& n, const std::string& path, std::uint64_t& out) {
  if (!n.is_integer() || *n.value<std::int64_t>() < 0)
    fail(path, render(n), "must be a non-negative integer");
  out = static_cast<std::uint64_t>(*n.value<std::int64_t>());
}

void read_value(const toml::node& n, const std::string& path, double& out) {
  if (!n.is_number()) fail(path, render(n), "must be a number");
  out = *n.value<double>();
  if (!std::isfinite(out)) fail(path, render(n), "must be finite");
}

void read_value(const toml::node& n, const std::string& path, std::vector<std::string>& out) {
  auto* arr = n.as_array();
  if (!arr) fail(path, render(n), "must be an array of strings");
  out.clear();
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto& e = *arr->get(i);
    if (!e.is_string()) fail(path + "[" + std::to_string(i) + "]", render(e), "must be a string");
    out.push_back(*e.value<std::string>());
  }
}

void read_value(const toml::node& n, const std::string& path, AxisMap& out) {
  std::vector<std::string> v;
  read_value(n, path, v);
  if (v.size() != 3) fail(path, "[...]", "must list 3 axes, e.g. [\"x\", \"-z\", \"y\"]");
  AxisMap m;
  std::array<bool, 3> used{};
  for (std::size_t i = 0; i < 3; ++i) {
    std::string s = v[i];
    int sign = 1;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
      sign = s[0] == '-' ? -1 : 1;
      s = s.substr(1);
    }
    const std::string at = path + "[" + std::to_string(i) + "]";
    if (s != "x" && s != "y" && s != "z")
      fail(at, quote(v[i]), "must be x, y or z with an optional sign");
    const auto axis = static_cast<std::size_t>(s[0] - 'x');
    if (used[axis]) fail(at, quote(v[i]), "axis used twice");
    used[axis] = true;
    m.perm[i] = static_cast<int>(axis);
    m.sign[i] = sign;
  }
  out = m;
}

// ---- diff lines ---------------------------------------------------------------------------------

std::string show_value(const std::string& v) { return quote(v); }
std::string show_value(bool v) { return v ? "true" : "false"; }
std::string show_value(double v) { return num(v); }

std::string show_value(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + quote(v[i]);
  return out + "]";
}

std::string show_value(const AxisMap& v) {
  std::vector<std::string> axes;
  for (std::size_t i = 0; i < 3; ++i)
    axes.push_back((v.sign[i] < 0 ? "-" : "") + std::string(1, static_cast<char>('x' + v.perm[i])));
  return show_value(axes);
}

// ---- other values (tests) -----------------------------------------------------------------------

void change_value(std::string& v) { v += "x"; }
void change_value(bool& v) { v = !v; }
void change_value(int& v) { v = v == INT32_MAX ? 0 : v + 1; }
void change_value(std::int64_t& v) { v = v == INT64_MAX ? 0 : v + 1; }
void change_value(std::uint64_t& v) { v = v + 1; }
void change_value(double& v) { v = v + 1.0; }
void change_value(std::vector<std::string>& v) { v.push_back("x"); }
void change_value(AxisMap& v) { v.sign[0] = -v.sign[0]; }

}  // namespace primus::config_detail
