#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "src/config/config.h"

namespace primus {
namespace {

const std::string kDevice = "[[devices]]\nid = \"w1\"\nadapter = \"sim\"\n";

TEST(Config, MinimalFileGetsDefaults) {
  const Config c = load_config_string(kDevice);
  EXPECT_EQ(c.window.length, 250);
  EXPECT_EQ(c.window.hop, 10);
  EXPECT_DOUBLE_EQ(c.window.rate_hz, 50.0);
  EXPECT_EQ(c.batcher.max_batch, 32);
  EXPECT_EQ(c.model.device, "auto");
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].id, "w1");
  EXPECT_EQ(c.devices[0].adapter, AdapterKind::kSim);
  EXPECT_EQ(c.devices[0].quat_order, QuatOrder::kWxyz);
  EXPECT_TRUE(c.devices[0].axis_map.is_identity());
}

TEST(Config, ParsesEveryDeviceOption) {
  const Config c = load_config_string(R"(
[model]
device = "cuda:1"
embedding = "ssl"
labels = ["none", "a", "b"]
[events]
null_label = "none"
[[devices]]
id = "phone.1"
adapter = "sim"
rate_hz = 104
quat_order = "xyzw"
acc_unit = "g"
gyro_unit = "deg/s"
gyro_source = "from_quaternion"
axis_map = ["-y", "x", "z"]
gestures = ["wave"]
)");
  const auto& d = c.devices.at(0);
  EXPECT_EQ(c.model.device, "cuda:1");
  EXPECT_EQ(c.model.embedding, EmbeddingChoice::kSsl);
  EXPECT_EQ(d.quat_order, QuatOrder::kXyzw);
  EXPECT_EQ(d.acc_unit, AccUnit::kG);
  EXPECT_EQ(d.gyro_unit, GyroUnit::kDegPerSec);
  EXPECT_EQ(d.gyro_source, GyroSource::kFromQuaternion);
  EXPECT_EQ(d.axis_map.perm, (std::array<int, 3>{1, 0, 2}));
  EXPECT_EQ(d.axis_map.sign, (std::array<int, 3>{-1, 1, 1}));
  EXPECT_DOUBLE_EQ(d.rate_hz, 104.0);
}

TEST(Config, ShippedFilesAreValid) {
  for (const char* f : {"config/primusd.toml", "config/demo.toml"}) {
    SCOPED_TRACE(f);
    EXPECT_NO_THROW(load_config(std::filesystem::path(PRIMUS_SOURCE_DIR) / f));
  }
}

TEST(Config, ReplayPathIsResolvedAgainstTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / "primus_cfg_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "rec.csv") << "t,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n0,0,0,9.8,0,0,0\n";
  std::ofstream(dir / "c.toml") << "[[devices]]\nid = \"r\"\nadapter = \"replay\"\npath = \"rec.csv\"\n";
  const Config c = load_config(dir / "c.toml");
  EXPECT_EQ(c.devices[0].path, (dir / "rec.csv").string());
  std::filesystem::remove_all(dir);
}

