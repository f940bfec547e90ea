// Three stages: parse (types, unknown keys) -> defaults (the struct initialisers) -> validate.
#include "src/config/config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace primus {
namespace {

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

[[noreturn]] void fail(const std::string& path, const std::string& value, const std::string& why) {
  throw ConfigError(path + " = " + value + ": " + why);
}

/// Reads one TOML table, remembering which keys were consumed so the rest can be reported.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string path) : t_(t), path_(std::move(path)) {}

  std::string key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const toml::node* node(std::string_view key) {
    seen_.insert(std::string(key));
    return t_.get(key);
  }

  void get(std::string_view key, std::string& out) {
    if (auto* n = node(key)) {
      auto v = n->value<std::string>();
      if (!n->is_string() || !v) fail(key_path(key), render(*n), "must be a string");
      out = *v;
    }
  }
  void get(std::string_view key, bool& out) {
    if (auto* n = node(key)) {
      if (!n->is_boolean()) fail(key_path(key), render(*n), "must be true or false");
      out = *n->value<bool>();
    }
  }
  void get(std::string_view key, int& out) {
    if (auto* n = node(key)) {
      if (!n->is_integer()) fail(key_path(key), render(*n), "must be an integer");
      const auto v = *n->value<std::int64_t>();
      if (v < INT32_MIN || v > INT32_MAX) fail(key_path(key), render(*n), "out of range");
      out = static_cast<int>(v);
    }
  }
  void get(std::string_view key, std::uint64_t& out) {
    if (auto* n = node(key)) {
      if (!n->is_integer() || *n->value<std::int64_t>() < 0)
        fail(key_path(key), render(*n), "must be a non-negative integer");
      out = static_cast<std::uint64_t>(*n->value<std::int64_t>());
    }
  }
  void get(std::string_view key, std::int64_t& out) {
    if (auto* n = node(key)) {
      if (!n->is_integer()) fail(key_path(key), render(*n), "must be an integer");
      out = *n->value<std::int64_t>();
    }
  }
  void get(std::string_view key, double& out) {
    if (auto* n = node(key)) {
      if (!n->is_number()) fail(key_path(key), render(*n), "must be a number");
      out = *n->value<double>();
      if (!std::isfinite(out)) fail(key_path(key), render(*n), "must be finite");
    }
  }
  void get(std::string_view key, std::vector<std::string>& out) {
    if (auto* n = node(key)) {
      auto* arr = n->as_array();
      if (!arr) fail(key_path(key), render(*n), "must be an array of strings");
      out.clear();
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const auto& e = *arr->get(i);
        if (!e.is_string())
          fail(key_path(key) + "[" + std::to_string(i) + "]", render(e), "must be a string");
        out.push_back(*e.value<std::string>());
      }
    }
  }
  template <typename E>
  void get_enum(std::string_view key, E& out,
                std::initializer_list<std::pair<const char*, E>> choices) {
    if (auto* n = node(key)) {
      std::string allowed;
      for (const auto& [name, val] : choices)
        allowed += (allowed.empty() ? "" : ", ") + std::string(name);
      if (!n->is_string()) fail(key_path(key), render(*n), "must be one of " + allowed);
      const auto s = *n->value<std::string>();
      for (const auto& [name, val] : choices) {
        if (s == name) {
          out = val;
          return;
        }
      }
      fail(key_path(key), quote(s), "must be one of " + allowed);
    }
  }

  /// A sub-table (or nullptr if absent); errors if present but not a table.
  const toml::table* table(std::string_view key) {
    auto* n = node(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(key_path(key), render(*n), "must be a table");
    return n->as_table();
  }

  /// Every key not read is unknown: an error.
  void finish() const {
    for (const auto& [k, v] : t_) {
      if (!seen_.count(std::string(k.str()))) fail(key_path(k.str()), render(v), "unknown key");
    }
  }

 private:
  const toml::table& t_;
  std::string path_;
  std::set<std::string> seen_;
};

AxisMap parse_axis_map(const std::string& path, const std::vector<std::string>& v) {
  if (v.size() != 3) fail(path, "[...]", "must list 3 axes, e.g. [\"x\", \"-z\", \"y\"]");
  AxisMap m;
  std::array<bool, 3> used{};
  for (int i = 0; i < 3; ++i) {
    std::string s = v[i];
    int sign = 1;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
      sign = s[0] == '-' ? -1 : 1;
      s = s.substr(1);
    }
    if (s != "x" && s != "y" && s != "z")
      fail(path + "[" + std::to_string(i) + "]", quote(v[i]),
           "must be x, y or z with an optional sign");
    const int axis = s[0] - 'x';
    if (used[axis]) fail(path + "[" + std::to_string(i) + "]", quote(v[i]), "axis used twice");
    used[axis] = true;
    m.perm[i] = axis;
    m.sign[i] = sign;
  }
  return m;
}

