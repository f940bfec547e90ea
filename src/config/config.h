#pragma once
// The daemon's configuration as plain structs, and the three-stage loader
// (parse TOML -> fill defaults -> validate). Every error names the full key path and the value,
// e.g. "devices[1].baud = 0: must be > 0". Unknown keys are errors.
//
// Contract: a Config returned by load_config() has passed validate(); code downstream may rely on
// every invariant stated next to each field. Configs are values: copy them, pass by const&.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/core/device_enums.h"

namespace primus {

/// Thrown by the loader; what() is the full message ("path = value: reason").
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class AdapterKind { kSim, kReplay, kSerial, kUdp, kBle, kMqtt };
enum class CodecKind { kNone, kNative, kCsv, kWitmotion, kJson };
enum class Parity { kNone, kOdd, kEven };
enum class FlowControl { kNone, kHardware, kSoftware };
enum class ReplayFormat { kCsv, kCmi, kCapture };
enum class IdFrom { kPayload, kSender };
// QuatOrder, AccUnit, GyroUnit, GyroSource, TimingMode and AxisMap: src/core/device_enums.h.
enum class EmbeddingChoice { kMmcl, kSsl, kEmb };
/// How the CPU runs the model: the hand-written path (src/model/fast_encoder.h) or the LibTorch
/// modules. CUDA always runs the modules.
enum class ModelBackend { kNative, kLibTorch };

struct DaemonConfig {
  std::string log_level = "info";  ///< trace|debug|info|warn|error|critical|off
  std::string state_dir = "/var/lib/primusd";
  std::string runtime_dir = "/run/primusd";
  int watchdog_ms = 0;             ///< 0: use systemd's WATCHDOG_USEC when set
  double status_interval_s = 1.0;  ///< > 0

  bool operator==(const DaemonConfig&) const = default;
};

struct ModelConfig {
  std::string weights;          ///< safetensors file; empty: random weights (loud warning)
  std::string device = "auto";  ///< auto | cpu | cuda | cuda:N
  int threads = 1;              ///< >= 1, intra-op threads of each inference instance
  int instances = 2;            ///< 1..64 inference threads sharing the model and the batcher
  ModelBackend backend = ModelBackend::kNative;
  EmbeddingChoice embedding = EmbeddingChoice::kMmcl;
  std::vector<std::string> labels{"null", "wave", "circle", "shake", "tap"};  ///< head classes
  std::uint64_t seed = 1;  ///< seed for random weights

  bool operator==(const ModelConfig&) const = default;
};

struct WindowConfig {
  double rate_hz = 50.0;  ///< model rate, > 0
  int length = 250;       ///< samples, >= 123 (the encoder's minimum)
  int hop = 10;           ///< samples, 1..length

  bool operator==(const WindowConfig&) const = default;
};

struct BatcherConfig {
  int max_batch = 32;                ///< 1..1024
  int max_delay_us = 5000;           ///< >= 0: longest a window waits for a batch to fill
  int queue = 1024;                  ///< windows, >= max_batch
  int max_queue_delay_us = 1000000;  ///< windows older than this when a batch forms are expired
                                     ///< (dropped, counted); 0 = never

  bool operator==(const BatcherConfig&) const = default;
};

/// Post-processing of per-window scores into gesture events (per device, per class).
struct EventsConfig {
  double onset_threshold = 0.6;    ///< smoothed score that starts a gesture, in [0,1]
  double release_threshold = 0.4;  ///< smoothed score below which it ends, <= onset_threshold
  int smoothing_windows = 3;       ///< moving average over the last k windows, >= 1
  double margin = 0.1;             ///< best smoothed score must beat the runner-up by this
  int min_duration_ms = 0;         ///< shorter gestures are discarded (counted)
  int refractory_ms = 500;         ///< after a gesture ends, the same label cannot start again
  std::string null_label = "null";
  bool publish_scores = false;  ///< per-window score messages
  /// Use the live model's per-class calibration (src/events/calibration.h) for the keys the
  /// file does not set.
  bool calibrated = true;
  /// Calibration: a class's start messages wait for a second window (a positive minimum
  /// duration) only while their median on the validation captures still comes within this long
  /// after the gesture's end (docs/events.md "Calibration"), >= 0. 200: the latency goal of a
  /// short gesture (300 ms) less the 50-100 ms by which validation captures, each one gesture in
  /// idle, run ahead of a continuous stream.
  int latency_budget_ms = 200;
  /// Not a key: the [events] keys the file sets explicitly (filled by the loader), which win
  /// over a model's calibration. Empty for a config built in code.
  std::vector<std::string> explicit_keys{};

