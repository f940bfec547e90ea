// The service API's JSON binding: every method's parameters are read as the values they claim to
// be, out-of-range and mistyped values are refused with the key named, and labels with invisible
// or control characters never reach the service. The Service here records the typed calls it
// gets, so each row checks both what is refused and what goes through unchanged.
#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "src/service/json_api.h"

namespace primus::service {
namespace {

using nlohmann::json;

/// Records each call as "method arg..." and answers ok.
struct RecordingService final : Service {
  std::vector<std::string> calls;
  void ok(const std::string& what, const Done& d) {
    calls.push_back(what);
    d(Result::ok({{"call", what}}));
  }
  void status(Done d) override { ok("status", d); }
  void devices(Done d) override { ok("devices", d); }
  void reload(Done d) override { ok("reload", d); }
  void label_start(const std::string& dev, const std::string& l, Done d) override {
    ok("label_start " + dev + " " + l, d);
  }
  void label_stop(const std::string& dev, Done d) override { ok("label_stop " + dev, d); }
  void label_mark(const std::string& dev, const std::string& l, MarkSpan s, Done d) override {
    std::string w = "label_mark " + dev + " " + l;
    if (s.last_s) w += " last=" + std::to_string(*s.last_s);
    if (s.from_host_ns) w += " from=" + std::to_string(*s.from_host_ns);
    if (s.to_host_ns) w += " to=" + std::to_string(*s.to_host_ns);
    ok(w, d);
  }
  void labels(Done d) override { ok("labels", d); }
  void capture_stats(Done d) override { ok("capture_stats", d); }
  static std::string which_str(const CaptureSelector& w) {
    std::string s;
    if (w.id) s += " id=" + std::to_string(*w.id);
    if (w.label) s += " label=" + *w.label;
    if (w.device) s += " device=" + *w.device;
    return s;
  }
  void captures_list(CaptureSelector w, std::int64_t limit, Done d) override {
    ok("captures_list" + which_str(w) + " limit=" + std::to_string(limit), d);
  }
  void captures_delete(CaptureSelector w, Done d) override {
    ok("captures_delete" + which_str(w), d);
  }
  void finetune_run(std::optional<FinetuneMode> m, bool wait, Done d) override {
    ok(std::string("finetune_run ") + (m ? to_string(*m) : "default") + (wait ? " wait" : ""), d);
  }
  void finetune_status(Done d) override { ok("finetune_status", d); }
  void models_list(Done d) override { ok("models_list", d); }
  void models_activate(std::int64_t v, bool force, Done d) override {
    ok("models_activate " + std::to_string(v) + (force ? " force" : ""), d);
  }
  void models_rollback(std::optional<std::int64_t> v, Done d) override {
    ok("models_rollback " + (v ? std::to_string(*v) : std::string("parent")), d);
  }
};

struct Outcome {
  int calls_of_done = 0;
  Result result;
};

Outcome call(RecordingService& svc, const std::string& method, const json& params) {
  Outcome o;
  call_json(svc, method, params, [&](Result r) {
    ++o.calls_of_done;
    o.result = std::move(r);
  });
  return o;
}

struct Row {
  const char* method;
  json params;
  std::optional<std::string> call;  ///< the typed call expected; nullopt: refused
  std::string message_has;          ///< refused: a part of the message (the key, the value)
};

void run_rows(const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    SCOPED_TRACE(std::string(row.method) + " " + row.params.dump());
    RecordingService svc;
    const auto o = call(svc, row.method, row.params);
    ASSERT_EQ(o.calls_of_done, 1);
    if (row.call) {
      ASSERT_TRUE(o.result.is_ok()) << o.result.error->message;
      ASSERT_EQ(svc.calls.size(), 1u);
      EXPECT_EQ(svc.calls[0], *row.call);
    } else {
      ASSERT_FALSE(o.result.is_ok());
      EXPECT_TRUE(svc.calls.empty()) << svc.calls[0];
      EXPECT_EQ(o.result.error->code, Errc::kInvalidParams);
      EXPECT_NE(o.result.error->message.find(row.message_has), std::string::npos)
          << o.result.error->message;
    }
  }
}

constexpr auto kI64Max = std::numeric_limits<std::int64_t>::max();
constexpr auto kI64Min = std::numeric_limits<std::int64_t>::min();
constexpr auto kU64Max = std::numeric_limits<std::uint64_t>::max();

TEST(JsonApi, VersionNumbersAreRangeCheckedNeverWrapped) {
  run_rows({
      {"models.activate", {{"version", 3}}, "models_activate 3", ""},
      {"models.activate", {{"version", 0}, {"force", true}}, "models_activate 0 force", ""},
      {"models.activate", {{"version", 2147483647}}, "models_activate 2147483647", ""},
      {"models.activate", {{"version", 3.0}}, "models_activate 3", ""},
      // 2^32 and 2^32 + 13 used to wrap to 0 and 13.
      {"models.activate", {{"version", 4294967296LL}}, std::nullopt, "\"version\" = 4294967296"},
      {"models.activate", {{"version", 4294967309LL}}, std::nullopt, "0..2147483647"},
      {"models.activate", {{"version", 2147483648LL}}, std::nullopt, "\"version\""},
      {"models.activate", {{"version", -1}}, std::nullopt, "\"version\" = -1"},
      {"models.activate", {{"version", kI64Max}}, std::nullopt, "\"version\""},
      {"models.activate", {{"version", kI64Min}}, std::nullopt, "\"version\""},
      {"models.activate", {{"version", kU64Max}}, std::nullopt, "18446744073709551615"},
      {"models.activate", {{"version", 3.5}}, std::nullopt, "\"version\" = 3.5"},
      {"models.activate", {{"version", 1e300}}, std::nullopt, "\"version\""},
      {"models.activate", {{"version", "3"}}, std::nullopt, "not string"},
      {"models.activate", {{"version", nullptr}}, std::nullopt, "\"version\""},
      {"models.activate", json::object(), std::nullopt, "missing \"version\""},
      {"models.activate", {{"version", 1}, {"force", "yes"}}, std::nullopt, "\"force\""},
      {"models.rollback", json::object(), "models_rollback parent", ""},
      {"models.rollback", {{"version", 13}}, "models_rollback 13", ""},
      {"models.rollback", {{"version", 4294967309LL}}, std::nullopt, "\"version\" = 4294967309"},
      {"models.rollback", {{"version", -5}}, std::nullopt, "\"version\""},
      {"models.rollback", {{"version", kU64Max}}, std::nullopt, "\"version\""},
  });
}

TEST(JsonApi, LabelMarkSpansAreReadWithoutOverflow) {
  run_rows({
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"last_s", 2.5}},
       "label_mark w wave last=2.500000",
       ""},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"last_s", 86400}},
       "label_mark w wave last=86400.000000",
       ""},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"from_host_ns", 1000}, {"to_host_ns", 2000}},
       "label_mark w wave from=1000 to=2000",
       ""},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"from_host_ns", 0}, {"to_host_ns", kI64Max}},
       "label_mark w wave from=0 to=9223372036854775807",
       ""},
      // 1e300 s used to give a span of -9223372036.85 s.
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"last_s", 1e300}},
       std::nullopt,
       "\"last_s\" = 1e+300"},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"last_s", 86400.5}},
       std::nullopt,
       "\"last_s\""},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"last_s", 0}},
       std::nullopt,
       "must be > 0"},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"last_s", -3}},
       std::nullopt,
       "\"last_s\" = -3"},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"last_s", "10"}},
       std::nullopt,
       "\"last_s\""},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"from_host_ns", kI64Min}, {"to_host_ns", 5}},
       std::nullopt,
       "\"from_host_ns\" = -9223372036854775808"},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"from_host_ns", 0}, {"to_host_ns", kU64Max}},
       std::nullopt,
       "\"to_host_ns\" = 18446744073709551615"},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"from_host_ns", 10}, {"to_host_ns", 10}},
       std::nullopt,
       "must be after"},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"from_host_ns", 1.5}, {"to_host_ns", 10}},
       std::nullopt,
       "\"from_host_ns\" = 1.5"},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"from_host_ns", 10}},
       std::nullopt,
       "missing \"to_host_ns\""},
      {"label.mark",
       {{"device", "w"}, {"label", "wave"}, {"last_s", 1}, {"from_host_ns", 1}, {"to_host_ns", 2}},
       std::nullopt,
       "give either"},
      {"label.mark", {{"device", "w"}, {"label", "wave"}}, std::nullopt, "give either"},
      {"label.mark",
       {{"device", 7}, {"label", "wave"}, {"last_s", 1}},
       std::nullopt,
       "\"device\" = 7"},
  });
}