void parse_device(const toml::table& t, const std::string& path, DeviceConfig& d) {
  TableReader r(t, path);
  r.get("id", d.id);
  if (!t.contains("id")) fail(path + ".id", "(missing)", "every device needs an id");
  if (!t.contains("adapter"))
    fail(path + ".adapter", "(missing)", "must be one of sim, replay, serial, udp, ble");
  r.get_enum("adapter", d.adapter,
             {{"sim", AdapterKind::kSim},
              {"replay", AdapterKind::kReplay},
              {"serial", AdapterKind::kSerial},
              {"udp", AdapterKind::kUdp},
              {"ble", AdapterKind::kBle}});
  r.get_enum("codec", d.codec,
             {{"none", CodecKind::kNone},
              {"native", CodecKind::kNative},
              {"csv", CodecKind::kCsv},
              {"witmotion", CodecKind::kWitmotion}});
  r.get("rate_hz", d.rate_hz);
  r.get_enum("quat_order", d.quat_order, {{"wxyz", QuatOrder::kWxyz}, {"xyzw", QuatOrder::kXyzw}});
  r.get_enum("acc_unit", d.acc_unit, {{"m/s2", AccUnit::kMps2}, {"g", AccUnit::kG}});
  r.get_enum("gyro_unit", d.gyro_unit,
             {{"rad/s", GyroUnit::kRadPerSec}, {"deg/s", GyroUnit::kDegPerSec}});
  r.get_enum("gyro_source", d.gyro_source,
             {{"auto", GyroSource::kAuto},
              {"measured", GyroSource::kMeasured},
              {"from_quaternion", GyroSource::kFromQuaternion}});
  std::vector<std::string> axes;
  if (t.contains("axis_map")) {
    r.get("axis_map", axes);
    d.axis_map = parse_axis_map(r.key_path("axis_map"), axes);
  }
  r.get("max_gap_s", d.max_gap_s);
  r.get("path", d.path);
  r.get("device_id", d.device_id);
  r.get("csv_columns", d.csv_columns);
  r.get("csv_separator", d.csv_separator);
  r.get("baud", d.baud);
  r.get("data_bits", d.data_bits);
  r.get_enum("parity", d.parity,
             {{"none", Parity::kNone}, {"odd", Parity::kOdd}, {"even", Parity::kEven}});
  r.get("stop_bits", d.stop_bits);
  r.get_enum("flow_control", d.flow_control,
             {{"none", FlowControl::kNone},
              {"hardware", FlowControl::kHardware},
              {"software", FlowControl::kSoftware}});
  r.get("reconnect_min_s", d.reconnect_min_s);
  r.get("reconnect_max_s", d.reconnect_max_s);
  r.get("idle_timeout_s", d.idle_timeout_s);
  r.get("udp_bind", d.udp_bind);
  r.get_enum("id_from", d.id_from, {{"payload", IdFrom::kPayload}, {"sender", IdFrom::kSender}});
  r.get("udp_sender", d.udp_sender);
  r.get("udp_rcvbuf_bytes", d.udp_rcvbuf_bytes);
  r.get("ble_adapter", d.ble_adapter);
  r.get("ble_address", d.ble_address);
  r.get("ble_name", d.ble_name);
  r.get("ble_service_uuid", d.ble_service_uuid);
  r.get("ble_char_uuid", d.ble_char_uuid);
  r.get("ble_write_uuid", d.ble_write_uuid);
  r.get("ble_write_hex", d.ble_write_hex);
  r.get("ble_connect_timeout_s", d.ble_connect_timeout_s);
  r.get_enum("format", d.format,
             {{"csv", ReplayFormat::kCsv},
              {"cmi", ReplayFormat::kCmi},
              {"capture", ReplayFormat::kCapture}});
  r.get("speed", d.speed);
  r.get("loop", d.loop);
  r.get("time_column", d.time_column);
  r.get("time_unit", d.time_unit);
  r.get("acc_columns", d.acc_columns);
  r.get("gyro_columns", d.gyro_columns);
  r.get("quat_columns", d.quat_columns);
  r.get("sequence_id", d.sequence_id);
  r.get("seed", d.seed);
  r.get("gestures", d.gestures);
  // Codec-dependent defaults: live adapters speak the native frame unless told otherwise, and
  // WitMotion sensors report g and deg/s.
  if (is_live(d.adapter) && d.codec == CodecKind::kNone) d.codec = CodecKind::kNative;
  if (d.codec == CodecKind::kWitmotion) {
    if (!t.contains("acc_unit")) d.acc_unit = AccUnit::kG;
    if (!t.contains("gyro_unit")) d.gyro_unit = GyroUnit::kDegPerSec;
  }
  r.finish();
}

Config parse(const toml::table& root) {
  Config c;
  TableReader top(root, "");
  if (auto* t = top.table("daemon")) {
    TableReader r(*t, "daemon");
    r.get("log_level", c.daemon.log_level);
    r.get("state_dir", c.daemon.state_dir);
    r.get("runtime_dir", c.daemon.runtime_dir);
    r.get("watchdog_ms", c.daemon.watchdog_ms);
    r.get("status_interval_s", c.daemon.status_interval_s);
    r.finish();
  }
  if (auto* t = top.table("model")) {
    TableReader r(*t, "model");
    r.get("weights", c.model.weights);
    r.get("device", c.model.device);
    r.get("threads", c.model.threads);
    r.get_enum("embedding", c.model.embedding,
               {{"mmcl", EmbeddingChoice::kMmcl},
                {"ssl", EmbeddingChoice::kSsl},
                {"emb", EmbeddingChoice::kEmb}});
    r.get("labels", c.model.labels);
    r.get("seed", c.model.seed);
    r.finish();
  }
  if (auto* t = top.table("window")) {
    TableReader r(*t, "window");
    r.get("rate_hz", c.window.rate_hz);
    r.get("length", c.window.length);
    r.get("hop", c.window.hop);
    r.finish();
  }
  if (auto* t = top.table("batcher")) {
    TableReader r(*t, "batcher");
    r.get("max_batch", c.batcher.max_batch);
    r.get("max_delay_us", c.batcher.max_delay_us);
    r.get("queue", c.batcher.queue);
    r.get("max_queue_delay_us", c.batcher.max_queue_delay_us);
    r.finish();
  }
  if (auto* t = top.table("events")) {
    TableReader r(*t, "events");
    r.get("onset_threshold", c.events.onset_threshold);
    r.get("release_threshold", c.events.release_threshold);
    r.get("smoothing_windows", c.events.smoothing_windows);
    r.get("margin", c.events.margin);
    r.get("min_duration_ms", c.events.min_duration_ms);
    r.get("refractory_ms", c.events.refractory_ms);
    r.get("null_label", c.events.null_label);
    r.get("publish_scores", c.events.publish_scores);
    r.finish();
  }
  if (auto* t = top.table("bus")) {
    TableReader r(*t, "bus");
    r.get("publish", c.bus.publish);
    r.get("sndhwm", c.bus.sndhwm);
    r.get("queue", c.bus.queue);
    r.get("allow_insecure_tcp", c.bus.allow_insecure_tcp);
    r.get("curve_secret_key", c.bus.curve_secret_key);
    r.get("curve_authorized_keys", c.bus.curve_authorized_keys);
    r.finish();
  }
  if (auto* t = top.table("metrics")) {
    TableReader r(*t, "metrics");
    r.get("listen", c.metrics.listen);
    r.finish();
  }
  if (auto* t = top.table("control")) {
    TableReader r(*t, "control");
    r.get("listen", c.control.listen);
    r.get("max_request_bytes", c.control.max_request_bytes);
    r.get("max_in_flight", c.control.max_in_flight);
    r.finish();
  }
  if (auto* t = top.table("capture")) {
    TableReader r(*t, "capture");
    r.get("database", c.capture.database);
    r.get("max_bytes", c.capture.max_bytes);
    r.get("max_age_s", c.capture.max_age_s);
    r.get("max_label_s", c.capture.max_label_s);
    r.get("min_label_s", c.capture.min_label_s);
    r.get("queue", c.capture.queue);
    r.finish();
  }
  if (auto* t = top.table("training")) {
    TableReader r(*t, "training");
    r.get("registry", c.training.registry);
    r.get_enum("mode", c.training.mode,
               {{"head", FinetuneMode::kHead},
                {"full", FinetuneMode::kFull},
                {"staged", FinetuneMode::kStaged}});
    r.get("epochs", c.training.epochs);
    r.get("head_epochs", c.training.head_epochs);
    r.get("batch_size", c.training.batch_size);
    r.get("lr", c.training.lr);
    r.get("encoder_lr", c.training.encoder_lr);
    r.get("weight_decay", c.training.weight_decay);
    r.get("warmup_fraction", c.training.warmup_fraction);
    r.get("patience", c.training.patience);
    r.get("val_fraction", c.training.val_fraction);
    r.get("stride", c.training.stride);
    r.get("augment", c.training.augment);
    r.get("balance", c.training.balance);
    r.get("threads", c.training.threads);
    r.get("gate_margin", c.training.gate_margin);
    r.get("schedule_minutes", c.training.schedule_minutes);
    r.get("min_new_windows", c.training.min_new_windows);
    r.get("keep_versions", c.training.keep_versions);
    r.get("seed", c.training.seed);
    r.finish();
  }
  if (auto* n = top.node("devices")) {
    auto* arr = n->as_array();
    if (!arr) fail("devices", render(*n), "must be an array of tables ([[devices]])");
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const std::string path = "devices[" + std::to_string(i) + "]";
      auto* dt = arr->get(i)->as_table();
      if (!dt) fail(path, render(*arr->get(i)), "must be a table");
      DeviceConfig d;
      parse_device(*dt, path, d);
      c.devices.push_back(std::move(d));
    }
  }
  top.finish();
  return c;
}