  bool operator==(const EventsConfig&) const = default;
};

struct BusConfig {
  std::vector<std::string> publish{};  ///< ZeroMQ endpoints; empty: ipc://<runtime_dir>/events.sock
  int sndhwm = 10000;                  ///< messages queued per subscriber before drops, >= 1
  int queue = 4096;                    ///< publisher thread's queue, >= 1
  bool allow_insecure_tcp = false;     ///< permit tcp:// binds off loopback without CURVE
  std::string curve_secret_key;        ///< server secret key file (Z85, 40 chars) enables CURVE
  std::string
      curve_authorized_keys;  ///< file of client public keys (Z85, one per line); empty: any

  bool operator==(const BusConfig&) const = default;
};

/// Prometheus metrics and health over HTTP.
struct MetricsConfig {
  std::string listen;  ///< "127.0.0.1:9464"; empty = off. Loopback addresses only.

  bool operator==(const MetricsConfig&) const = default;
};

/// The control API (src/bus/control_server.h, docs/control.md): a ZeroMQ ROUTER socket taking
/// JSON requests. CURVE and the TCP rules are those of [bus] (bus.curve_secret_key, ...).
struct ControlConfig {
  std::vector<std::string> listen{};  ///< endpoints; empty: ipc://<runtime_dir>/control.sock
  int max_request_bytes = 65536;      ///< larger requests get a bad_request reply, >= 256
  int max_in_flight = 64;             ///< requests being handled at once; more get "busy", >= 1

  bool operator==(const ControlConfig&) const = default;
};

/// Labelled captures (src/capture, docs/capture.md).
struct CaptureConfig {
  std::string database;                ///< SQLite file; empty: <state_dir>/captures.db
  std::int64_t max_bytes = 1LL << 30;  ///< payload kept (24 B per sample); 0 = unlimited
  std::int64_t max_age_s = 0;          ///< captures older than this are deleted; 0 = never
  double max_label_s = 30.0;           ///< longest labelled span, <= 60 (the ring's history)
  double min_label_s = 0.2;            ///< shortest labelled span, > 0
  int queue = 64;                      ///< capture writer queue, >= 1

  bool operator==(const CaptureConfig&) const = default;
};

enum class FinetuneMode { kHead, kFull, kStaged };

/// Background fine-tuning and the model registry (src/training, docs/training.md).
struct TrainingConfig {
  std::string registry;  ///< directory of model versions; empty: <state_dir>/models
  FinetuneMode mode = FinetuneMode::kStaged;
  int epochs = 20;               ///< >= 1 (staged: head_epochs of them train the head only)
  int head_epochs = 5;           ///< staged: head-only epochs first, 0..epochs
  int batch_size = 32;           ///< 1..1024
  double lr = 1e-2;              ///< head learning rate, > 0 (cosine logits need large weights)
  double encoder_lr = 1e-3;      ///< encoder learning rate (full, staged), > 0
  double weight_decay = 1e-4;    ///< AdamW, >= 0
  double warmup_fraction = 0.1;  ///< of all steps, linear warm-up then cosine to 0, [0, 1)
  int patience = 5;              ///< epochs without a better validation loss before stopping, >= 1
  double val_fraction = 0.25;    ///< captures held out for validation, per label, (0, 1)
  int stride = 25;               ///< samples between windows cut from a capture, >= 1
  std::vector<std::string> augment{"scale"};  ///< scale, permute, rotate, noise
  bool balance = true;                        ///< sample classes equally (weighted sampling)
  /// Train the context around each labelled gesture as the null class where a window holds less
  /// than negative_overlap of every gesture it touches (docs/training.md "Negatives").
  bool negatives = true;
  double negative_overlap = 0.5;  ///< (0, 1): most of a gesture a negative window may hold
  /// Windows of a gesture capture holding at least this share of its gesture (and less than
  /// negative_overlap of every other) train as that gesture; 1 = only windows holding all of it.
  double positive_overlap = 0.8;  ///< (negative_overlap, 1]
  int threads = 1;                ///< trainer's intra-op CPU threads, >= 1
  double gate_margin = 0.0;       ///< candidate macro-F1 must exceed the live one's by more, >= 0
  double schedule_minutes = 0;    ///< fine-tune every N minutes when enough new data; 0 = off
  int min_new_windows = 50;       ///< new labelled windows needed for a scheduled run, >= 1
  int keep_versions = 20;         ///< registry versions kept (the active one always), >= 2
  std::uint64_t seed = 1;

