// The key table of one [[devices]] entry, and the rules between entries. Most device keys apply
// to some adapters only (docs/config.md); their checks say so first and are silent otherwise, as
// the keys are: a serial-only key on a sim device is accepted and unused. Every device key needs
// a restart.
#include <cctype>
#include <regex>
#include <set>

#include "src/config/config_keys.h"
#include "src/core/host_port.h"

namespace primus::config_detail {
namespace {

using D = DeviceConfig;

bool standard_baud(int b) {
  static const std::set<int> rates{
      50,     75,     110,     134,     150,     200,     300,     600,     1200,    1800,
      2400,   4800,   9600,    19200,   38400,   57600,   115200,  230400,  460800,  500000,
      576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000};
  return rates.count(b) > 0;
}

/// "ADDRESS:PORT" or "[V6]:PORT" with a numeric address and a port in 1..65535;
/// `port_optional` accepts a bare address.
bool valid_host_port(const std::string& s, bool port_optional) {
  const auto hp = split_host_port(s);
  if (!hp || !is_numeric_address(hp->host, hp->bracketed)) return false;
  if (!hp->port) return port_optional;
  return *hp->port >= 1;
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

/// codec = "csv": known column names, none twice, acc complete, groups complete or absent.
void check_csv_columns(const std::vector<std::string>& cols, const Ctx& c) {
  if (cols.empty())
    c.fail("(missing)", "the csv codec needs the column list, e.g. [\"t_ms\", \"acc_x\", ...]");
  static const std::set<std::string> known{"skip",   "seq",    "t_s",    "t_ms",   "t_us",
                                           "device", "acc_x",  "acc_y",  "acc_z",  "gyro_x",
                                           "gyro_y", "gyro_z", "quat_w", "quat_x", "quat_y",
                                           "quat_z", "mag_x",  "mag_y",  "mag_z"};
  std::set<std::string> seen;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const auto& n = cols[i];
    if (!known.count(n))
      fail(c.elem(i), quote(n),
           "unknown column (skip, seq, t_s, t_ms, t_us, device, acc_x..z, gyro_x..z, "
           "quat_w..z, mag_x..z)");
    if (n != "skip" && !seen.insert(n).second) fail(c.elem(i), quote(n), "column named twice");
  }
  auto count = [&](std::initializer_list<const char*> names) {
    std::size_t have = 0;
    for (const char* n : names) have += seen.count(n);
    return have;
  };
  if (count({"acc_x", "acc_y", "acc_z"}) != 3)
    c.fail("[...]", "must include acc_x, acc_y and acc_z");
  for (auto group : {std::initializer_list<const char*>{"gyro_x", "gyro_y", "gyro_z"},
                     std::initializer_list<const char*>{"quat_w", "quat_x", "quat_y", "quat_z"},
                     std::initializer_list<const char*>{"mag_x", "mag_y", "mag_z"}}) {
    const auto n = count(group);
    if (n != 0 && n != group.size())
      c.fail("[...]", std::string("names only part of ") + *group.begin() + "..; list all or none");
  }
  if (count({"t_s", "t_ms", "t_us"}) > 1) c.fail("[...]", "at most one of t_s, t_ms, t_us");
}

/// Why `f` is not a valid MQTT topic filter, or nullptr: 1..65535 bytes, no NUL, '#' only as
/// the whole last level, '+' only as a whole level.
const char* topic_filter_error(const std::string& f) {
  if (f.empty() || f.size() > 65535) return "must be 1..65535 bytes";
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char ch = f[i];
    const bool level_start = i == 0 || f[i - 1] == '/';
    const bool level_end = i + 1 == f.size() || f[i + 1] == '/';
    if (ch == '\0') return "must not contain NUL";
    if (ch == '+' && !(level_start && level_end)) return "'+' must be a whole topic level";
    if (ch == '#' && !(level_start && i + 1 == f.size())) return "'#' must be the whole last level";
  }
  return nullptr;
}

/// codec = "json": each entry "column=key" (column as in csv_columns, key a JSON key or a.b.c
/// path), no column twice.
void check_json_fields(const std::vector<std::string>& v, const Ctx& c) {
  static const std::set<std::string> known{
      "seq",    "t_s",    "t_ms",   "t_us",   "acc_x",  "acc_y", "acc_z", "gyro_x", "gyro_y",
      "gyro_z", "quat_w", "quat_x", "quat_y", "quat_z", "mag_x", "mag_y", "mag_z"};
  std::set<std::string> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto eq = v[i].find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == v[i].size())
      fail(c.elem(i), quote(v[i]), "must be \"column=key\", e.g. \"acc_x=ax\"");
    const std::string col = v[i].substr(0, eq);
    if (!known.count(col))
      fail(c.elem(i), quote(v[i]),
           "unknown column (seq, t_s, t_ms, t_us, acc_x..z, gyro_x..z, quat_w..z, mag_x..z)");
    if (!seen.insert(col).second) fail(c.elem(i), quote(v[i]), "column named twice");
  }
}