bool valid_endpoint(const std::string& e) {
  static const std::regex re(
      R"(^(tcp://(\*|[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):[0-9]{1,5}|ipc://.+|inproc://.+)$)");
  if (!std::regex_match(e, re)) return false;
  if (e.rfind("tcp://", 0) == 0) {
    const auto port = std::stol(e.substr(e.rfind(':') + 1));
    return port > 0 && port < 65536;
  }
  return true;
}

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

/// tcp://127.x.x.x:P, tcp://localhost:P, tcp://[::1]:P.
bool is_loopback_tcp(const std::string& ep) {
  const std::string host = ep.substr(6, ep.rfind(':') - 6);
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
}

bool standard_baud(int b) {
  static const std::set<int> rates{
      50,     75,     110,     134,     150,     200,     300,     600,     1200,    1800,
      2400,   4800,   9600,    19200,   38400,   57600,   115200,  230400,  460800,  500000,
      576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000};
  return rates.count(b) > 0;
}

/// "ADDRESS:PORT" or "[V6]:PORT" with a numeric address and a port in 1..65535 (0 allowed when
/// `allow_port0`); `port_optional` accepts a bare address.
bool valid_host_port(const std::string& s, bool port_optional) {
  std::string host = s;
  std::string port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos) return false;
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return false;
      port = s.substr(close + 2);
      if (port.empty()) return false;
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return false;
  } else {
    const auto colon = s.rfind(':');
    if (colon != std::string::npos) {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      if (port.empty()) return false;
    }
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1) return false;
  }
  if (port.empty()) return port_optional;
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const long v = std::stol(port);
  return v >= 1 && v <= 65535;
}