  bool operator==(const TrainingConfig&) const = default;
};

/// The MQTT broker connection (src/mqtt, docs/mqtt.md): gesture events, device state and a
/// status summary out, Home Assistant discovery, and the samples of `adapter = "mqtt"` devices in.
/// Every key needs a restart.
struct MqttConfig {
  bool enabled = false;
  std::string host = "127.0.0.1";  ///< broker host name or address
  int port = 1883;                 ///< 1..65535 (8883 is the usual TLS port)
  std::string node;       ///< this gateway's name in topics, [A-Za-z0-9_-]{1,64}; empty: host name
  std::string client_id;  ///< empty: "primusd-<node>" (stable: the persistent session's key)
  std::string username;   ///< empty: anonymous
  std::string password;   ///< with username; or password_file
  std::string password_file;  ///< file whose first line is the password (exclusive with password)
  std::string ca_file;        ///< PEM CA bundle: enables TLS
  std::string cert_file;      ///< client certificate (PEM), with key_file; needs ca_file
  std::string key_file;       ///< client private key (PEM, unencrypted)
  int keepalive_s = 30;       ///< 5..3600
  int qos = 1;                ///< QoS of gesture events and device state, 0..2
  std::string topic_prefix = "primusd";  ///< topics are <topic_prefix>/<node>/...
  bool discovery = true;                 ///< Home Assistant MQTT discovery
  std::string discovery_prefix = "homeassistant";
  int queue = 10000;                 ///< messages held while the broker is away, >= 16
  double summary_interval_s = 10.0;  ///< status summary at most this often; 0 = off
  double reconnect_min_s = 0.5;      ///< first retry delay, > 0
  double reconnect_max_s = 30.0;     ///< retry delay cap (doubling), >= reconnect_min_s

  bool operator==(const MqttConfig&) const = default;
};

/// The web console (src/web, docs/web.md): the service API, live signals and events over HTTP.
/// Every key needs a restart.
struct WebConfig {
  /// "HOST:PORT" (port 0 picks a free one); empty = off. Off loopback only with a token.
  std::string listen;
  std::string token;        ///< shared secret for /api (header or cookie); empty: none (loopback)
  std::string token_file;   ///< file whose first line is the token (exclusive with token)
  int max_clients = 8;      ///< live streams at once, 1..64; more get 503
  int client_queue = 1024;  ///< messages held per live stream, 16..1000000; drop-oldest beyond
  double frame_rate_hz = 25.0;  ///< live signal pushes per second, 1..100

  bool operator==(const WebConfig&) const = default;
};

struct DeviceConfig {
  std::string id;  ///< unique, [A-Za-z0-9_.-]{1,64}
  AdapterKind adapter = AdapterKind::kSim;
  CodecKind codec = CodecKind::kNone;
  double rate_hz = 100.0;  ///< nominal rate of the device, > 0
  QuatOrder quat_order = QuatOrder::kWxyz;
  AccUnit acc_unit = AccUnit::kMps2;
  GyroUnit gyro_unit = GyroUnit::kRadPerSec;
  GyroSource gyro_source = GyroSource::kAuto;
  AxisMap axis_map{};
  double max_gap_s = 0.5;                 ///< gaps longer than this reset the window, > 0
  TimingMode timing = TimingMode::kAuto;  ///< where sample times come from (device_enums.h)
  // adapter-specific (docs/config.md, docs/adapters.md)
  std::string path;  ///< replay: file; serial: port (e.g. /dev/serial/by-id/...)
  // codecs (serial, udp, ble). For these adapters `codec` defaults to native.
  int device_id = -1;  ///< native/csv device id this entry accepts, 0..65535; -1: any
                       ///< (serial, ble). UDP with id_from = payload: required.
  std::vector<std::string> csv_columns{};  ///< codec csv: one name per field (CsvColumn names)
  std::string csv_separator = ",";         ///< codec csv: exactly one character
  // serial
  int baud = 115200;  ///< one of the standard rates, 50..4000000
  int data_bits = 8;  ///< 5..8
  Parity parity = Parity::kNone;
  int stop_bits = 1;  ///< 1 or 2
  FlowControl flow_control = FlowControl::kNone;
  // live links (serial, udp, ble)
  double reconnect_min_s = 0.25;  ///< first retry delay after a loss, > 0
  double reconnect_max_s = 8.0;   ///< retry delay cap (doubling from min), >= reconnect_min_s
  double idle_timeout_s =
      5.0;  ///< no bytes this long: serial/ble reconnect, udp reports lost; 0 = off
  // udp
  std::string udp_bind = "0.0.0.0:9000";  ///< ADDRESS:PORT ([v6]:PORT); devices may share it
  IdFrom id_from = IdFrom::kPayload;      ///< how datagrams find this device
  std::string udp_sender;                 ///< id_from = sender: "ADDRESS" or "ADDRESS:PORT"
  int udp_rcvbuf_bytes = 4 << 20;         ///< socket receive buffer asked for, >= 65536
  // mqtt (the [mqtt] broker connection)
  std::string mqtt_topic;                  ///< topic filter the samples come on (+ and # allowed)
  int mqtt_qos = 0;                        ///< subscription QoS, 0..2
  std::vector<std::string> json_fields{};  ///< codec json: "column=key" renames (key: a.b.c path)
  // ble (BlueZ over the system D-Bus)
  std::string ble_adapter = "hci0";
  std::string ble_address;       ///< "AA:BB:CC:DD:EE:FF" (upper case after validation), or
  std::string ble_name;          ///< the advertised name / alias (one of the two is required)
  std::string ble_service_uuid;  ///< 128-bit lower-case UUID after validation (16-bit expanded)
  std::string ble_char_uuid;     ///< notify characteristic
  std::string ble_write_uuid;    ///< optional write characteristic
  std::string ble_write_hex;     ///< bytes written there after each connect, e.g. "ff aa 03 08 00"
  std::vector<std::uint8_t> ble_write_bytes{};  ///< ble_write_hex decoded (filled by validation)
  double ble_connect_timeout_s = 20.0;          ///< > 0
  // replay
  ReplayFormat format = ReplayFormat::kCsv;
  double speed = 1.0;             ///< replay: 1 = real time, N = N x, 0 = as fast as possible
  bool loop = false;              ///< replay: start over at the end
  std::string time_column = "t";  ///< replay csv: time column
  std::string time_unit = "s";    ///< replay csv: s | ms | us | ns
  std::vector<std::string> acc_columns{};   ///< replay: 3 names, or empty
  std::vector<std::string> gyro_columns{};  ///< replay: 3 names, or empty
  std::vector<std::string> quat_columns{};  ///< replay: 4 names in quat_order, or empty
  std::string sequence_id;  ///< replay cmi / capture: only this sequence_id / capture_id
  std::uint64_t seed = 0;   ///< sim: random seed (0 = derived from the id)
  std::vector<std::string> gestures{};  ///< sim: which gestures it performs (empty: all)

