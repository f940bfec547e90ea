// The key tables (src/config/config_keys.h) against the structs they describe: every field has a
// key, every key is parsed and diffed, and the live keys are exactly the documented ones.
#include <gtest/gtest.h>

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "src/config/config.h"

namespace primus {
namespace {

const std::string kDevice = "[[devices]]\nid = \"w1\"\nadapter = \"sim\"\n";

// ---- fields of an aggregate, counted without naming them
// ----------------------------------------- T{f, f, ..., f} compiles for up to as many initialisers
// as T has fields; AnyField converts to any field type (declared only: unevaluated). A field added
// to a config struct without a table entry changes the count, and EveryFieldHasAKey fails.
struct AnyField {
  template <typename T>
  operator T&() const&&;  // NOLINT(google-explicit-constructor)
};

template <typename T, std::size_t... I>
constexpr bool brace_initialisable(std::index_sequence<I...>) {
  return requires { T{(static_cast<void>(I), AnyField{})...}; };
}

template <typename T, std::size_t N = 0>
constexpr std::size_t field_count() {
  if constexpr (N >= 100 || !brace_initialisable<T>(std::make_index_sequence<N + 1>{}))
    return N;
  else
    return field_count<T, N + 1>();
}

static_assert(field_count<AxisMap>() == 2);
static_assert(field_count<WindowConfig>() == 3);

std::map<std::string, std::size_t> keys_per_section() {
  std::map<std::string, std::size_t> n;
  for (const auto& k : config_key_list()) ++n[k.section];
  return n;
}

TEST(ConfigTables, EveryFieldHasAKey) {
  auto n = keys_per_section();
  EXPECT_EQ(n["daemon"], field_count<DaemonConfig>());
  EXPECT_EQ(n["model"], field_count<ModelConfig>());
  EXPECT_EQ(n["window"], field_count<WindowConfig>());
  EXPECT_EQ(n["batcher"], field_count<BatcherConfig>());
  // explicit_keys is not a key: the loader fills it with the keys the file sets.
  EXPECT_EQ(n["events"] + 1, field_count<EventsConfig>());
  EXPECT_EQ(n["bus"], field_count<BusConfig>());
  EXPECT_EQ(n["metrics"], field_count<MetricsConfig>());
  EXPECT_EQ(n["control"], field_count<ControlConfig>());
  EXPECT_EQ(n["capture"], field_count<CaptureConfig>());
  EXPECT_EQ(n["training"], field_count<TrainingConfig>());
  EXPECT_EQ(n["mqtt"], field_count<MqttConfig>());
  EXPECT_EQ(n["web"], field_count<WebConfig>());
  // ble_write_bytes is not a key: validation fills it from ble_write_hex.
  EXPECT_EQ(n["devices"] + 1, field_count<DeviceConfig>());
  // Config: the twelve table sections, devices, and source (not a key).
  EXPECT_EQ(n.size(), 13u);
  EXPECT_EQ(n.size() + 1, field_count<Config>());
}

TEST(ConfigTables, EveryKeyChangeIsReportedLiveOrAsNeedingARestart) {
  const Config a = load_config_string(kDevice);
  for (const auto& k : config_key_list()) {
    SCOPED_TRACE(k.path);
    Config b = a;
    k.change(b);
    ASSERT_NE(a, b) << "change() left the value as it was";
    std::vector<std::string> restart;
    const auto live = diff_live(a, b, restart);
    if (k.live) {
      ASSERT_EQ(live.size(), 1u);
      EXPECT_EQ(live[0].rfind(k.path + ": ", 0), 0u) << live[0];
      EXPECT_TRUE(restart.empty());
    } else {
      EXPECT_TRUE(live.empty());
      ASSERT_EQ(restart.size(), 1u);
      const std::string want =
          k.section == "devices" ? "devices[0]" : (k.section == "events" ? k.path : k.section);
      EXPECT_EQ(restart[0], want);
    }
    // And back: the reverse change is reported the same way.
    std::vector<std::string> restart_back;
    EXPECT_EQ(diff_live(b, a, restart_back).size(), live.size());
    EXPECT_EQ(restart_back, restart);
  }
}

TEST(ConfigTables, LiveKeysAreExactlyTheDocumentedOnes) {
  std::set<std::string> live;
  for (const auto& k : config_key_list())
    if (k.live) live.insert(k.path);
  const std::set<std::string> want{
      "daemon.log_level",       "daemon.status_interval_s", "model.weights",
      "events.onset_threshold", "events.release_threshold", "events.smoothing_windows",
      "events.margin",          "events.min_duration_ms",   "events.refractory_ms",
      "events.publish_scores",  "events.calibrated"};
  EXPECT_EQ(live, want);
}

TEST(ConfigTables, EveryKeyIsParsedWithATypeCheck) {
  // A table is the wrong type for every key: the error must be the key's type error, never
  // "unknown key".
  for (const auto& k : config_key_list()) {
    SCOPED_TRACE(k.path);
    std::string toml;
    std::string path = k.path;
    if (k.section == "devices") {
      const std::string name = k.path.substr(std::string("devices[].").size());
      toml = "[[devices]]\n";
      if (name != "id") toml += "id = \"w1\"\n";
      if (name != "adapter") toml += "adapter = \"sim\"\n";
      toml += name + " = { a = 1 }\n";
      path = "devices[0]." + name;
    } else {
      const std::string name = k.path.substr(k.section.size() + 1);
      toml = "[" + k.section + "]\n" + name + " = { a = 1 }\n" + kDevice;
    }
    try {
      load_config_string(toml);
      FAIL() << "accepted: " << toml;
    } catch (const ConfigError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind(path + " = {...}: must be", 0), 0u) << msg;
    }
  }
}

TEST(ConfigTables, DiffLinesAndRestartNames) {
  const Config a = load_config_string(kDevice + "[[devices]]\nid = \"w2\"\nadapter = \"sim\"\n");
  ASSERT_EQ(a.devices.size(), 2u);
  Config b = a;
  b.events.onset_threshold = 0.7;
  b.events.publish_scores = true;
  b.events.refractory_ms = 250;
  b.daemon.status_interval_s = 2.5;
  b.model.weights = "/models/m.safetensors";
  b.events.null_label = "wave";
  b.devices[1].baud = 9600;
  std::vector<std::string> restart;
  const auto live = diff_live(a, b, restart);
  const std::vector<std::string> want_live{
      "daemon.status_interval_s: 1 -> 2.5", "model.weights: \"\" -> \"/models/m.safetensors\"",
      "events.onset_threshold: 0.6 -> 0.7", "events.refractory_ms: 500 -> 250",
      "events.publish_scores: false -> true"};
  EXPECT_EQ(live, want_live);
  EXPECT_EQ(restart, (std::vector<std::string>{"events.null_label", "devices[1]"}));

  Config c = a;
  c.devices.pop_back();
  restart.clear();
  EXPECT_TRUE(diff_live(a, c, restart).empty());
  EXPECT_EQ(restart, (std::vector<std::string>{"devices"}));

  restart.clear();
  EXPECT_TRUE(diff_live(a, a, restart).empty());
  EXPECT_TRUE(restart.empty());
}

TEST(ConfigTables, ExplicitEventsKeysAreRecorded) {
  // The keys the file sets win over a model's calibration (src/events/calibration.h), so the
  // loader records them; a key left at its default by omission is not among them.
  const Config none = load_config_string(kDevice);
  EXPECT_TRUE(none.events.explicit_keys.empty());
  EXPECT_TRUE(none.events.calibrated);
  const Config some = load_config_string(
      "[events]\nmin_duration_ms = 0\nonset_threshold = 0.6\ncalibrated = false\n" + kDevice);
  EXPECT_EQ(some.events.explicit_keys,
            (std::vector<std::string>{"calibrated", "min_duration_ms", "onset_threshold"}));
  EXPECT_FALSE(some.events.calibrated);
  // Setting a key to its default still counts as setting it.
  EXPECT_EQ(some.events.onset_threshold, none.events.onset_threshold);
}

TEST(ConfigTables, EnumNamesRoundTrip) {
  EXPECT_STREQ(to_string(AdapterKind::kUdp), "udp");
  EXPECT_STREQ(to_string(CodecKind::kWitmotion), "witmotion");
  EXPECT_STREQ(to_string(FinetuneMode::kStaged), "staged");
  const Config c = load_config_string(
      "[training]\nmode = \"head\"\n[[devices]]\nid = \"u\"\nadapter = \"udp\"\ndevice_id = 3\n"
      "codec = \"csv\"\ncsv_columns = [\"acc_x\", \"acc_y\", \"acc_z\"]\n");
  EXPECT_EQ(c.training.mode, FinetuneMode::kHead);
  EXPECT_EQ(c.devices[0].adapter, AdapterKind::kUdp);
  EXPECT_EQ(c.devices[0].codec, CodecKind::kCsv);
}

}  // namespace
}  // namespace primus