struct BadCase {
  const char* name;
  std::string toml;
  std::string expected;  ///< substring of the message: key path (and value)
};

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, NamesTheKeyPath) {
  const auto& p = GetParam();
  try {
    load_config_string(p.toml);
    FAIL() << "accepted: " << p.toml;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(p.expected), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << p.expected;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfig,
    ::testing::Values(
        BadCase{"syntax", "[window\nlength = 3", "TOML syntax error at line 1"},
        BadCase{"wrong_type_int", "[window]\nlength = \"long\"\n" + kDevice, "window.length = \"long\": must be an integer"},
        BadCase{"wrong_type_float", "[window]\nrate_hz = \"fast\"\n" + kDevice, "window.rate_hz = \"fast\": must be a number"},
        BadCase{"wrong_type_bool", "[events]\npublish_scores = 1\n" + kDevice, "events.publish_scores = 1: must be true or false"},
        BadCase{"too_short", "[window]\nlength = 122\n" + kDevice, "window.length = 122: must be >= 123"},
        BadCase{"hop_zero", "[window]\nhop = 0\n" + kDevice, "window.hop = 0"},
        BadCase{"hop_gt_length", "[window]\nlength = 200\nhop = 201\n" + kDevice, "window.hop = 201"},
        BadCase{"rate_negative", "[window]\nrate_hz = -50.0\n" + kDevice, "window.rate_hz = -50"},
        BadCase{"unknown_top", "[windw]\nlength = 250\n" + kDevice, "windw = {...}: unknown key"},
        BadCase{"unknown_nested", "[model]\nweight = \"x\"\n" + kDevice, "model.weight = \"x\": unknown key"},
        BadCase{"unknown_device_key", "[[devices]]\nid = \"a\"\nadapter = \"sim\"\nbaudrate = 9600\n", "devices[0].baudrate = 9600: unknown key"},
        BadCase{"missing_id", "[[devices]]\nadapter = \"sim\"\n", "devices[0].id = (missing)"},
        BadCase{"missing_adapter", "[[devices]]\nid = \"a\"\n", "devices[0].adapter = (missing)"},
        BadCase{"bad_adapter", "[[devices]]\nid = \"a\"\nadapter = \"usb\"\n", "devices[0].adapter = \"usb\": must be one of sim, replay"},
        BadCase{"second_device_bad", kDevice + "[[devices]]\nid = \"b\"\nadapter = \"sim\"\nbaud = 0\n", "devices[1].baud = 0: must be > 0"},
        BadCase{"duplicate_id", kDevice + kDevice, "devices[1].id = \"w1\": duplicate device id"},
        BadCase{"bad_id_chars", "[[devices]]\nid = \"a b\"\nadapter = \"sim\"\n", "devices[0].id = \"a b\""},
        BadCase{"replay_no_path", "[[devices]]\nid = \"a\"\nadapter = \"replay\"\n", "devices[0].path = (missing)"},
        BadCase{"replay_missing_file", "[[devices]]\nid = \"a\"\nadapter = \"replay\"\npath = \"/nonexistent/x.csv\"\n", "devices[0].path = \"/nonexistent/x.csv\": file does not exist"},
        BadCase{"bad_endpoint", "[bus]\npublish = [\"tcp://localhost\"]\n" + kDevice, "bus.publish[0] = \"tcp://localhost\""},
        BadCase{"bad_endpoint_port", "[bus]\npublish = [\"tcp://*:70000\"]\n" + kDevice, "bus.publish[0] = \"tcp://*:70000\""},
        BadCase{"bad_endpoint_scheme", "[bus]\npublish = [\"http://x:1\"]\n" + kDevice, "bus.publish[0] = \"http://x:1\""},
        BadCase{"bad_device_string", "[model]\ndevice = \"gpu\"\n" + kDevice, "model.device = \"gpu\": must be auto, cpu, cuda or cuda:N"},
        BadCase{"threads_zero", "[model]\nthreads = 0\n" + kDevice, "model.threads = 0"},
        BadCase{"bad_enum", "[[devices]]\nid = \"a\"\nadapter = \"sim\"\nquat_order = \"zyxw\"\n", "devices[0].quat_order = \"zyxw\": must be one of wxyz, xyzw"},
        BadCase{"bad_axis", "[[devices]]\nid = \"a\"\nadapter = \"sim\"\naxis_map = [\"x\", \"x\", \"z\"]\n", "devices[0].axis_map[1] = \"x\": axis used twice"},
        BadCase{"axis_count", "[[devices]]\nid = \"a\"\nadapter = \"sim\"\naxis_map = [\"x\", \"y\"]\n", "devices[0].axis_map"},
        BadCase{"no_devices", "[window]\nlength = 250\n", "devices = []: configure at least one"},
        BadCase{"devices_not_array", "devices = 3\n", "devices = 3: must be an array of tables"},
        BadCase{"batch_too_big", "[batcher]\nmax_batch = 5000\n" + kDevice, "batcher.max_batch = 5000"},
        BadCase{"queue_lt_batch", "[batcher]\nmax_batch = 64\nqueue = 10\n" + kDevice, "batcher.queue = 10: must be >= batcher.max_batch"},
        BadCase{"threshold_range", "[events]\nthreshold = 1.5\n" + kDevice, "events.threshold = 1.5"},
        BadCase{"null_label_unknown", "[events]\nnull_label = \"idle\"\n" + kDevice, "events.null_label = \"idle\": must be one of model.labels"},
        BadCase{"labels_dup", "[model]\nlabels = [\"null\", \"a\", \"a\"]\n" + kDevice, "model.labels[2] = \"a\""},
        BadCase{"log_level", "[daemon]\nlog_level = \"loud\"\n" + kDevice, "daemon.log_level = \"loud\""},
        BadCase{"weights_missing", "[model]\nweights = \"/nonexistent/m.safetensors\"\n" + kDevice, "model.weights = \"/nonexistent/m.safetensors\": file does not exist"},
        BadCase{"sim_gesture", "[[devices]]\nid = \"a\"\nadapter = \"sim\"\ngestures = [\"jump\"]\n", "devices[0].gestures[0] = \"jump\""},
        BadCase{"array_elem_type", "[model]\nlabels = [\"null\", 3]\n" + kDevice, "model.labels[1] = 3: must be a string"},
        BadCase{"negative_int_for_seed", "[model]\nseed = -1\n" + kDevice, "model.seed = -1: must be a non-negative integer"},
        BadCase{"rate_device", "[[devices]]\nid = \"a\"\nadapter = \"sim\"\nrate_hz = 0\n", "devices[0].rate_hz = 0"}),
    [](const ::testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

TEST(Config, MissingFileIsNamed) {
  try {
    load_config("/nonexistent/primusd.toml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/primusd.toml"), std::string::npos);
  }
}

TEST(Config, DiffLiveSeparatesLiveKeysFromRestartKeys) {
  Config a = load_config_string(kDevice);
  Config b = a;
  b.events.threshold = 0.8;
  b.daemon.log_level = "debug";
  b.window.hop = 20;
  std::vector<std::string> restart;
  const auto live = diff_live(a, b, restart);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_NE(live[0].find("daemon.log_level: info -> debug"), std::string::npos);
  EXPECT_NE(live[1].find("events.threshold: 0.6 -> 0.8"), std::string::npos);
  ASSERT_EQ(restart.size(), 1u);
  EXPECT_EQ(restart[0], "window");
}

}  // namespace
}  // namespace primus