/// 16-bit ("ffe4"), 32-bit or 128-bit UUID -> lower-case 128-bit form; empty on error.
std::string normalise_uuid(const std::string& u) {
  static const std::regex short_re(R"(^(0x)?([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})$)");
  static const std::regex long_re(
      R"(^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$)");
  std::smatch m;
  std::string out;
  if (std::regex_match(u, m, short_re)) {
    out = m[2].str();
    out = std::string(8 - out.size(), '0') + out + "-0000-1000-8000-00805f9b34fb";
  } else if (std::regex_match(u, long_re)) {
    out = u;
  } else {
    return {};
  }
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// "ff aa 03" / "ffaa03" / "ff:aa:03" -> bytes; false on odd digit counts or non-hex.
bool parse_hex(const std::string& s, std::vector<std::uint8_t>& out) {
  out.clear();
  int hi = -1;
  for (char c : s) {
    if (c == ' ' || c == ':' || c == '-' || c == ',') {
      if (hi >= 0) return false;
      continue;
    }
    int v = -1;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    if (v < 0) return false;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  return hi < 0 && !out.empty();
}

void resolve(std::string& p, const std::filesystem::path& base) {
  if (!p.empty() && !base.empty() && std::filesystem::path(p).is_relative())
    p = (base / p).lexically_normal().string();
}

void validate_live(DeviceConfig& d, const std::string& p) {
  if (d.device_id < -1 || d.device_id > 65535)
    fail(p + ".device_id", std::to_string(d.device_id), "must be in 0..65535 (or -1: any)");
  if (!(d.reconnect_min_s > 0 && d.reconnect_min_s <= 3600))
    fail(p + ".reconnect_min_s", std::to_string(d.reconnect_min_s), "must be in (0, 3600]");
  if (!(d.reconnect_max_s >= d.reconnect_min_s && d.reconnect_max_s <= 3600))
    fail(p + ".reconnect_max_s", std::to_string(d.reconnect_max_s),
         "must be in [reconnect_min_s, 3600]");
  if (!(d.idle_timeout_s >= 0 && d.idle_timeout_s <= 86400))
    fail(p + ".idle_timeout_s", std::to_string(d.idle_timeout_s),
         "must be in [0, 86400] (0 = off)");
  switch (d.codec) {
    case CodecKind::kCsv: {
      if (d.csv_columns.empty())
        fail(p + ".csv_columns", "(missing)",
             "the csv codec needs the column list, e.g. [\"t_ms\", \"acc_x\", ...]");
      std::set<std::string> seen;
      for (std::size_t i = 0; i < d.csv_columns.size(); ++i) {
        const auto& n = d.csv_columns[i];
        static const std::set<std::string> known{"skip",   "seq",    "t_s",    "t_ms",   "t_us",
                                                 "device", "acc_x",  "acc_y",  "acc_z",  "gyro_x",
                                                 "gyro_y", "gyro_z", "quat_w", "quat_x", "quat_y",
                                                 "quat_z", "mag_x",  "mag_y",  "mag_z"};
        const std::string k = p + ".csv_columns[" + std::to_string(i) + "]";
        if (!known.count(n))
          fail(k, quote(n),
               "unknown column (skip, seq, t_s, t_ms, t_us, device, acc_x..z, gyro_x..z, "
               "quat_w..z, mag_x..z)");
        if (n != "skip" && !seen.insert(n).second) fail(k, quote(n), "column named twice");
      }
      auto all = [&](std::initializer_list<const char*> names) {
        std::size_t have = 0;
        for (const char* n : names) have += seen.count(n);
        return have;
      };
      if (all({"acc_x", "acc_y", "acc_z"}) != 3)
        fail(p + ".csv_columns", "[...]", "must include acc_x, acc_y and acc_z");
      for (auto set : {std::initializer_list<const char*>{"gyro_x", "gyro_y", "gyro_z"},
                       std::initializer_list<const char*>{"quat_w", "quat_x", "quat_y", "quat_z"},
                       std::initializer_list<const char*>{"mag_x", "mag_y", "mag_z"}}) {
        const auto n = all(set);
        if (n != 0 && n != set.size())
          fail(p + ".csv_columns", "[...]",
               std::string("names only part of ") + *set.begin() + "..; list all or none");
      }
      if (all({"t_s", "t_ms", "t_us"}) > 1)
        fail(p + ".csv_columns", "[...]", "at most one of t_s, t_ms, t_us");
      if (d.csv_separator.size() != 1 || d.csv_separator == "\n" || d.csv_separator == "\r" ||
          d.csv_separator == "." || d.csv_separator == "-" || d.csv_separator == "+" ||
          (d.csv_separator[0] >= '0' && d.csv_separator[0] <= '9'))
        fail(p + ".csv_separator", quote(d.csv_separator),
             "must be one character that cannot appear in a number");
      break;
    }
    case CodecKind::kWitmotion:
      if (d.acc_unit != AccUnit::kG)
        fail(p + ".acc_unit", "\"m/s2\"", "the witmotion codec delivers g; remove acc_unit");
      if (d.gyro_unit != GyroUnit::kDegPerSec)
        fail(p + ".gyro_unit", "\"rad/s\"", "the witmotion codec delivers deg/s; remove gyro_unit");
      if (d.device_id != -1)
        fail(p + ".device_id", std::to_string(d.device_id), "WitMotion frames carry no device id");
      break;
    default:
      break;
  }
  if (d.codec != CodecKind::kCsv && !d.csv_columns.empty())
    fail(p + ".csv_columns", "[...]", "only applies to codec = \"csv\"");
  switch (d.adapter) {
    case AdapterKind::kSerial:
      if (d.path.empty())
        fail(p + ".path", "(missing)",
             "a serial device needs its port, e.g. /dev/ttyACM0 or /dev/serial/by-id/...");
      if (d.baud <= 0) fail(p + ".baud", std::to_string(d.baud), "must be > 0");
      if (!standard_baud(d.baud))
        fail(p + ".baud", std::to_string(d.baud),
             "not a standard rate (e.g. 9600, 115200, 921600)");
      if (d.data_bits < 5 || d.data_bits > 8)
        fail(p + ".data_bits", std::to_string(d.data_bits), "must be in 5..8");
      if (d.stop_bits != 1 && d.stop_bits != 2)
        fail(p + ".stop_bits", std::to_string(d.stop_bits), "must be 1 or 2");
      break;
    case AdapterKind::kUdp:
      if (!valid_host_port(d.udp_bind, false))
        fail(p + ".udp_bind", quote(d.udp_bind),
             "must be ADDRESS:PORT with a numeric address, e.g. 0.0.0.0:9000 or [::]:9000");
      if (d.udp_rcvbuf_bytes < 65536)
        fail(p + ".udp_rcvbuf_bytes", std::to_string(d.udp_rcvbuf_bytes), "must be >= 65536");
      if (d.id_from == IdFrom::kSender) {
        if (d.udp_sender.empty())
          fail(p + ".udp_sender", "(missing)",
               "id_from = \"sender\" needs the sender's ADDRESS or ADDRESS:PORT");
        if (!valid_host_port(d.udp_sender, true))
          fail(p + ".udp_sender", quote(d.udp_sender),
               "must be ADDRESS or ADDRESS:PORT with a numeric address");
      } else {
        if (!d.udp_sender.empty())
          fail(p + ".udp_sender", quote(d.udp_sender), "only applies to id_from = \"sender\"");
        if (d.codec == CodecKind::kWitmotion)
          fail(p + ".id_from", "\"payload\"",
               "WitMotion frames carry no device id; use id_from = \"sender\"");
        if (d.device_id < 0)
          fail(p + ".device_id", std::to_string(d.device_id),
               "a udp device found by payload needs its device_id (0..65535)");
      }
      break;
    case AdapterKind::kBle: {
      static const std::regex addr_re(R"(^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$)");
      static const std::regex hci_re(R"(^hci[0-9]{1,3}$)");
      if (!std::regex_match(d.ble_adapter, hci_re))
        fail(p + ".ble_adapter", quote(d.ble_adapter), "must be hciN");
      if (d.ble_address.empty() && d.ble_name.empty())
        fail(p + ".ble_address", "(missing)", "a ble device needs ble_address or ble_name");
      if (!d.ble_address.empty()) {
        if (!std::regex_match(d.ble_address, addr_re))
          fail(p + ".ble_address", quote(d.ble_address), "must look like AA:BB:CC:DD:EE:FF");
        for (auto& ch : d.ble_address)
          ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      }
      auto uuid = [&](const char* key, std::string& v, bool required) {
        if (v.empty()) {
          if (required)
            fail(p + "." + key, "(missing)",
                 "needs a GATT UUID, e.g. \"0000ffe4-0000-1000-8000-00805f9b34fb\" or \"ffe4\"");
          return;
        }
        const auto n = normalise_uuid(v);
        if (n.empty())
          fail(p + "." + key, quote(v),
               "must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, or 4/8 hex digits)");
        v = n;
      };
      uuid("ble_service_uuid", d.ble_service_uuid, true);
      uuid("ble_char_uuid", d.ble_char_uuid, true);
      uuid("ble_write_uuid", d.ble_write_uuid, false);
      if (!d.ble_write_hex.empty()) {
        if (d.ble_write_uuid.empty())
          fail(p + ".ble_write_hex", quote(d.ble_write_hex), "needs ble_write_uuid");
        if (!parse_hex(d.ble_write_hex, d.ble_write_bytes) || d.ble_write_bytes.size() > 512)
          fail(p + ".ble_write_hex", quote(d.ble_write_hex),
               "must be 1..512 bytes of hex, e.g. \"ff aa 03 08 00\"");
      } else if (!d.ble_write_uuid.empty()) {
        fail(p + ".ble_write_uuid", quote(d.ble_write_uuid),
             "set ble_write_hex too (the bytes to write)");
      }
      if (!(d.ble_connect_timeout_s > 0 && d.ble_connect_timeout_s <= 600))
        fail(p + ".ble_connect_timeout_s", std::to_string(d.ble_connect_timeout_s),
             "must be in (0, 600]");
      break;
    }
    default:
      break;
  }
}

/// Devices on one UDP socket must agree on how datagrams are read and routed.
void validate_udp_sharing(const Config& c) {
  for (std::size_t i = 0; i < c.devices.size(); ++i) {
    const auto& a = c.devices[i];
    if (a.adapter != AdapterKind::kUdp) continue;
    for (std::size_t j = 0; j < i; ++j) {
      const auto& b = c.devices[j];
      if (b.adapter != AdapterKind::kUdp || b.udp_bind != a.udp_bind) continue;
      const std::string p = "devices[" + std::to_string(i) + "]";
      const std::string other =
          " (as devices[" + std::to_string(j) + "] " + b.id + " on " + a.udp_bind + ")";
      if (a.id_from == IdFrom::kPayload && b.id_from == IdFrom::kPayload) {
        if (a.codec != b.codec)
          fail(p + ".codec", quote(to_string(a.codec)),
               "devices found by payload on one socket need one codec" + other);
        if (a.device_id == b.device_id)
          fail(p + ".device_id", std::to_string(a.device_id),
               "device id used twice on one socket" + other);
        if (a.codec == CodecKind::kCsv &&
            (a.csv_columns != b.csv_columns || a.csv_separator != b.csv_separator))
          fail(p + ".csv_columns", "[...]",
               "devices found by payload on one socket need the same columns" + other);
      }
      if (a.id_from == IdFrom::kSender && b.id_from == IdFrom::kSender &&
          a.udp_sender == b.udp_sender)
        fail(p + ".udp_sender", quote(a.udp_sender), "sender used twice on one socket" + other);
      if (a.udp_rcvbuf_bytes != b.udp_rcvbuf_bytes)
        fail(p + ".udp_rcvbuf_bytes", std::to_string(a.udp_rcvbuf_bytes), "differs from" + other);
    }
  }
}

void validate(Config& c, const std::filesystem::path& base) {
  static const std::set<std::string> levels{"trace", "debug",    "info", "warn",
                                            "error", "critical", "off"};
  if (!levels.count(c.daemon.log_level))
    fail("daemon.log_level", quote(c.daemon.log_level),
         "must be one of trace, debug, info, warn, error, critical, off");
  if (c.daemon.state_dir.empty()) fail("daemon.state_dir", "\"\"", "must not be empty");
  if (c.daemon.runtime_dir.empty()) fail("daemon.runtime_dir", "\"\"", "must not be empty");
  if (c.daemon.watchdog_ms < 0)
    fail("daemon.watchdog_ms", std::to_string(c.daemon.watchdog_ms), "must be >= 0");
  if (c.daemon.status_interval_s <= 0)
    fail("daemon.status_interval_s", std::to_string(c.daemon.status_interval_s), "must be > 0");

  static const std::regex dev_re(R"(^(auto|cpu|cuda|cuda:[0-9]+)$)");
  if (!std::regex_match(c.model.device, dev_re))
    fail("model.device", quote(c.model.device), "must be auto, cpu, cuda or cuda:N");
  if (c.model.threads < 1 || c.model.threads > 256)
    fail("model.threads", std::to_string(c.model.threads), "must be in 1..256");
  if (c.model.labels.size() < 2)
    fail("model.labels", "[...]", "needs at least 2 labels (a null class and one gesture)");
  {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < c.model.labels.size(); ++i) {
      if (c.model.labels[i].empty() || !seen.insert(c.model.labels[i]).second)
        fail("model.labels[" + std::to_string(i) + "]", quote(c.model.labels[i]),
             "labels must be non-empty and unique");
    }
  }
  resolve(c.model.weights, base);
  if (!c.model.weights.empty() && !std::filesystem::exists(c.model.weights))
    fail("model.weights", quote(c.model.weights), "file does not exist");

  if (!(c.window.rate_hz > 0 && c.window.rate_hz <= 1000))
    fail("window.rate_hz", std::to_string(c.window.rate_hz), "must be in (0, 1000]");
  if (c.window.length < 123)
    fail("window.length", std::to_string(c.window.length),
         "must be >= 123 (the PRIMUS encoder's shortest input)");
  if (c.window.length > 100000)
    fail("window.length", std::to_string(c.window.length), "must be <= 100000");
  if (c.window.hop < 1 || c.window.hop > c.window.length)
    fail("window.hop", std::to_string(c.window.hop), "must be in 1..window.length");

  if (c.batcher.max_batch < 1 || c.batcher.max_batch > 1024)
    fail("batcher.max_batch", std::to_string(c.batcher.max_batch), "must be in 1..1024");
  if (c.batcher.max_delay_us < 0 || c.batcher.max_delay_us > 10'000'000)
    fail("batcher.max_delay_us", std::to_string(c.batcher.max_delay_us), "must be in 0..10000000");
  if (c.batcher.queue < c.batcher.max_batch)
    fail("batcher.queue", std::to_string(c.batcher.queue), "must be >= batcher.max_batch");

  if (c.batcher.max_queue_delay_us < 0)
    fail("batcher.max_queue_delay_us", std::to_string(c.batcher.max_queue_delay_us),
         "must be >= 0 (0 = never expire)");
  if (c.batcher.max_queue_delay_us > 0 && c.batcher.max_queue_delay_us < c.batcher.max_delay_us)
    fail("batcher.max_queue_delay_us", std::to_string(c.batcher.max_queue_delay_us),
         "must be 0 or >= batcher.max_delay_us");

  if (!(c.events.onset_threshold >= 0 && c.events.onset_threshold <= 1))
    fail("events.onset_threshold", num(c.events.onset_threshold), "must be in [0, 1]");
  if (!(c.events.release_threshold >= 0 && c.events.release_threshold <= c.events.onset_threshold))
    fail("events.release_threshold", num(c.events.release_threshold),
         "must be in [0, events.onset_threshold]");
  if (c.events.smoothing_windows < 1 || c.events.smoothing_windows > 1000)
    fail("events.smoothing_windows", std::to_string(c.events.smoothing_windows),
         "must be in 1..1000");
  if (!(c.events.margin >= 0 && c.events.margin < 1))
    fail("events.margin", num(c.events.margin), "must be in [0, 1)");
  if (c.events.min_duration_ms < 0)
    fail("events.min_duration_ms", std::to_string(c.events.min_duration_ms), "must be >= 0");
  if (c.events.refractory_ms < 0)
    fail("events.refractory_ms", std::to_string(c.events.refractory_ms), "must be >= 0");
  if (std::find(c.model.labels.begin(), c.model.labels.end(), c.events.null_label) ==
      c.model.labels.end())
    fail("events.null_label", quote(c.events.null_label), "must be one of model.labels");

  for (std::size_t i = 0; i < c.bus.publish.size(); ++i) {
    if (!valid_endpoint(c.bus.publish[i]))
      fail("bus.publish[" + std::to_string(i) + "]", quote(c.bus.publish[i]),
           "must be tcp://HOST:PORT, ipc://PATH or inproc://NAME");
  }
  resolve(c.bus.curve_secret_key, base);
  resolve(c.bus.curve_authorized_keys, base);
  if (!c.bus.curve_secret_key.empty() && !std::filesystem::exists(c.bus.curve_secret_key))
    fail("bus.curve_secret_key", quote(c.bus.curve_secret_key), "file does not exist");
  if (!c.bus.curve_authorized_keys.empty() && c.bus.curve_secret_key.empty())
    fail("bus.curve_authorized_keys", quote(c.bus.curve_authorized_keys),
         "needs bus.curve_secret_key");
  if (!c.bus.curve_authorized_keys.empty() && !std::filesystem::exists(c.bus.curve_authorized_keys))
    fail("bus.curve_authorized_keys", quote(c.bus.curve_authorized_keys), "file does not exist");
  for (std::size_t i = 0; i < c.bus.publish.size(); ++i) {
    const auto& ep = c.bus.publish[i];
    if (ep.rfind("tcp://", 0) == 0 && !is_loopback_tcp(ep) && c.bus.curve_secret_key.empty() &&
        !c.bus.allow_insecure_tcp)
      fail("bus.publish[" + std::to_string(i) + "]", quote(ep),
           "binds off loopback without encryption: set bus.curve_secret_key, or "
           "bus.allow_insecure_tcp = true");
  }
  if (!c.metrics.listen.empty()) {
    static const std::regex listen_re(
        R"(^(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\]):([0-9]{1,5})$)");
    std::smatch m;
    if (!std::regex_match(c.metrics.listen, m, listen_re) || std::stol(m[2].str()) > 65535)
      fail("metrics.listen", quote(c.metrics.listen),
           "must be a loopback HOST:PORT, e.g. 127.0.0.1:9464");
  }
  for (std::size_t i = 0; i < c.control.listen.size(); ++i) {
    const auto& ep = c.control.listen[i];
    const std::string key = "control.listen[" + std::to_string(i) + "]";
    if (!valid_endpoint(ep))
      fail(key, quote(ep), "must be tcp://HOST:PORT, ipc://PATH or inproc://NAME");
    if (ep.rfind("tcp://", 0) == 0 && !is_loopback_tcp(ep) && c.bus.curve_secret_key.empty() &&
        !c.bus.allow_insecure_tcp)
      fail(key, quote(ep),
           "binds off loopback without encryption: set bus.curve_secret_key, or "
           "bus.allow_insecure_tcp = true");
  }
  if (c.control.max_request_bytes < 256)
    fail("control.max_request_bytes", std::to_string(c.control.max_request_bytes),
         "must be >= 256");
  if (c.control.max_in_flight < 1)
    fail("control.max_in_flight", std::to_string(c.control.max_in_flight), "must be >= 1");

  resolve(c.capture.database, base);
  if (c.capture.max_bytes < 0)
    fail("capture.max_bytes", std::to_string(c.capture.max_bytes), "must be >= 0 (0 = unlimited)");
  if (c.capture.max_age_s < 0)
    fail("capture.max_age_s", std::to_string(c.capture.max_age_s), "must be >= 0 (0 = never)");
  if (!(c.capture.min_label_s > 0))
    fail("capture.min_label_s", num(c.capture.min_label_s), "must be > 0");
  if (!(c.capture.max_label_s >= c.capture.min_label_s && c.capture.max_label_s <= 60))
    fail("capture.max_label_s", num(c.capture.max_label_s),
         "must be in [capture.min_label_s, 60] (60 s: the history each device keeps)");
  if (c.capture.queue < 1) fail("capture.queue", std::to_string(c.capture.queue), "must be >= 1");

  resolve(c.training.registry, base);
  auto& tr = c.training;
  if (tr.epochs < 1 || tr.epochs > 10000)
    fail("training.epochs", std::to_string(tr.epochs), "must be in 1..10000");
  if (tr.head_epochs < 0 || tr.head_epochs > tr.epochs)
    fail("training.head_epochs", std::to_string(tr.head_epochs), "must be in 0..training.epochs");
  if (tr.batch_size < 1 || tr.batch_size > 1024)
    fail("training.batch_size", std::to_string(tr.batch_size), "must be in 1..1024");
  if (!(tr.lr > 0 && tr.lr < 10)) fail("training.lr", num(tr.lr), "must be in (0, 10)");
  if (!(tr.encoder_lr > 0 && tr.encoder_lr < 10))
    fail("training.encoder_lr", num(tr.encoder_lr), "must be in (0, 10)");
  if (!(tr.weight_decay >= 0)) fail("training.weight_decay", num(tr.weight_decay), "must be >= 0");
  if (!(tr.warmup_fraction >= 0 && tr.warmup_fraction < 1))
    fail("training.warmup_fraction", num(tr.warmup_fraction), "must be in [0, 1)");
  if (tr.patience < 1) fail("training.patience", std::to_string(tr.patience), "must be >= 1");
  if (!(tr.val_fraction > 0 && tr.val_fraction < 1))
    fail("training.val_fraction", num(tr.val_fraction), "must be in (0, 1)");
  if (tr.stride < 1) fail("training.stride", std::to_string(tr.stride), "must be >= 1");
  {
    static const std::set<std::string> augs{"scale", "permute", "rotate", "noise"};
    for (std::size_t i = 0; i < tr.augment.size(); ++i)
      if (!augs.count(tr.augment[i]))
        fail("training.augment[" + std::to_string(i) + "]", quote(tr.augment[i]),
             "must be one of scale, permute, rotate, noise");
  }
  if (tr.threads < 1 || tr.threads > 256)
    fail("training.threads", std::to_string(tr.threads), "must be in 1..256");
  if (!(tr.gate_margin >= 0 && tr.gate_margin < 1))
    fail("training.gate_margin", num(tr.gate_margin), "must be in [0, 1)");
  if (!(tr.schedule_minutes >= 0))
    fail("training.schedule_minutes", num(tr.schedule_minutes), "must be >= 0 (0 = off)");
  if (tr.min_new_windows < 1)
    fail("training.min_new_windows", std::to_string(tr.min_new_windows), "must be >= 1");
  if (tr.keep_versions < 2)
    fail("training.keep_versions", std::to_string(tr.keep_versions), "must be >= 2");

  if (c.bus.sndhwm < 1) fail("bus.sndhwm", std::to_string(c.bus.sndhwm), "must be >= 1");
  if (c.bus.queue < 1) fail("bus.queue", std::to_string(c.bus.queue), "must be >= 1");

  if (c.devices.empty()) fail("devices", "[]", "configure at least one [[devices]] entry");
  static const std::regex id_re(R"(^[A-Za-z0-9_.\-]{1,64}$)");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < c.devices.size(); ++i) {
    auto& d = c.devices[i];
    const std::string p = "devices[" + std::to_string(i) + "]";
    if (!std::regex_match(d.id, id_re))
      fail(p + ".id", quote(d.id), "must match [A-Za-z0-9_.-]{1,64}");
    if (!ids.insert(d.id).second) fail(p + ".id", quote(d.id), "duplicate device id");
    if (!(d.rate_hz > 0 && d.rate_hz <= 10000))
      fail(p + ".rate_hz", std::to_string(d.rate_hz), "must be in (0, 10000]");
    if (!(d.max_gap_s > 0)) fail(p + ".max_gap_s", std::to_string(d.max_gap_s), "must be > 0");
    if (d.baud <= 0) fail(p + ".baud", std::to_string(d.baud), "must be > 0");
    if (d.speed < 0)
      fail(p + ".speed", std::to_string(d.speed), "must be >= 0 (0 = as fast as possible)");
    if (d.quat_order != QuatOrder::kWxyz && is_live(d.adapter))
      fail(p + ".quat_order", "\"xyzw\"",
           std::string("the ") + to_string(d.codec) + " codec delivers w,x,y,z; remove quat_order");
    if (!is_live(d.adapter) && d.codec != CodecKind::kNone)
      fail(p + ".codec", quote(to_string(d.codec)),
           "codecs apply to serial, udp and ble devices only");
    switch (d.adapter) {
      case AdapterKind::kReplay: {
        if (d.path.empty())
          fail(p + ".path", "(missing)", "a replay device needs the file to replay");
        resolve(d.path, base);
        if (!std::filesystem::exists(d.path))
          fail(p + ".path", quote(d.path), "file does not exist");
        auto check_cols = [&](const char* key, const std::vector<std::string>& cols,
                              std::size_t n) {
          if (!cols.empty() && cols.size() != n)
            fail(p + "." + key, "[...]", "must name " + std::to_string(n) + " columns");
        };
        check_cols("acc_columns", d.acc_columns, 3);
        check_cols("gyro_columns", d.gyro_columns, 3);
        check_cols("quat_columns", d.quat_columns, 4);
        static const std::set<std::string> units{"s", "ms", "us", "ns"};
        if (!units.count(d.time_unit))
          fail(p + ".time_unit", quote(d.time_unit), "must be one of s, ms, us, ns");
        if (d.format == ReplayFormat::kCsv && !d.sequence_id.empty())
          fail(p + ".sequence_id", quote(d.sequence_id),
               "only applies to format = \"cmi\" or \"capture\"");
        break;
      }
      case AdapterKind::kSim: {
        static const std::set<std::string> known{"wave", "circle", "shake", "tap"};
        for (std::size_t g = 0; g < d.gestures.size(); ++g) {
          if (!known.count(d.gestures[g]))
            fail(p + ".gestures[" + std::to_string(g) + "]", quote(d.gestures[g]),
                 "unknown simulated gesture (wave, circle, shake, tap)");
        }
        break;
      }
      case AdapterKind::kSerial:
      case AdapterKind::kUdp:
      case AdapterKind::kBle:
        validate_live(d, p);
        break;
    }
  }
  validate_udp_sharing(c);
}

