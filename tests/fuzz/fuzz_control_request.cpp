// libFuzzer target: arbitrary bytes as a control API request body through parse_control_request
// (src/bus/control_request.h, plain sources, no ZeroMQ). Checks what the function promises:
//   - it never throws; a failure is bad_request with a message, and "id" is echoed only once the
//     body was a JSON object;
//   - ok() exactly when the body is JSON (as nlohmann::json reads it, with no NUL byte), nested at
//   most 64 deep, an
//     object with a string "method" and, if present, an object "params";
//   - when ok: method and params are those of the body, params is an object that serialises
//     (strictly: the parser only lets valid UTF-8 through) and reads back equal;
//   - id_json is always valid JSON (the reply embeds it verbatim);
//   - json_nesting_depth is the real depth of any body that parses;
//   - a limit one byte below the size refuses the body with the size message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/bus/control_request.h"

namespace {

using nlohmann::json;

int depth_of(const json& j) {
  if (!j.is_structured()) return 0;
  int d = 0;
  for (const auto& e : j) d = std::max(d, depth_of(e));
  return d + 1;
}

// Aborts (a crash for libFuzzer) naming the broken check.
#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using primus::bus::parse_control_request;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto r = parse_control_request(body, 65536);

  // The reply embeds id_json as it is: it must be one JSON value.
  CHECK(json::accept(r.id_json));
  if (!r.ok()) {
    CHECK(r.error_code == primus::bus::control_code::kBadRequest);
    CHECK(!r.error_message.empty());
    CHECK(r.params.is_object() && r.params.empty());
  } else {
    CHECK(r.error_message.empty());
    CHECK(r.params.is_object());
    const std::string dumped = r.params.dump();  // strict: throws on invalid UTF-8
    CHECK(json::parse(dumped) == r.params);
  }

  // Differential: the same decision from an independent reading of the body.
  // nlohmann::json takes a NUL byte for the end of the input; a raw NUL is never valid JSON.
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || body.find('\0') != std::string_view::npos) {
    CHECK(!r.ok());
    CHECK(r.id_json == "null");
  } else {
    const int depth = primus::bus::json_nesting_depth(body);
    // Depth is only computed recursively up to a bound, to keep the check itself safe.
    if (depth <= 4 * primus::bus::kMaxRequestDepth) CHECK(depth_of(j) == depth);
    bool expect_ok = depth <= primus::bus::kMaxRequestDepth && j.is_object();
    if (expect_ok) {
      const auto m = j.find("method");
      const auto p = j.find("params");
      expect_ok = m != j.end() && m->is_string() && (p == j.end() || p->is_object());
      const auto id = j.find("id");
      CHECK(r.id_json == (id == j.end() ? std::string("null") : id->dump()));
      if (expect_ok) {
        CHECK(r.method == m->get<std::string>());
        CHECK(r.params == (p == j.end() ? json::object() : *p));
      }
    } else {
      CHECK(r.id_json == "null");
    }
    CHECK(r.ok() == expect_ok);
  }

  if (size > 0) {
    const auto small = parse_control_request(body, static_cast<int>(size) - 1);
    CHECK(!small.ok() && small.id_json == "null");
    CHECK(small.error_message == "request of " + std::to_string(size) + " bytes is larger than " +
                                     std::to_string(size - 1) + " (control.max_request_bytes)");
  }
  return 0;
}