/// A GATT UUID key of a ble device, normalised to the lower-case 128-bit form.
void check_uuid(std::string& v, bool required, const Ctx& c) {
  if (v.empty()) {
    if (required)
      c.fail("(missing)",
             "needs a GATT UUID, e.g. \"0000ffe4-0000-1000-8000-00805f9b34fb\" or \"ffe4\"");
    return;
  }
  const auto n = normalise_uuid(v);
  if (n.empty())
    c.fail(quote(v), "must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, or 4/8 hex digits)");
  v = n;
}

/// Replay column lists: empty, or exactly n names.
auto columns(std::size_t n) {
  return [n](std::vector<std::string>& v, const D& d, const Ctx& c) {
    if (d.adapter == AdapterKind::kReplay && !v.empty() && v.size() != n)
      c.fail("[...]", "must name " + std::to_string(n) + " columns");
  };
}

bool is_udp(const D& d) { return d.adapter == AdapterKind::kUdp; }
bool is_ble(const D& d) { return d.adapter == AdapterKind::kBle; }
bool is_serial(const D& d) { return d.adapter == AdapterKind::kSerial; }
bool is_mqtt(const D& d) { return d.adapter == AdapterKind::kMqtt; }
bool is_witmotion(const D& d) { return is_live(d.adapter) && d.codec == CodecKind::kWitmotion; }

/// Codec-dependent defaults: live adapters speak the native frame unless told otherwise, and
/// WitMotion sensors report g and deg/s.
void device_defaults(D& d, const toml::table& t) {
  if (is_live(d.adapter) && d.codec == CodecKind::kNone) d.codec = CodecKind::kNative;
  if (d.codec == CodecKind::kWitmotion) {
    if (!t.contains("acc_unit")) d.acc_unit = AccUnit::kG;
    if (!t.contains("gyro_unit")) d.gyro_unit = GyroUnit::kDegPerSec;
  }
}