Config finish(const toml::table& root, const std::filesystem::path& base) {
  Config c = parse(root);
  validate(c, base);
  return c;
}

}  // namespace

std::optional<std::size_t> Config::device_index(const std::string& id) const {
  for (std::size_t i = 0; i < devices.size(); ++i)
    if (devices[i].id == id) return i;
  return std::nullopt;
}

Config load_config_string(const std::string& text, const std::filesystem::path& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "TOML syntax error at line " << e.source().begin.line << ", column "
       << e.source().begin.column << ": " << e.description();
    throw ConfigError(os.str());
  }
  return finish(root, base_dir);
}

Config load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError("cannot read config file " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    Config c = load_config_string(ss.str(), std::filesystem::absolute(file).parent_path());
    c.source = file;
    return c;
  } catch (const ConfigError& e) {
    throw ConfigError(file.string() + ": " + e.what());
  }
}

std::vector<std::string> diff_live(const Config& a, const Config& b,
                                   std::vector<std::string>& needs_restart) {
  std::vector<std::string> live;
  if (a.daemon.log_level != b.daemon.log_level)
    live.push_back("daemon.log_level: " + a.daemon.log_level + " -> " + b.daemon.log_level);
  auto live_num = [&](const char* key, double x, double y) {
    if (x != y) live.push_back(std::string(key) + ": " + num(x) + " -> " + num(y));
  };
  live_num("events.onset_threshold", a.events.onset_threshold, b.events.onset_threshold);
  live_num("events.release_threshold", a.events.release_threshold, b.events.release_threshold);
  live_num("events.smoothing_windows", a.events.smoothing_windows, b.events.smoothing_windows);
  live_num("events.margin", a.events.margin, b.events.margin);
  live_num("events.min_duration_ms", a.events.min_duration_ms, b.events.min_duration_ms);
  live_num("events.refractory_ms", a.events.refractory_ms, b.events.refractory_ms);
  if (a.events.publish_scores != b.events.publish_scores)
    live.push_back(std::string("events.publish_scores: ") +
                   (a.events.publish_scores ? "true" : "false") + " -> " +
                   (b.events.publish_scores ? "true" : "false"));
  if (a.daemon.status_interval_s != b.daemon.status_interval_s)
    live.push_back("daemon.status_interval_s: " + num(a.daemon.status_interval_s) + " -> " +
                   num(b.daemon.status_interval_s));
  if (a.model.weights != b.model.weights)  // loaded beside the live model, then swapped in
    live.push_back("model.weights: \"" + a.model.weights + "\" -> \"" + b.model.weights + "\"");
  // Everything else is fixed for the life of the process.
  if (a.model.device != b.model.device || a.model.threads != b.model.threads ||
      a.model.labels != b.model.labels || a.model.embedding != b.model.embedding ||
      a.model.seed != b.model.seed)
    needs_restart.push_back("model");
  if (a.window.rate_hz != b.window.rate_hz || a.window.length != b.window.length ||
      a.window.hop != b.window.hop)
    needs_restart.push_back("window");
  if (a.batcher.max_batch != b.batcher.max_batch ||
      a.batcher.max_delay_us != b.batcher.max_delay_us || a.batcher.queue != b.batcher.queue ||
      a.batcher.max_queue_delay_us != b.batcher.max_queue_delay_us)
    needs_restart.push_back("batcher");
  if (a.bus.publish != b.bus.publish || a.bus.sndhwm != b.bus.sndhwm ||
      a.bus.queue != b.bus.queue || a.bus.allow_insecure_tcp != b.bus.allow_insecure_tcp ||
      a.bus.curve_secret_key != b.bus.curve_secret_key ||
      a.bus.curve_authorized_keys != b.bus.curve_authorized_keys)
    needs_restart.push_back("bus");
  if (a.metrics.listen != b.metrics.listen) needs_restart.push_back("metrics");
  if (a.control.listen != b.control.listen ||
      a.control.max_request_bytes != b.control.max_request_bytes ||
      a.control.max_in_flight != b.control.max_in_flight)
    needs_restart.push_back("control");
  if (a.capture.database != b.capture.database || a.capture.max_bytes != b.capture.max_bytes ||
      a.capture.max_age_s != b.capture.max_age_s ||
      a.capture.max_label_s != b.capture.max_label_s ||
      a.capture.min_label_s != b.capture.min_label_s || a.capture.queue != b.capture.queue)
    needs_restart.push_back("capture");
  {
    const auto& x = a.training;
    const auto& y = b.training;
    if (x.registry != y.registry || x.mode != y.mode || x.epochs != y.epochs ||
        x.head_epochs != y.head_epochs || x.batch_size != y.batch_size || x.lr != y.lr ||
        x.encoder_lr != y.encoder_lr || x.weight_decay != y.weight_decay ||
        x.warmup_fraction != y.warmup_fraction || x.patience != y.patience ||
        x.val_fraction != y.val_fraction || x.stride != y.stride || x.augment != y.augment ||
        x.balance != y.balance || x.threads != y.threads || x.gate_margin != y.gate_margin ||
        x.schedule_minutes != y.schedule_minutes || x.min_new_windows != y.min_new_windows ||
        x.keep_versions != y.keep_versions || x.seed != y.seed)
      needs_restart.push_back("training");
  }
  if (a.events.null_label != b.events.null_label) needs_restart.push_back("events.null_label");
  if (a.daemon.state_dir != b.daemon.state_dir || a.daemon.runtime_dir != b.daemon.runtime_dir ||
      a.daemon.watchdog_ms != b.daemon.watchdog_ms)
    needs_restart.push_back("daemon");
  if (a.devices.size() != b.devices.size()) {
    needs_restart.push_back("devices");
  } else {
    for (std::size_t i = 0; i < a.devices.size(); ++i) {
      const auto& x = a.devices[i];
      const auto& y = b.devices[i];
      if (x.id != y.id || x.adapter != y.adapter || x.codec != y.codec || x.rate_hz != y.rate_hz ||
          x.quat_order != y.quat_order || x.acc_unit != y.acc_unit || x.gyro_unit != y.gyro_unit ||
          x.gyro_source != y.gyro_source || x.axis_map.perm != y.axis_map.perm ||
          x.axis_map.sign != y.axis_map.sign || x.max_gap_s != y.max_gap_s || x.path != y.path ||
          x.baud != y.baud || x.speed != y.speed || x.loop != y.loop ||
          x.time_column != y.time_column || x.acc_columns != y.acc_columns ||
          x.gyro_columns != y.gyro_columns || x.quat_columns != y.quat_columns ||
          x.seed != y.seed || x.gestures != y.gestures || x.device_id != y.device_id ||
          x.csv_columns != y.csv_columns || x.csv_separator != y.csv_separator ||
          x.data_bits != y.data_bits || x.parity != y.parity || x.stop_bits != y.stop_bits ||
          x.flow_control != y.flow_control || x.reconnect_min_s != y.reconnect_min_s ||
          x.reconnect_max_s != y.reconnect_max_s || x.idle_timeout_s != y.idle_timeout_s ||
          x.udp_bind != y.udp_bind || x.id_from != y.id_from || x.udp_sender != y.udp_sender ||
          x.udp_rcvbuf_bytes != y.udp_rcvbuf_bytes || x.ble_adapter != y.ble_adapter ||
          x.ble_address != y.ble_address || x.ble_name != y.ble_name ||
          x.ble_service_uuid != y.ble_service_uuid || x.ble_char_uuid != y.ble_char_uuid ||
          x.ble_write_uuid != y.ble_write_uuid || x.ble_write_hex != y.ble_write_hex ||
          x.ble_connect_timeout_s != y.ble_connect_timeout_s || x.format != y.format ||
          x.time_unit != y.time_unit || x.sequence_id != y.sequence_id)
        needs_restart.push_back("devices[" + std::to_string(i) + "]");
    }
  }
  return live;
}

