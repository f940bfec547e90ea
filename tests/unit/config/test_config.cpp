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
  std::ofstream(dir / "c.toml")
      << "[[devices]]\nid = \"r\"\nadapter = \"replay\"\npath = \"rec.csv\"\n";
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
        BadCase{"wrong_type_int", "[window]\nlength = \"long\"\n" + kDevice,
                "window.length = \"long\": must be an integer"},
        BadCase{"wrong_type_float", "[window]\nrate_hz = \"fast\"\n" + kDevice,
                "window.rate_hz = \"fast\": must be a number"},
        BadCase{"wrong_type_bool", "[events]\npublish_scores = 1\n" + kDevice,
                "events.publish_scores = 1: must be true or false"},
        BadCase{"too_short", "[window]\nlength = 122\n" + kDevice,
                "window.length = 122: must be >= 123"},
        BadCase{"hop_zero", "[window]\nhop = 0\n" + kDevice, "window.hop = 0"},
        BadCase{"hop_gt_length", "[window]\nlength = 200\nhop = 201\n" + kDevice,
                "window.hop = 201"},
        BadCase{"rate_negative", "[window]\nrate_hz = -50.0\n" + kDevice, "window.rate_hz = -50"},
        BadCase{"unknown_top", "[windw]\nlength = 250\n" + kDevice, "windw = {...}: unknown key"},
        BadCase{"unknown_nested", "[model]\nweight = \"x\"\n" + kDevice,
                "model.weight = \"x\": unknown key"},
        BadCase{"unknown_device_key",
                "[[devices]]\nid = \"a\"\nadapter = \"sim\"\nbaudrate = 9600\n",
                "devices[0].baudrate = 9600: unknown key"},
        BadCase{"missing_id", "[[devices]]\nadapter = \"sim\"\n", "devices[0].id = (missing)"},
        BadCase{"missing_adapter", "[[devices]]\nid = \"a\"\n", "devices[0].adapter = (missing)"},
        BadCase{"bad_adapter", "[[devices]]\nid = \"a\"\nadapter = \"usb\"\n",
                "devices[0].adapter = \"usb\": must be one of sim, replay"},
        BadCase{"second_device_bad",
                kDevice + "[[devices]]\nid = \"b\"\nadapter = \"sim\"\nbaud = 0\n",
                "devices[1].baud = 0: must be > 0"},
        BadCase{"duplicate_id", kDevice + kDevice, "devices[1].id = \"w1\": duplicate device id"},
        BadCase{"bad_id_chars", "[[devices]]\nid = \"a b\"\nadapter = \"sim\"\n",
                "devices[0].id = \"a b\""},
        BadCase{"replay_no_path", "[[devices]]\nid = \"a\"\nadapter = \"replay\"\n",
                "devices[0].path = (missing)"},
        BadCase{"replay_missing_file",
                "[[devices]]\nid = \"a\"\nadapter = \"replay\"\npath = \"/nonexistent/x.csv\"\n",
                "devices[0].path = \"/nonexistent/x.csv\": file does not exist"},
        BadCase{"bad_endpoint", "[bus]\npublish = [\"tcp://localhost\"]\n" + kDevice,
                "bus.publish[0] = \"tcp://localhost\""},
        BadCase{"bad_endpoint_port", "[bus]\npublish = [\"tcp://*:70000\"]\n" + kDevice,
                "bus.publish[0] = \"tcp://*:70000\""},
        BadCase{"bad_endpoint_scheme", "[bus]\npublish = [\"http://x:1\"]\n" + kDevice,
                "bus.publish[0] = \"http://x:1\""},
        BadCase{"bad_device_string", "[model]\ndevice = \"gpu\"\n" + kDevice,
                "model.device = \"gpu\": must be auto, cpu, cuda or cuda:N"},
        BadCase{"threads_zero", "[model]\nthreads = 0\n" + kDevice, "model.threads = 0"},
        BadCase{"bad_enum", "[[devices]]\nid = \"a\"\nadapter = \"sim\"\nquat_order = \"zyxw\"\n",
                "devices[0].quat_order = \"zyxw\": must be one of wxyz, xyzw"},
        BadCase{"bad_axis",
                "[[devices]]\nid = \"a\"\nadapter = \"sim\"\naxis_map = [\"x\", \"x\", \"z\"]\n",
                "devices[0].axis_map[1] = \"x\": axis used twice"},
        BadCase{"axis_count",
                "[[devices]]\nid = \"a\"\nadapter = \"sim\"\naxis_map = [\"x\", \"y\"]\n",
                "devices[0].axis_map"},
        BadCase{"no_devices", "[window]\nlength = 250\n", "devices = []: configure at least one"},
        BadCase{"devices_not_array", "devices = 3\n", "devices = 3: must be an array of tables"},
        BadCase{"batch_too_big", "[batcher]\nmax_batch = 5000\n" + kDevice,
                "batcher.max_batch = 5000"},
        BadCase{"queue_lt_batch", "[batcher]\nmax_batch = 64\nqueue = 10\n" + kDevice,
                "batcher.queue = 10: must be >= batcher.max_batch"},
        BadCase{"threshold_range", "[events]\nonset_threshold = 1.5\n" + kDevice,
                "events.onset_threshold = 1.5"},
        BadCase{"release_above_onset",
                "[events]\nonset_threshold = 0.5\nrelease_threshold = 0.7\n" + kDevice,
                "events.release_threshold = 0.7: must be in [0, events.onset_threshold]"},
        BadCase{"smoothing_zero", "[events]\nsmoothing_windows = 0\n" + kDevice,
                "events.smoothing_windows = 0"},
        BadCase{"latency_budget_negative", "[events]\nlatency_budget_ms = -1\n" + kDevice,
                "events.latency_budget_ms = -1"},
        BadCase{"old_threshold_key", "[events]\nthreshold = 0.5\n" + kDevice,
                "events.threshold = 0.5: unknown key"},
        BadCase{"insecure_tcp", "[bus]\npublish = [\"tcp://0.0.0.0:5555\"]\n" + kDevice,
                "bus.publish[0] = \"tcp://0.0.0.0:5555\": binds off loopback without encryption"},
        BadCase{"curve_key_missing", "[bus]\ncurve_secret_key = \"/nonexistent/k\"\n" + kDevice,
                "bus.curve_secret_key = \"/nonexistent/k\": file does not exist"},
        BadCase{"metrics_off_loopback", "[metrics]\nlisten = \"0.0.0.0:9464\"\n" + kDevice,
                "metrics.listen = \"0.0.0.0:9464\": must be a loopback HOST:PORT"},
        BadCase{
            "control_insecure_tcp", "[control]\nlisten = [\"tcp://0.0.0.0:5556\"]\n" + kDevice,
            "control.listen[0] = \"tcp://0.0.0.0:5556\": binds off loopback without encryption"},
        BadCase{"web_off_loopback_without_token", "[web]\nlisten = \"0.0.0.0:8321\"\n" + kDevice,
                "web.listen = \"0.0.0.0:8321\": binds off loopback: set web.token or "
                "web.token_file"},
        BadCase{"web_bad_listen", "[web]\nlisten = \"8321\"\n" + kDevice,
                "web.listen = \"8321\": must be HOST:PORT"},
        BadCase{"web_short_token", "[web]\ntoken = \"short\"\n" + kDevice,
                "web.token = \"...\": must be 16..256 characters long"},
        BadCase{"web_token_with_space", "[web]\ntoken = \"0123456789 abcdefgh\"\n" + kDevice,
                "web.token = \"...\": must be printable ASCII without spaces"},
        BadCase{"web_token_and_file",
                "[web]\ntoken = \"0123456789abcdefgh\"\ntoken_file = \"/etc/hostname\"\n" + kDevice,
                "set web.token or web.token_file, not both"},
        BadCase{"web_max_clients", "[web]\nmax_clients = 0\n" + kDevice, "web.max_clients = 0"},
        BadCase{"web_frame_rate", "[web]\nframe_rate_hz = 500\n" + kDevice,
                "web.frame_rate_hz = 500: must be in [1, 100]"},
        BadCase{"control_small_request", "[control]\nmax_request_bytes = 10\n" + kDevice,
                "control.max_request_bytes = 10: must be >= 256"},
        BadCase{"capture_label_too_long", "[capture]\nmax_label_s = 120\n" + kDevice,
                "capture.max_label_s = 120"},
        BadCase{"capture_negative_bytes", "[capture]\nmax_bytes = -1\n" + kDevice,
                "capture.max_bytes = -1"},
        BadCase{"training_mode", "[training]\nmode = \"deep\"\n" + kDevice,
                "training.mode = \"deep\": must be one of head, full, staged"},
        BadCase{"training_head_epochs", "[training]\nepochs = 3\nhead_epochs = 5\n" + kDevice,
                "training.head_epochs = 5: must be in 0..training.epochs"},
        BadCase{"training_augment", "[training]\naugment = [\"scale\", \"flip\"]\n" + kDevice,
                "training.augment[1] = \"flip\""},
        BadCase{"training_val_fraction", "[training]\nval_fraction = 1.0\n" + kDevice,
                "training.val_fraction = 1"},
        BadCase{"training_negative_overlap", "[training]\nnegative_overlap = 0\n" + kDevice,
                "training.negative_overlap = 0: must be in (0, 1)"},
        BadCase{"training_positive_overlap", "[training]\npositive_overlap = 0.5\n" + kDevice,
                "training.positive_overlap = 0.5: must be in (training.negative_overlap, 1]"},
        BadCase{"training_negatives_type", "[training]\nnegatives = \"yes\"\n" + kDevice,
                "training.negatives"},
        BadCase{"training_keep", "[training]\nkeep_versions = 1\n" + kDevice,
                "training.keep_versions = 1: must be >= 2"},
        BadCase{"training_unknown_key", "[training]\nlearning_rate = 0.5\n" + kDevice,
                "training.learning_rate = 0.5: unknown key"},
        BadCase{"expiry_below_delay",
                "[batcher]\nmax_delay_us = 5000\nmax_queue_delay_us = 100\n" + kDevice,
                "batcher.max_queue_delay_us = 100"},
        BadCase{"null_label_unknown", "[events]\nnull_label = \"idle\"\n" + kDevice,
                "events.null_label = \"idle\": must be one of model.labels"},
        BadCase{"labels_dup", "[model]\nlabels = [\"null\", \"a\", \"a\"]\n" + kDevice,
                "model.labels[2] = \"a\""},
        BadCase{"log_level", "[daemon]\nlog_level = \"loud\"\n" + kDevice,
                "daemon.log_level = \"loud\""},
        BadCase{"weights_missing", "[model]\nweights = \"/nonexistent/m.safetensors\"\n" + kDevice,
                "model.weights = \"/nonexistent/m.safetensors\": file does not exist"},
        BadCase{"sim_gesture",
                "[[devices]]\nid = \"a\"\nadapter = \"sim\"\ngestures = [\"jump\"]\n",
                "devices[0].gestures[0] = \"jump\""},
        BadCase{"array_elem_type", "[model]\nlabels = [\"null\", 3]\n" + kDevice,
                "model.labels[1] = 3: must be a string"},
        BadCase{"negative_int_for_seed", "[model]\nseed = -1\n" + kDevice,
                "model.seed = -1: must be a non-negative integer"},
        BadCase{"rate_device", "[[devices]]\nid = \"a\"\nadapter = \"sim\"\nrate_hz = 0\n",
                "devices[0].rate_hz = 0"},
        // live adapters
        BadCase{"serial_no_path", "[[devices]]\nid = \"s\"\nadapter = \"serial\"\n",
                "devices[0].path = (missing)"},
        BadCase{"serial_odd_baud",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/ttyACM0\"\nbaud = "
                "12345\n",
                "devices[0].baud = 12345: not a standard rate"},
        BadCase{"serial_data_bits",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/ttyACM0\"\ndata_bits "
                "= 9\n",
                "devices[0].data_bits = 9: must be in 5..8"},
        BadCase{"serial_stop_bits",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/ttyACM0\"\nstop_bits "
                "= 3\n",
                "devices[0].stop_bits = 3: must be 1 or 2"},
        BadCase{"serial_parity",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/ttyACM0\"\nparity = "
                "\"mark\"\n",
                "devices[0].parity = \"mark\": must be one of none, odd, even"},
        BadCase{"serial_backoff",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\nreconnect_min_s "
                "= 2.0\nreconnect_max_s = 1.0\n",
                "devices[0].reconnect_max_s = 1.0"},
        BadCase{"serial_idle",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\nidle_timeout_s "
                "= -1\n",
                "devices[0].idle_timeout_s = -1"},
        BadCase{
            "device_id_range",
            "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\ndevice_id = 70000\n",
            "devices[0].device_id = 70000: must be in 0..65535"},
        BadCase{"live_quat_order",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\nquat_order = "
                "\"xyzw\"\n",
                "devices[0].quat_order = \"xyzw\": the native codec delivers w,x,y,z"},
        BadCase{"codec_on_sim", "[[devices]]\nid = \"a\"\nadapter = \"sim\"\ncodec = \"native\"\n",
                "devices[0].codec = \"native\": codecs apply to serial, udp, ble and mqtt"},
        BadCase{
            "csv_no_columns",
            "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\ncodec = \"csv\"\n",
            "devices[0].csv_columns = (missing)"},
        BadCase{"csv_unknown_column",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\ncodec = "
                "\"csv\"\ncsv_columns = [\"acc_x\", \"acc_y\", \"acc_z\", \"temp\"]\n",
                "devices[0].csv_columns[3] = \"temp\": unknown column"},
        BadCase{"csv_twice",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\ncodec = "
                "\"csv\"\ncsv_columns = [\"acc_x\", \"acc_x\", \"acc_z\"]\n",
                "devices[0].csv_columns[1] = \"acc_x\": column named twice"},
        BadCase{"csv_no_acc",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\ncodec = "
                "\"csv\"\ncsv_columns = [\"t_ms\", \"gyro_x\", \"gyro_y\", \"gyro_z\"]\n",
                "devices[0].csv_columns = [...]: must include acc_x, acc_y and acc_z"},
        BadCase{"csv_partial_gyro",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\ncodec = "
                "\"csv\"\ncsv_columns = [\"acc_x\", \"acc_y\", \"acc_z\", \"gyro_x\"]\n",
                "devices[0].csv_columns = [...]: names only part of gyro_x"},
        BadCase{"csv_separator",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\ncodec = "
                "\"csv\"\ncsv_columns = [\"acc_x\", \"acc_y\", \"acc_z\"]\ncsv_separator = \".\"\n",
                "devices[0].csv_separator = \".\""},
        BadCase{"csv_columns_native",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\ncsv_columns = "
                "[\"acc_x\", \"acc_y\", \"acc_z\"]\n",
                "devices[0].csv_columns = [...]: only applies to codec = \"csv\""},
        BadCase{"witmotion_units",
                "[[devices]]\nid = \"s\"\nadapter = \"serial\"\npath = \"/dev/x\"\ncodec = "
                "\"witmotion\"\nacc_unit = \"m/s2\"\n",
                "devices[0].acc_unit = \"m/s2\": the witmotion codec delivers g"},
        BadCase{"udp_bind_host",
                "[[devices]]\nid = \"u\"\nadapter = \"udp\"\ndevice_id = 1\nudp_bind = "
                "\"localhost:9000\"\n",
                "devices[0].udp_bind = \"localhost:9000\": must be ADDRESS:PORT"},
        BadCase{"udp_bind_port",
                "[[devices]]\nid = \"u\"\nadapter = \"udp\"\ndevice_id = 1\nudp_bind = "
                "\"0.0.0.0:70000\"\n",
                "devices[0].udp_bind = \"0.0.0.0:70000\""},
        BadCase{"udp_no_device_id", "[[devices]]\nid = \"u\"\nadapter = \"udp\"\n",
                "devices[0].device_id = -1: a udp device found by payload needs its device_id"},
        BadCase{"udp_sender_missing",
                "[[devices]]\nid = \"u\"\nadapter = \"udp\"\nid_from = \"sender\"\n",
                "devices[0].udp_sender = (missing)"},
        BadCase{"udp_sender_bad",
                "[[devices]]\nid = \"u\"\nadapter = \"udp\"\nid_from = \"sender\"\nudp_sender = "
                "\"phone.local\"\n",
                "devices[0].udp_sender = \"phone.local\""},
        BadCase{"udp_witmotion_payload",
                "[[devices]]\nid = \"u\"\nadapter = \"udp\"\ncodec = \"witmotion\"\n",
                "devices[0].id_from = \"payload\": WitMotion frames carry no device id"},
        BadCase{"udp_same_id",
                "[[devices]]\nid = \"u1\"\nadapter = \"udp\"\ndevice_id = 4\n[[devices]]\nid = "
                "\"u2\"\nadapter = \"udp\"\ndevice_id = 4\n",
                "devices[1].device_id = 4: device id used twice on one socket"},
        BadCase{
            "udp_mixed_codecs",
            "[[devices]]\nid = \"u1\"\nadapter = \"udp\"\ndevice_id = 4\n[[devices]]\nid = "
            "\"u2\"\nadapter = \"udp\"\ndevice_id = 5\ncodec = \"csv\"\ncsv_columns = [\"device\", "
            "\"acc_x\", \"acc_y\", \"acc_z\"]\n",
            "devices[1].codec = \"csv\": devices found by payload on one socket need one codec"},
        BadCase{
            "udp_rcvbuf",
            "[[devices]]\nid = \"u\"\nadapter = \"udp\"\ndevice_id = 1\nudp_rcvbuf_bytes = 100\n",
            "devices[0].udp_rcvbuf_bytes = 100"},
        BadCase{"ble_no_target",
                "[[devices]]\nid = \"b\"\nadapter = \"ble\"\nble_service_uuid = "
                "\"ffe5\"\nble_char_uuid = \"ffe4\"\n",
                "devices[0].ble_address = (missing)"},
        BadCase{"ble_bad_address",
                "[[devices]]\nid = \"b\"\nadapter = \"ble\"\nble_address = "
                "\"AA:BB:CC\"\nble_service_uuid = \"ffe5\"\nble_char_uuid = \"ffe4\"\n",
                "devices[0].ble_address = \"AA:BB:CC\""},
        BadCase{"ble_no_char",
                "[[devices]]\nid = \"b\"\nadapter = \"ble\"\nble_name = "
                "\"WT901BLE67\"\nble_service_uuid = \"ffe5\"\n",
                "devices[0].ble_char_uuid = (missing)"},
        BadCase{"ble_bad_uuid",
                "[[devices]]\nid = \"b\"\nadapter = \"ble\"\nble_name = \"x\"\nble_service_uuid = "
                "\"ffe5\"\nble_char_uuid = \"not-a-uuid\"\n",
                "devices[0].ble_char_uuid = \"not-a-uuid\""},
        BadCase{"ble_bad_hex",
                "[[devices]]\nid = \"b\"\nadapter = \"ble\"\nble_name = \"x\"\nble_service_uuid = "
                "\"ffe5\"\nble_char_uuid = \"ffe4\"\nble_write_uuid = \"ffe9\"\nble_write_hex = "
                "\"ff a\"\n",
                "devices[0].ble_write_hex = \"ff a\""},
        BadCase{"ble_hex_without_uuid",
                "[[devices]]\nid = \"b\"\nadapter = \"ble\"\nble_name = \"x\"\nble_service_uuid = "
                "\"ffe5\"\nble_char_uuid = \"ffe4\"\nble_write_hex = \"ff\"\n",
                "devices[0].ble_write_hex = \"ff\": needs ble_write_uuid"},
        BadCase{"replay_format",
                "[[devices]]\nid = \"r\"\nadapter = \"replay\"\npath = \"/x\"\nformat = \"npz\"\n",
                "devices[0].format = \"npz\": must be one of csv, cmi, capture"},
        BadCase{
            "replay_time_unit",
            "[[devices]]\nid = \"r\"\nadapter = \"replay\"\npath = \"/\"\ntime_unit = \"min\"\n",
            "devices[0].time_unit = \"min\": must be one of s, ms, us, ns"}),
    [](const ::testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

TEST(Config, LiveAdaptersGetTheirDefaultsAndNormalisedValues) {
  const Config c = load_config_string(R"(
[[devices]]
id = "wrist"
adapter = "serial"
path = "/dev/serial/by-id/usb-primus-if00"
baud = 921600
parity = "even"
stop_bits = 2
flow_control = "hardware"
[[devices]]
id = "wit"
adapter = "serial"
path = "/dev/ttyUSB0"
codec = "witmotion"
[[devices]]
id = "phone1"
adapter = "udp"
codec = "csv"
csv_columns = ["device", "t_ms", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
device_id = 1
udp_bind = "[::]:9100"
[[devices]]
id = "gw"
adapter = "udp"
id_from = "sender"
udp_sender = "127.0.0.1:5000"
udp_bind = "[::]:9100"
[[devices]]
id = "band"
adapter = "ble"
ble_address = "aa:bb:cc:dd:ee:0f"
ble_service_uuid = "FFE5"
ble_char_uuid = "0000FFE4-0000-1000-8000-00805F9B34FB"
ble_write_uuid = "ffe9"
ble_write_hex = "FF aa 03 08 00"
)");
  const auto& s = c.devices.at(0);
  EXPECT_EQ(s.codec, CodecKind::kNative);
  EXPECT_EQ(s.baud, 921600);
  EXPECT_EQ(s.parity, Parity::kEven);
  EXPECT_EQ(s.stop_bits, 2);
  EXPECT_EQ(s.flow_control, FlowControl::kHardware);
  EXPECT_EQ(s.device_id, -1);
  const auto& w = c.devices.at(1);
  EXPECT_EQ(w.acc_unit, AccUnit::kG);  // witmotion's own units by default
  EXPECT_EQ(w.gyro_unit, GyroUnit::kDegPerSec);
  EXPECT_EQ(c.devices.at(2).codec, CodecKind::kCsv);
  EXPECT_EQ(c.devices.at(3).id_from, IdFrom::kSender);
  const auto& b = c.devices.at(4);
  EXPECT_EQ(b.ble_address, "AA:BB:CC:DD:EE:0F");
  EXPECT_EQ(b.ble_service_uuid, "0000ffe5-0000-1000-8000-00805f9b34fb");
  EXPECT_EQ(b.ble_char_uuid, "0000ffe4-0000-1000-8000-00805f9b34fb");
  EXPECT_EQ(b.ble_write_bytes, (std::vector<std::uint8_t>{0xff, 0xaa, 0x03, 0x08, 0x00}));
}

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
  b.events.onset_threshold = 0.8;
  b.daemon.log_level = "debug";
  b.window.hop = 20;
  std::vector<std::string> restart;
  const auto live = diff_live(a, b, restart);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_NE(live[0].find("daemon.log_level: info -> debug"), std::string::npos);
  EXPECT_NE(live[1].find("events.onset_threshold: 0.6 -> 0.8"), std::string::npos);
  ASSERT_EQ(restart.size(), 1u);
  EXPECT_EQ(restart[0], "window");
}

}  // namespace
}  // namespace primus