TEST(JsonApi, TypeErrorsNameTheKey) {
  run_rows({
      {"finetune.run", json::object(), "finetune_run default", ""},
      {"finetune.run", {{"mode", "head"}, {"wait", true}}, "finetune_run head wait", ""},
      {"finetune.run",
       {{"wait", "yes"}},
       std::nullopt,
       "\"wait\" = \"yes\": must be true or false"},
      {"finetune.run", {{"wait", 1}}, std::nullopt, "\"wait\""},
      {"finetune.run", {{"mode", "fast"}}, std::nullopt, "\"mode\" = \"fast\""},
      {"finetune.run", {{"mode", 3}}, std::nullopt, "\"mode\""},
      {"label.start", {{"device", "w"}}, std::nullopt, "missing \"label\""},
      {"label.start", {{"label", "wave"}}, std::nullopt, "missing \"device\""},
      {"label.start", {{"device", "w"}, {"label", "wave"}}, "label_start w wave", ""},
      {"label.stop", {{"device", "w"}}, "label_stop w", ""},
      {"label.stop", {{"device", json::array()}}, std::nullopt, "\"device\""},
  });
}

TEST(JsonApi, LabelsWithInvisibleOrControlCharactersAreRefusedWithTheCodePoint) {
  run_rows({
      {"label.start", {{"device", "w"}, {"label", "wave-2_b.c"}}, "label_start w wave-2_b.c", ""},
      {"label.start",
       {{"device", "w"}, {"label", "Händewaschen"}},
       "label_start w Händewaschen",
       ""},
      {"label.start", {{"device", "w"}, {"label", "手を振る"}}, "label_start w 手を振る", ""},
      {"label.start", {{"device", "w"}, {"label", "wave 👋"}}, "label_start w wave 👋", ""},
      {"label.start", {{"device", "w"}, {"label", "a\u0085b"}}, std::nullopt, "U+0085"},
      {"label.start", {{"device", "w"}, {"label", "evil\u202Etxt"}}, std::nullopt, "U+202E"},
      {"label.start", {{"device", "w"}, {"label", "a\u200Bb"}}, std::nullopt, "U+200B"},
      {"label.start", {{"device", "w"}, {"label", "\uFEFFwave"}}, std::nullopt, "U+FEFF"},
      {"label.start", {{"device", "w"}, {"label", "a\u2066b"}}, std::nullopt, "U+2066"},
      {"label.start", {{"device", "w"}, {"label", "a\u00ADb"}}, std::nullopt, "U+00AD"},
      {"label.start", {{"device", "w"}, {"label", "a\u2028b"}}, std::nullopt, "U+2028"},
      {"label.start", {{"device", "w"}, {"label", "a\uE000b"}}, std::nullopt, "U+E000"},
      {"label.start", {{"device", "w"}, {"label", "tab\there"}}, std::nullopt, "U+0009"},
      {"label.start", {{"device", "w"}, {"label", "del\x7f"}}, std::nullopt, "U+007F"},
      {"label.mark",
       {{"device", "w"}, {"label", "x\u202Ey"}, {"last_s", 1}},
       std::nullopt,
       "U+202E"},
      {"label.start", {{"device", "w"}, {"label", ""}}, std::nullopt, "1..64 bytes"},
      {"label.start",
       {{"device", "w"}, {"label", std::string(65, 'a')}},
       std::nullopt,
       "1..64 bytes"},
  });
}

