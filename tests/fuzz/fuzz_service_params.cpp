// libFuzzer target: arbitrary bytes as a control request body, read by parse_control_request and
// handed to the service API's JSON binding (src/service/json_api.h) with a Service that checks
// every typed value it receives. Checks what the binding promises:
//   - call_json never throws and answers `done` exactly once, for any method and params;
//   - what reaches the Service satisfies each method's contract: labels pass check_label (valid
//     UTF-8, 1..64 bytes, no control or invisible characters), versions lie in
//     0..kMaxModelVersion, a mark span is either a finite last_s in (0, 86400] or
//     0 <= from < to (no wrapped integer ever gets through);
//   - a refusal is invalid_params with a non-empty message, and then no Service call was made.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/bus/control_request.h"
#include "src/service/json_api.h"

namespace {

using namespace primus::service;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

void label_ok(const std::string& l) {
  try {
    check_label(l);
  } catch (const ServiceError&) {
    fail("a label the check refuses reached the service");
  }
}

struct CheckingService final : Service {
  int calls = 0;
  void ok(const Done& d) {
    ++calls;
    d(Result::ok(nullptr));
  }
  void status(Done d) override { ok(d); }
  void devices(Done d) override { ok(d); }
  void reload(Done d) override { ok(d); }
  void label_start(const std::string&, const std::string& l, Done d) override {
    label_ok(l);
    ok(d);
  }
  void label_stop(const std::string&, Done d) override { ok(d); }
  void captures_list(CaptureSelector w, std::int64_t limit, Done d) override {
    if (w.label) label_ok(*w.label);
    if (w.id && *w.id < 1) fail("capture id < 1");
    if (limit < 1 || limit > 10000) fail("captures.list limit range");
    ok(d);
  }
  void captures_delete(CaptureSelector w, Done d) override {
    if (!w.id && !w.label) fail("captures.delete with nothing named (would mean everything)");
    if (w.id && (w.label || w.device)) fail("captures.delete with an id and a label");
    if (w.label) label_ok(*w.label);
    if (w.id && *w.id < 1) fail("capture id < 1");
    ok(d);
  }
  void label_mark(const std::string&, const std::string& l, MarkSpan s, Done d) override {
    label_ok(l);
    if (s.last_s) {
      if (s.from_host_ns || s.to_host_ns) fail("both last_s and a span");
      if (!std::isfinite(*s.last_s) || !(*s.last_s > 0) || *s.last_s > 86400) fail("last_s range");
    } else {
      if (!s.from_host_ns || !s.to_host_ns) fail("half a span");
      if (*s.from_host_ns < 0 || *s.to_host_ns <= *s.from_host_ns) fail("span order");
    }
    ok(d);
  }
  void labels(Done d) override { ok(d); }
  void capture_stats(Done d) override { ok(d); }
  void finetune_run(std::optional<primus::FinetuneMode>, bool, Done d) override { ok(d); }
  void finetune_status(Done d) override { ok(d); }
  void models_list(Done d) override { ok(d); }
  void models_activate(std::int64_t v, bool, Done d) override {
    if (v < 0 || v > kMaxModelVersion) fail("version range");
    ok(d);
  }
  void models_rollback(std::optional<std::int64_t> v, Done d) override {
    if (v && (*v < 0 || *v > kMaxModelVersion)) fail("rollback version range");
    ok(d);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto req = primus::bus::parse_control_request(body, 1 << 20);
  if (!req.ok()) return 0;
  // Any method name: known ones are fully checked, unknown ones must be refused.
  for (const std::string& method : {req.method, std::string("label.mark"),
                                    std::string("models.activate"), std::string("finetune.run")}) {
    CheckingService svc;
    int answers = 0;
    bool refused = false;
    try {
      call_json(svc, method, req.params, [&](Result r) {
        ++answers;
        if (!r.is_ok()) {
          refused = true;
          if (r.error->code != Errc::kInvalidParams) fail("refusal with another code");
          if (r.error->message.empty()) fail("empty message");
        }
      });
    } catch (...) {
      fail("call_json threw");
    }
    if (answers != 1) fail("done not called exactly once");
    if (refused && svc.calls != 0) fail("refused after calling the service");
    if (!is_method(method) && !refused) fail("unknown method accepted");
  }
  return 0;
}