std::vector<std::string> control_endpoints(const Config& c) {
  if (!c.control.listen.empty()) return c.control.listen;
  return {"ipc://" + (std::filesystem::path(c.daemon.runtime_dir) / "control.sock").string()};
}

std::filesystem::path capture_database(const Config& c) {
  if (!c.capture.database.empty()) return c.capture.database;
  return std::filesystem::path(c.daemon.state_dir) / "captures.db";
}

std::filesystem::path model_registry_dir(const Config& c) {
  if (!c.training.registry.empty()) return c.training.registry;
  return std::filesystem::path(c.daemon.state_dir) / "models";
}

const char* to_string(FinetuneMode m) noexcept {
  switch (m) {
    case FinetuneMode::kHead:
      return "head";
    case FinetuneMode::kFull:
      return "full";
    case FinetuneMode::kStaged:
      return "staged";
  }
  return "?";
}

const char* to_string(AdapterKind k) noexcept {
  switch (k) {
    case AdapterKind::kSim:
      return "sim";
    case AdapterKind::kReplay:
      return "replay";
    case AdapterKind::kSerial:
      return "serial";
    case AdapterKind::kUdp:
      return "udp";
    case AdapterKind::kBle:
      return "ble";
  }
  return "?";
}

bool is_live(AdapterKind k) noexcept {
  return k == AdapterKind::kSerial || k == AdapterKind::kUdp || k == AdapterKind::kBle;
}

const char* to_string(CodecKind k) noexcept {
  switch (k) {
    case CodecKind::kNone:
      return "none";
    case CodecKind::kNative:
      return "native";
    case CodecKind::kCsv:
      return "csv";
    case CodecKind::kWitmotion:
      return "witmotion";
  }
  return "?";
}

}  // namespace primus
