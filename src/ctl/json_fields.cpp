#include "src/ctl/json_fields.h"

namespace primus::ctl {

using nlohmann::json;

std::string dump(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

const json* field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

double num(const json& j, const char* key, double def) {
  const json* f = field(j, key);
  return f && f->is_number() ? f->get<double>() : def;
}

std::int64_t integer(const json& j, const char* key, std::int64_t def) {
  const json* f = field(j, key);
  if (!f || !f->is_number()) return def;
  return f->is_number_float() ? static_cast<std::int64_t>(f->get<double>())
                              : f->get<std::int64_t>();
}

std::string text(const json& j, const char* key, const std::string& def) {
  const json* f = field(j, key);
  if (!f) return def;
  return f->is_string() ? f->get<std::string>() : dump(*f);
}

const json& sub(const json& j, const char* key) {
  static const json empty = json::object();
  const json* f = field(j, key);
  return f && f->is_object() ? *f : empty;
}

const json& list(const json& j, const char* key) {
  static const json empty = json::array();
  const json* f = field(j, key);
  return f && f->is_array() ? *f : empty;
}

}  // namespace primus::ctl