/// The table: one entry per key of a [[devices]] entry, in the order they are parsed and checked.
std::vector<Key<D>> device_keys() {
  return {
      key("id", &D::id)
          .required("every device needs an id")
          .check([](std::string& v, const Ctx& c) {
            static const std::regex id_re(R"(^[A-Za-z0-9_.\-]{1,64}$)");
            if (!std::regex_match(v, id_re)) c.fail(quote(v), "must match [A-Za-z0-9_.-]{1,64}");
          }),
      key("adapter", &D::adapter)
          .required("must be one of " + enum_name_list<AdapterKind>())
          .check([](AdapterKind& v, const Ctx& c) {
            if (v == AdapterKind::kMqtt && !c.config().mqtt.enabled)
              c.fail("\"mqtt\"", "needs the broker connection: set mqtt.enabled = true");
          }),
      key("codec", &D::codec).check([](CodecKind& v, const D& d, const Ctx& c) {
        if (!is_live(d.adapter) && v != CodecKind::kNone)
          c.fail(quote(to_string(v)), "codecs apply to serial, udp, ble and mqtt devices only");
        if (v == CodecKind::kJson && !is_mqtt(d))
          c.fail("\"json\"", "the json codec applies to mqtt devices only");
      }),
      key("rate_hz", &D::rate_hz).check([](double& v, const Ctx& c) {
        if (!(v > 0 && v <= 10000)) c.fail(std::to_string(v), "must be in (0, 10000]");
      }),
      key("quat_order", &D::quat_order).check([](QuatOrder& v, const D& d, const Ctx& c) {
        if (v != QuatOrder::kWxyz && is_live(d.adapter))
          c.fail("\"xyzw\"", std::string("the ") + to_string(d.codec) +
                                 " codec delivers w,x,y,z; remove quat_order");
      }),
      key("acc_unit", &D::acc_unit).check([](AccUnit& v, const D& d, const Ctx& c) {
        if (is_witmotion(d) && v != AccUnit::kG)
          c.fail("\"m/s2\"", "the witmotion codec delivers g; remove acc_unit");
      }),
      key("gyro_unit", &D::gyro_unit).check([](GyroUnit& v, const D& d, const Ctx& c) {
        if (is_witmotion(d) && v != GyroUnit::kDegPerSec)
          c.fail("\"rad/s\"", "the witmotion codec delivers deg/s; remove gyro_unit");
      }),
      key("gyro_source", &D::gyro_source),
      key("axis_map", &D::axis_map),
      key("max_gap_s", &D::max_gap_s).check([](double& v, const Ctx& c) {
        if (!(v > 0)) c.fail(std::to_string(v), "must be > 0");
      }),
      // Every key is parsed before any check runs, so the csv columns are known here.
      key("timing", &D::timing).check([](TimingMode& v, const D& d, const Ctx& c) {
        if (v != TimingMode::kDevice || !is_live(d.adapter) || d.codec != CodecKind::kCsv) return;
        for (const auto& col : d.csv_columns)
          if (col == "t_s" || col == "t_ms" || col == "t_us") return;
        c.fail("\"device\"", "csv_columns has no t_s, t_ms or t_us column; use auto or counter");
      }),
      key("path", &D::path).check([](std::string& v, const D& d, const Ctx& c) {
        if (d.adapter == AdapterKind::kReplay) {
          if (v.empty()) c.fail("(missing)", "a replay device needs the file to replay");
          c.resolve(v);
          c.require_file(v);
        } else if (is_serial(d) && v.empty()) {
          c.fail("(missing)",
                 "a serial device needs its port, e.g. /dev/ttyACM0 or "
                 "/dev/serial/by-id/...");
        }
      }),
      key("device_id", &D::device_id).check([](int& v, const D& d, const Ctx& c) {
        if (!is_live(d.adapter)) return;
        if (v < -1 || v > 65535) c.fail(std::to_string(v), "must be in 0..65535 (or -1: any)");
        if (is_witmotion(d) && v != -1)
          c.fail(std::to_string(v), "WitMotion frames carry no device id");
        // WitMotion by payload is refused at id_from; a udp_sender without id_from =
        // "sender" (the likelier mistake) at udp_sender.
        if (is_udp(d) && d.id_from == IdFrom::kPayload && d.udp_sender.empty() &&
            !is_witmotion(d) && v < 0)
          c.fail(std::to_string(v), "a udp device found by payload needs its device_id (0..65535)");
      }),
      key("csv_columns", &D::csv_columns)
          .check([](std::vector<std::string>& v, const D& d, const Ctx& c) {
            if (!is_live(d.adapter)) return;
            if (d.codec == CodecKind::kCsv)
              check_csv_columns(v, c);
            else if (!v.empty())
              c.fail("[...]", "only applies to codec = \"csv\"");
          }),
      key("csv_separator", &D::csv_separator).check([](std::string& v, const D& d, const Ctx& c) {
        if (!is_live(d.adapter) || d.codec != CodecKind::kCsv) return;
        if (v.size() != 1 || v == "\n" || v == "\r" || v == "." || v == "-" || v == "+" ||
            (v[0] >= '0' && v[0] <= '9'))
          c.fail(quote(v), "must be one character that cannot appear in a number");
      }),
      key("baud", &D::baud).check([](int& v, const D& d, const Ctx& c) {
        if (v <= 0) c.fail(std::to_string(v), "must be > 0");
        if (is_serial(d) && !standard_baud(v))
          c.fail(std::to_string(v), "not a standard rate (e.g. 9600, 115200, 921600)");
      }),
      key("data_bits", &D::data_bits).check([](int& v, const D& d, const Ctx& c) {
        if (is_serial(d)) c.in_range(v, 5, 8);
      }),
      key("parity", &D::parity),
      key("stop_bits", &D::stop_bits).check([](int& v, const D& d, const Ctx& c) {
        if (is_serial(d) && v != 1 && v != 2) c.fail(std::to_string(v), "must be 1 or 2");
      }),
      key("flow_control", &D::flow_control),
      key("reconnect_min_s", &D::reconnect_min_s).check([](double& v, const D& d, const Ctx& c) {
        if (is_live(d.adapter) && !(v > 0 && v <= 3600))
          c.fail(std::to_string(v), "must be in (0, 3600]");
      }),
      key("reconnect_max_s", &D::reconnect_max_s).check([](double& v, const D& d, const Ctx& c) {
        if (is_live(d.adapter) && !(v >= d.reconnect_min_s && v <= 3600))
          c.fail(std::to_string(v), "must be in [reconnect_min_s, 3600]");
      }),
      key("idle_timeout_s", &D::idle_timeout_s).check([](double& v, const D& d, const Ctx& c) {
        if (is_live(d.adapter) && !(v >= 0 && v <= 86400))
          c.fail(std::to_string(v), "must be in [0, 86400] (0 = off)");
      }),
      key("udp_bind", &D::udp_bind).check([](std::string& v, const D& d, const Ctx& c) {
        if (is_udp(d) && !valid_host_port(v, false))
          c.fail(quote(v),
                 "must be ADDRESS:PORT with a numeric address, e.g. 0.0.0.0:9000 or "
                 "[::]:9000");
      }),
      key("id_from", &D::id_from).check([](IdFrom& v, const D& d, const Ctx& c) {
        if (is_udp(d) && v == IdFrom::kPayload && d.udp_sender.empty() && is_witmotion(d))
          c.fail("\"payload\"", "WitMotion frames carry no device id; use id_from = \"sender\"");
      }),
      key("udp_sender", &D::udp_sender).check([](std::string& v, const D& d, const Ctx& c) {
        if (!is_udp(d)) return;
        if (d.id_from == IdFrom::kSender) {
          if (v.empty())
            c.fail("(missing)", "id_from = \"sender\" needs the sender's ADDRESS or ADDRESS:PORT");
          if (!valid_host_port(v, true))
            c.fail(quote(v), "must be ADDRESS or ADDRESS:PORT with a numeric address");
        } else if (!v.empty()) {
          c.fail(quote(v), "only applies to id_from = \"sender\"");
        }
      }),
      key("udp_rcvbuf_bytes", &D::udp_rcvbuf_bytes).check([](int& v, const D& d, const Ctx& c) {
        if (is_udp(d)) c.at_least(v, 65536);
      }),
      key("mqtt_topic", &D::mqtt_topic).check([](std::string& v, const D& d, const Ctx& c) {
        if (!is_mqtt(d)) return;
        if (v.empty())
          c.fail("(missing)",
                 "an mqtt device needs the topic its samples come on, e.g. "
                 "\"sensors/left-wrist/imu\"");
        if (const char* why = topic_filter_error(v)) c.fail(quote(v), why);
      }),
      key("mqtt_qos", &D::mqtt_qos).check([](int& v, const D& d, const Ctx& c) {
        if (is_mqtt(d)) c.in_range(v, 0, 2);
      }),
      key("json_fields", &D::json_fields)
          .check([](std::vector<std::string>& v, const D& d, const Ctx& c) {
            if (!is_mqtt(d)) return;
            if (d.codec != CodecKind::kJson) {
              if (!v.empty()) c.fail("[...]", "only applies to codec = \"json\"");
              return;
            }
            check_json_fields(v, c);
          }),
      key("ble_adapter", &D::ble_adapter).check([](std::string& v, const D& d, const Ctx& c) {
        static const std::regex hci_re(R"(^hci[0-9]{1,3}$)");
        if (is_ble(d) && !std::regex_match(v, hci_re)) c.fail(quote(v), "must be hciN");
      }),
      key("ble_address", &D::ble_address).check([](std::string& v, const D& d, const Ctx& c) {
        if (!is_ble(d)) return;
        static const std::regex addr_re(R"(^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$)");
        if (v.empty() && d.ble_name.empty())
          c.fail("(missing)", "a ble device needs ble_address or ble_name");
        if (v.empty()) return;
        if (!std::regex_match(v, addr_re)) c.fail(quote(v), "must look like AA:BB:CC:DD:EE:FF");
        for (auto& ch : v) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      }),
      key("ble_name", &D::ble_name),
      key("ble_service_uuid", &D::ble_service_uuid)
          .check([](std::string& v, const D& d, const Ctx& c) {
            if (is_ble(d)) check_uuid(v, true, c);
          }),
      key("ble_char_uuid", &D::ble_char_uuid).check([](std::string& v, const D& d, const Ctx& c) {
        if (is_ble(d)) check_uuid(v, true, c);
      }),
      key("ble_write_uuid", &D::ble_write_uuid).check([](std::string& v, const D& d, const Ctx& c) {
        if (!is_ble(d)) return;
        check_uuid(v, false, c);
        if (!v.empty() && d.ble_write_hex.empty())
          c.fail(quote(v), "set ble_write_hex too (the bytes to write)");
      }),
      // Also fills ble_write_bytes, the decoded form (not a key of its own).
      key("ble_write_hex", &D::ble_write_hex).check([](std::string& v, D& d, const Ctx& c) {
        if (!is_ble(d) || v.empty()) return;
        if (d.ble_write_uuid.empty()) c.fail(quote(v), "needs ble_write_uuid");
        if (!parse_hex(v, d.ble_write_bytes) || d.ble_write_bytes.size() > 512)
          c.fail(quote(v), "must be 1..512 bytes of hex, e.g. \"ff aa 03 08 00\"");
      }),
      key("ble_connect_timeout_s", &D::ble_connect_timeout_s)
          .check([](double& v, const D& d, const Ctx& c) {
            if (is_ble(d) && !(v > 0 && v <= 600)) c.fail(std::to_string(v), "must be in (0, 600]");
          }),
      key("format", &D::format),
      key("speed", &D::speed).check([](double& v, const Ctx& c) {
        if (v < 0) c.fail(std::to_string(v), "must be >= 0 (0 = as fast as possible)");
      }),
      key("loop", &D::loop),
      key("time_column", &D::time_column),
      key("time_unit", &D::time_unit).check([](std::string& v, const D& d, const Ctx& c) {
        static const std::set<std::string> units{"s", "ms", "us", "ns"};
        if (d.adapter == AdapterKind::kReplay && !units.count(v))
          c.fail(quote(v), "must be one of s, ms, us, ns");
      }),
      key("acc_columns", &D::acc_columns).check(columns(3)),
      key("gyro_columns", &D::gyro_columns).check(columns(3)),
      key("quat_columns", &D::quat_columns).check(columns(4)),
      key("sequence_id", &D::sequence_id).check([](std::string& v, const D& d, const Ctx& c) {
        if (d.adapter == AdapterKind::kReplay && d.format == ReplayFormat::kCsv && !v.empty())
          c.fail(quote(v), "only applies to format = \"cmi\" or \"capture\"");
      }),
      key("seed", &D::seed),
      key("gestures", &D::gestures)
          .check([](std::vector<std::string>& v, const D& d, const Ctx& c) {
            static const std::set<std::string> known{"wave", "circle", "shake", "tap"};
            if (d.adapter != AdapterKind::kSim) return;
            for (std::size_t g = 0; g < v.size(); ++g)
              if (!known.count(v[g]))
                fail(c.elem(g), quote(v[g]),
                     "unknown simulated gesture (wave, circle, shake, tap)");
          }),
  };
}

}  // namespace

const Section<DeviceConfig>& device_section() {
  static const Section<D> sec{
      .name = "devices", .keys = device_keys(), .after_parse = device_defaults};
  return sec;
}

namespace {

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

}  // namespace

void validate_devices(Config& c, const std::filesystem::path& base) {
  if (c.devices.empty()) fail("devices", "[]", "configure at least one [[devices]] entry");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < c.devices.size(); ++i) {
    auto& d = c.devices[i];
    const std::string p = "devices[" + std::to_string(i) + "]";
    // Before the key checks: the first entry with this id has passed them already.
    if (!ids.insert(d.id).second) fail(p + ".id", quote(d.id), "duplicate device id");
    validate_section(device_section(), d, p, base, c);
  }
  validate_udp_sharing(c);
}

}  // namespace primus::config_detail