  bool operator==(const DeviceConfig&) const = default;
};

struct Config {
  DaemonConfig daemon;
  ModelConfig model;
  WindowConfig window;
  BatcherConfig batcher;
  EventsConfig events;
  BusConfig bus;
  MetricsConfig metrics;
  ControlConfig control;
  CaptureConfig capture;
  TrainingConfig training;
  MqttConfig mqtt;
  WebConfig web;
  std::vector<DeviceConfig> devices;
  std::filesystem::path source;  ///< the file it came from (empty for strings)

  /// Index of the device with this id, or nullopt.
  [[nodiscard]] std::optional<std::size_t> device_index(const std::string& id) const;
  bool operator==(const Config&) const = default;
};

/// Largest config file load_config() reads.
inline constexpr std::uintmax_t kMaxConfigFileBytes = 1 << 20;

/// Parse, default and validate a TOML file. Relative paths inside are resolved against the
/// file's directory. Throws ConfigError naming the key path. Only a regular file (or a symlink
/// to one) of at most kMaxConfigFileBytes is read: a FIFO, socket, device or directory is refused
/// without being opened for a blocking read ("PATH: is a FIFO, not a regular file").
Config load_config(const std::filesystem::path& file);
/// Same, from a string (relative paths resolved against `base_dir`).
Config load_config_string(const std::string& toml_text, const std::filesystem::path& base_dir = {});

/// Keys that a SIGHUP may change on a running daemon; anything else needs a restart.
/// Returns a human-readable list of changes ("events.onset_threshold: 0.6 -> 0.7"), and fills
/// `needs_restart` with keys that changed but cannot change live: the section's name ("window",
/// "devices[1]", "devices" when the count changed), or for [events] the key ("events.null_label").
/// Which keys are live is said once, in the key tables (src/config/config_sections.cpp); both
/// lists come in table order (sections in file order, keys in table order).
std::vector<std::string> diff_live(const Config& old_cfg, const Config& new_cfg,
                                   std::vector<std::string>& needs_restart);

/// One key of the loader's tables, for tests and tools (e.g. that every key is diffed).
struct ConfigKeyInfo {
  std::string section;  ///< "events"; "devices" for the keys of each [[devices]] entry
  std::string path;     ///< "events.onset_threshold"; "devices[].baud"
  bool live = false;    ///< diff_live() reports a change of it as a change, not needs_restart
  std::function<void(Config&)> change;  ///< sets it to some other value (devices: devices[0])
};
/// Every key, in table order.
std::vector<ConfigKeyInfo> config_key_list();

/// The control endpoints: control.listen, or ipc://<runtime_dir>/control.sock.
std::vector<std::string> control_endpoints(const Config& c);
/// capture.database, or <state_dir>/captures.db.
std::filesystem::path capture_database(const Config& c);
/// training.registry, or <state_dir>/models.
std::filesystem::path model_registry_dir(const Config& c);

const char* to_string(FinetuneMode m) noexcept;
const char* to_string(AdapterKind k) noexcept;
const char* to_string(CodecKind k) noexcept;
/// True for adapters that carry bytes through a codec (serial, udp, ble, mqtt).
bool is_live(AdapterKind k) noexcept;

}  // namespace primus