TEST(JsonApi, InvalidUtf8LabelsAreRefused) {
  // nlohmann::json stores the bytes as given; the label check decodes them.
  for (const std::string& bad : {std::string("a\xC0\xAF"), std::string("\xED\xA0\x80"),
                                 std::string("\xF8\x88\x80\x80\x80"), std::string("ab\xE2\x82")}) {
    EXPECT_THROW(check_label(bad), ServiceError) << bad;
  }
  try {
    check_label("ok\xFFno");
    FAIL();
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.code(), Errc::kInvalidParams);
    EXPECT_NE(std::string(e.what()).find("offset 2"), std::string::npos) << e.what();
  }
}

TEST(JsonApi, CaptureSelectorsNeverMeanEverythingByOmission) {
  run_rows({
      {"captures.list", json::object(), "captures_list limit=200", ""},
      {"captures.list", {{"label", "wave"}, {"limit", 5}}, "captures_list label=wave limit=5", ""},
      {"captures.list", {{"limit", 0}}, std::nullopt, "\"limit\" = 0"},
      {"captures.list", {{"limit", 10001}}, std::nullopt, "\"limit\" = 10001"},
      {"captures.delete", {{"id", 7}}, "captures_delete id=7", ""},
      {"captures.delete",
       {{"label", "wave"}, {"device", "w"}},
       "captures_delete label=wave device=w",
       ""},
      // Nothing named: refused, never "delete all".
      {"captures.delete", json::object(), std::nullopt, "give \"id\""},
      {"captures.delete", {{"device", "w"}}, std::nullopt, "give \"id\""},
      {"captures.delete", {{"id", 7}, {"label", "wave"}}, std::nullopt, "\"id\" alone"},
      {"captures.delete", {{"id", 0}}, std::nullopt, "\"id\" = 0"},
      {"captures.delete", {{"id", -3}}, std::nullopt, "\"id\" = -3"},
      {"captures.delete", {{"id", "7"}}, std::nullopt, "must be an integer"},
      {"captures.delete", {{"label", "a\u202eb"}}, std::nullopt, "U+202E"},
  });
}

TEST(JsonApi, EveryMethodIsListedAndParamsMustBeAnObject) {
  const auto m = json_methods();
  for (const char* name :
       {"status", "devices.list", "config.reload", "label.start", "label.stop", "label.mark",
        "labels.list", "captures.stats", "captures.list", "captures.delete", "finetune.run",
        "finetune.status", "models.list", "models.activate", "models.rollback"}) {
    EXPECT_TRUE(is_method(name)) << name;
    EXPECT_NE(std::find(m.begin(), m.end(), name), m.end()) << name;
  }
  RecordingService svc;
  EXPECT_FALSE(call(svc, "status", json::array()).result.is_ok());
  EXPECT_FALSE(call(svc, "no.such", json::object()).result.is_ok());
  EXPECT_TRUE(svc.calls.empty());
  EXPECT_TRUE(call(svc, "status", {{"ignored", 1}}).result.is_ok());
}

}  // namespace
}  // namespace primus::service
