#include "src/bus/control_request.h"

#include <algorithm>

namespace primus::bus {

int json_nesting_depth(std::string_view s) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : s) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

ParsedRequest parse_control_request(std::string_view body, int max_request_bytes) {
  ParsedRequest out;
  const auto fail = [&out](std::string message) {
    out.error_code = control_code::kBadRequest;
    out.error_message = std::move(message);
    return std::move(out);
  };
  if (max_request_bytes < 0 || body.size() > static_cast<std::size_t>(max_request_bytes)) {
    return fail("request of " + std::to_string(body.size()) + " bytes is larger than " +
                std::to_string(max_request_bytes) + " (control.max_request_bytes)");
  }
  if (json_nesting_depth(body) > kMaxRequestDepth)
    return fail("request nests arrays/objects deeper than " + std::to_string(kMaxRequestDepth));
  // nlohmann::json stops reading at a NUL byte as at the end of the input, which would accept
  // `{"method":"x"}\0<anything>`. A raw NUL is never valid JSON (inside strings it must be
  // escaped), so refuse it here.
  if (const auto nul = body.find('\0'); nul != std::string_view::npos) {
    return fail("request is not JSON: NUL byte at offset " + std::to_string(nul) +
                " (write it as \\u0000 inside a string)");
  }
  nlohmann::json req;
  try {
    req = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    return fail(std::string("request is not JSON: ") + e.what());
  }
  if (!req.is_object())
    return fail(std::string("request must be a JSON object, got ") + req.type_name());
  if (const auto id = req.find("id"); id != req.end())
    out.id_json = id->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const auto method = req.find("method");
  if (method == req.end()) return fail("request has no \"method\"");
  if (!method->is_string())
    return fail(std::string("\"method\" must be a string, got ") + method->type_name());
  out.method = method->get<std::string>();
  if (const auto p = req.find("params"); p != req.end()) {
    if (!p->is_object())
      return fail(std::string("\"params\" must be a JSON object, got ") + p->type_name());
    out.params = std::move(*p);
  }
  return out;
}

}  // namespace primus::bus
