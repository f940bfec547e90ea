// The key tables of every section but [[devices]] (config_devices.cpp). One entry per key: its
// TOML name, its field, whether SIGHUP applies it (kLive), and its checks. The order of a table
// is the order keys are parsed and checked in; a check may read the keys above it.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "src/config/config_keys.h"
#include "src/config/web_token.h"

namespace primus::config_detail {
namespace {

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

/// tcp://127.x.x.x:P, tcp://localhost:P, tcp://[::1]:P.
bool is_loopback_tcp(const std::string& ep) {
  const std::string host = ep.substr(6, ep.rfind(':') - 6);
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
}

/// bus.publish and control.listen: well-formed endpoints, and no plain TCP off loopback unless
/// CURVE is on or bus.allow_insecure_tcp says so.
void check_endpoints(const std::vector<std::string>& eps, const BusConfig& bus, const Ctx& c) {
  for (std::size_t i = 0; i < eps.size(); ++i) {
    if (!valid_endpoint(eps[i]))
      fail(c.elem(i), quote(eps[i]), "must be tcp://HOST:PORT, ipc://PATH or inproc://NAME");
  }
  for (std::size_t i = 0; i < eps.size(); ++i) {
    const auto& ep = eps[i];
    if (ep.rfind("tcp://", 0) == 0 && !is_loopback_tcp(ep) && bus.curve_secret_key.empty() &&
        !bus.allow_insecure_tcp)
      fail(c.elem(i), quote(ep),
           "binds off loopback without encryption: set bus.curve_secret_key, or "
           "bus.allow_insecure_tcp = true");
  }
}

/// Resolves a path-valued key and, when set, requires the file.
void existing_file(std::string& p, const Ctx& c) {
  c.resolve(p);
  if (!p.empty()) c.require_file(p);
}

}  // namespace

const Section<DaemonConfig>& daemon_section() {
  using S = DaemonConfig;
  static const Section<S> sec{
      .name = "daemon",
      .keys = {
          key("log_level", &S::log_level, kLive)
              .one_of({"trace", "debug", "info", "warn", "error", "critical", "off"}),
          key("state_dir", &S::state_dir).check([](std::string& v, const Ctx& c) {
            if (v.empty()) c.fail("\"\"", "must not be empty");
          }),
          key("runtime_dir", &S::runtime_dir).check([](std::string& v, const Ctx& c) {
            if (v.empty()) c.fail("\"\"", "must not be empty");
          }),
          key("watchdog_ms", &S::watchdog_ms).check([](int& v, const Ctx& c) { c.at_least(v, 0); }),
          key("status_interval_s", &S::status_interval_s, kLive).check([](double& v, const Ctx& c) {
            if (v <= 0) c.fail(std::to_string(v), "must be > 0");
          }),
      }};
  return sec;
}

const Section<ModelConfig>& model_section() {
  using S = ModelConfig;
  // model.weights is live: the new file is loaded beside the live model, then swapped in.
  static const Section<S> sec{
      .name = "model",
      .keys = {
          key("weights", &S::weights, kLive).check(existing_file),
          key("device", &S::device).check([](std::string& v, const Ctx& c) {
            static const std::regex dev_re(R"(^(auto|cpu|cuda|cuda:[0-9]+)$)");
            if (!std::regex_match(v, dev_re)) c.fail(quote(v), "must be auto, cpu, cuda or cuda:N");
          }),
          key("threads", &S::threads).check([](int& v, const Ctx& c) { c.in_range(v, 1, 256); }),
          key("instances", &S::instances).check([](int& v, const Ctx& c) { c.in_range(v, 1, 64); }),
          key("backend", &S::backend),
          key("embedding", &S::embedding),
          key("labels", &S::labels).check([](std::vector<std::string>& v, const Ctx& c) {
            if (v.size() < 2)
              c.fail("[...]", "needs at least 2 labels (a null class and one gesture)");
            std::set<std::string> seen;
            for (std::size_t i = 0; i < v.size(); ++i)
              if (v[i].empty() || !seen.insert(v[i]).second)
                fail(c.elem(i), quote(v[i]), "labels must be non-empty and unique");
          }),
          key("seed", &S::seed),
      }};
  return sec;
}

const Section<WindowConfig>& window_section() {
  using S = WindowConfig;
  static const Section<S> sec{
      .name = "window",
      .keys = {
          key("rate_hz", &S::rate_hz).check([](double& v, const Ctx& c) {
            if (!(v > 0 && v <= 1000)) c.fail(std::to_string(v), "must be in (0, 1000]");
          }),
          key("length", &S::length).check([](int& v, const Ctx& c) {
            if (v < 123)
              c.fail(std::to_string(v), "must be >= 123 (the PRIMUS encoder's shortest input)");
            if (v > 100000) c.fail(std::to_string(v), "must be <= 100000");
          }),
          key("hop", &S::hop).check([](int& v, const S& w, const Ctx& c) {
            if (v < 1 || v > w.length) c.fail(std::to_string(v), "must be in 1..window.length");
          }),
      }};
  return sec;
}

const Section<BatcherConfig>& batcher_section() {
  using S = BatcherConfig;
  static const Section<S> sec{
      .name = "batcher",
      .keys = {
          key("max_batch", &S::max_batch).check([](int& v, const Ctx& c) {
            c.in_range(v, 1, 1024);
          }),
          key("max_delay_us", &S::max_delay_us).check([](int& v, const Ctx& c) {
            c.in_range(v, 0, 10'000'000);
          }),
          key("queue", &S::queue).check([](int& v, const S& b, const Ctx& c) {
            if (v < b.max_batch) c.fail(std::to_string(v), "must be >= batcher.max_batch");
          }),
          key("max_queue_delay_us", &S::max_queue_delay_us)
              .check([](int& v, const S& b, const Ctx& c) {
                if (v < 0) c.fail(std::to_string(v), "must be >= 0 (0 = never expire)");
                if (v > 0 && v < b.max_delay_us)
                  c.fail(std::to_string(v), "must be 0 or >= batcher.max_delay_us");
              }),
      }};
  return sec;
}

const Section<EventsConfig>& events_section() {
  using S = EventsConfig;
  static const Section<S> sec{
      .name = "events",
      .keys =
          {
              key("onset_threshold", &S::onset_threshold, kLive).check([](double& v, const Ctx& c) {
                if (!(v >= 0 && v <= 1)) c.fail(num(v), "must be in [0, 1]");
              }),
              key("release_threshold", &S::release_threshold, kLive)
                  .check([](double& v, const S& e, const Ctx& c) {
                    if (!(v >= 0 && v <= e.onset_threshold))
                      c.fail(num(v), "must be in [0, events.onset_threshold]");
                  }),
              key("smoothing_windows", &S::smoothing_windows, kLive)
                  .check([](int& v, const Ctx& c) { c.in_range(v, 1, 1000); }),
              key("margin", &S::margin, kLive).check([](double& v, const Ctx& c) {
                if (!(v >= 0 && v < 1)) c.fail(num(v), "must be in [0, 1)");
              }),
              key("min_duration_ms", &S::min_duration_ms, kLive).check([](int& v, const Ctx& c) {
                c.at_least(v, 0);
              }),
              key("refractory_ms", &S::refractory_ms, kLive).check([](int& v, const Ctx& c) {
                c.at_least(v, 0);
              }),
              key("null_label", &S::null_label).check([](std::string& v, const Ctx& c) {
                const auto& labels = c.config().model.labels;
                if (std::find(labels.begin(), labels.end(), v) == labels.end())
                  c.fail(quote(v), "must be one of model.labels");
              }),
              key("publish_scores", &S::publish_scores, kLive),
              key("calibrated", &S::calibrated, kLive),
              key("latency_budget_ms", &S::latency_budget_ms).check([](int& v, const Ctx& c) {
                c.in_range(v, 0, 60'000);
              }),
          },
      .restart_by_key = true,
      // Which keys the file sets: they win over a model's calibration (calibration.h).
      .after_parse = [](S& e, const toml::table& t) {
        e.explicit_keys.clear();
        for (const auto& [name, value] : t) e.explicit_keys.emplace_back(name.str());
        std::sort(e.explicit_keys.begin(), e.explicit_keys.end());
      }};
  return sec;
}

const Section<BusConfig>& bus_section() {
  using S = BusConfig;
  static const Section<S> sec{
      .name = "bus",
      .keys = {
          key("publish", &S::publish)
              .check([](std::vector<std::string>& v, const S& b, const Ctx& c) {
                check_endpoints(v, b, c);
              }),
          key("sndhwm", &S::sndhwm).check([](int& v, const Ctx& c) { c.at_least(v, 1); }),
          key("queue", &S::queue).check([](int& v, const Ctx& c) { c.at_least(v, 1); }),
          key("allow_insecure_tcp", &S::allow_insecure_tcp),
          key("curve_secret_key", &S::curve_secret_key).check(existing_file),
          key("curve_authorized_keys", &S::curve_authorized_keys)
              .check([](std::string& v, const S& b, const Ctx& c) {
                c.resolve(v);
                if (!v.empty() && b.curve_secret_key.empty())
                  c.fail(quote(v), "needs bus.curve_secret_key");
                if (!v.empty()) c.require_file(v);
              }),
      }};
  return sec;
}

const Section<MetricsConfig>& metrics_section() {
  using S = MetricsConfig;
  static const Section<S> sec{
      .name = "metrics",
      .keys = {
          key("listen", &S::listen).check([](std::string& v, const Ctx& c) {
            if (v.empty()) return;
            static const std::regex listen_re(
                R"(^(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\]):([0-9]{1,5})$)");
            std::smatch m;
            if (!std::regex_match(v, m, listen_re) || std::stol(m[2].str()) > 65535)
              c.fail(quote(v), "must be a loopback HOST:PORT, e.g. 127.0.0.1:9464");
          }),
      }};
  return sec;
}

const Section<ControlConfig>& control_section() {
  using S = ControlConfig;
  static const Section<S> sec{
      .name = "control",
      .keys = {
          key("listen", &S::listen).check([](std::vector<std::string>& v, const Ctx& c) {
            check_endpoints(v, c.config().bus, c);
          }),
          key("max_request_bytes", &S::max_request_bytes).check([](int& v, const Ctx& c) {
            c.at_least(v, 256);
          }),
          key("max_in_flight", &S::max_in_flight).check([](int& v, const Ctx& c) {
            c.at_least(v, 1);
          }),
      }};
  return sec;
}

const Section<CaptureConfig>& capture_section() {
  using S = CaptureConfig;
  static const Section<S> sec{
      .name = "capture",
      .keys = {
          key("database", &S::database).check([](std::string& v, const Ctx& c) { c.resolve(v); }),
          key("max_bytes", &S::max_bytes).check([](std::int64_t& v, const Ctx& c) {
            if (v < 0) c.fail(std::to_string(v), "must be >= 0 (0 = unlimited)");
          }),
          key("max_age_s", &S::max_age_s).check([](std::int64_t& v, const Ctx& c) {
            if (v < 0) c.fail(std::to_string(v), "must be >= 0 (0 = never)");
          }),
          // Its range depends on min_label_s, checked next: an invalid min is reported there.
          key("max_label_s", &S::max_label_s).check([](double& v, const S& s, const Ctx& c) {
            if (s.min_label_s > 0 && !(v >= s.min_label_s && v <= 60))
              c.fail(num(v),
                     "must be in [capture.min_label_s, 60] (60 s: the history each device keeps)");
          }),
          key("min_label_s", &S::min_label_s).check([](double& v, const Ctx& c) {
            if (!(v > 0)) c.fail(num(v), "must be > 0");
          }),
          key("queue", &S::queue).check([](int& v, const Ctx& c) { c.at_least(v, 1); }),
      }};
  return sec;
}

const Section<TrainingConfig>& training_section() {
  using S = TrainingConfig;
  static const Section<S> sec{
      .name = "training",
      .keys = {
          key("registry", &S::registry).check([](std::string& v, const Ctx& c) { c.resolve(v); }),
          key("mode", &S::mode),
          key("epochs", &S::epochs).check([](int& v, const Ctx& c) { c.in_range(v, 1, 10000); }),
          key("head_epochs", &S::head_epochs).check([](int& v, const S& t, const Ctx& c) {
            if (v < 0 || v > t.epochs) c.fail(std::to_string(v), "must be in 0..training.epochs");
          }),
          key("batch_size", &S::batch_size).check([](int& v, const Ctx& c) {
            c.in_range(v, 1, 1024);
          }),
          key("lr", &S::lr).check([](double& v, const Ctx& c) {
            if (!(v > 0 && v < 10)) c.fail(num(v), "must be in (0, 10)");
          }),
          key("encoder_lr", &S::encoder_lr).check([](double& v, const Ctx& c) {
            if (!(v > 0 && v < 10)) c.fail(num(v), "must be in (0, 10)");
          }),
          key("weight_decay", &S::weight_decay).check([](double& v, const Ctx& c) {
            if (!(v >= 0)) c.fail(num(v), "must be >= 0");
          }),
          key("warmup_fraction", &S::warmup_fraction).check([](double& v, const Ctx& c) {
            if (!(v >= 0 && v < 1)) c.fail(num(v), "must be in [0, 1)");
          }),
          key("patience", &S::patience).check([](int& v, const Ctx& c) { c.at_least(v, 1); }),
          key("val_fraction", &S::val_fraction).check([](double& v, const Ctx& c) {
            if (!(v > 0 && v < 1)) c.fail(num(v), "must be in (0, 1)");
          }),
          key("stride", &S::stride).check([](int& v, const Ctx& c) { c.at_least(v, 1); }),
          key("augment", &S::augment).check([](std::vector<std::string>& v, const Ctx& c) {
            static const std::set<std::string> augs{"scale", "permute", "rotate", "noise"};
            for (std::size_t i = 0; i < v.size(); ++i)
              if (!augs.count(v[i]))
                fail(c.elem(i), quote(v[i]), "must be one of scale, permute, rotate, noise");
          }),
          key("balance", &S::balance),
          key("negatives", &S::negatives),
          key("negative_overlap", &S::negative_overlap).check([](double& v, const Ctx& c) {
            if (!(v > 0 && v < 1)) c.fail(num(v), "must be in (0, 1)");
          }),
          key("positive_overlap", &S::positive_overlap)
              .check([](double& v, const S& t, const Ctx& c) {
                if (!(v > t.negative_overlap && v <= 1))
                  c.fail(num(v), "must be in (training.negative_overlap, 1]");
              }),
          key("threads", &S::threads).check([](int& v, const Ctx& c) { c.in_range(v, 1, 256); }),
          key("gate_margin", &S::gate_margin).check([](double& v, const Ctx& c) {
            if (!(v >= 0 && v < 1)) c.fail(num(v), "must be in [0, 1)");
          }),
          key("schedule_minutes", &S::schedule_minutes).check([](double& v, const Ctx& c) {
            if (!(v >= 0)) c.fail(num(v), "must be >= 0 (0 = off)");
          }),
          key("min_new_windows", &S::min_new_windows).check([](int& v, const Ctx& c) {
            c.at_least(v, 1);
          }),
          key("keep_versions", &S::keep_versions).check([](int& v, const Ctx& c) {
            c.at_least(v, 2);
          }),
          key("seed", &S::seed),
      }};
  return sec;
}

namespace {

/// A topic prefix: levels separated by '/', no wildcard, no leading or trailing '/'.
void check_topic_prefix(const std::string& v, const Ctx& c) {
  if (v.empty() || v.size() > 256) c.fail(quote(v), "must be 1..256 characters");
  if (v.front() == '/' || v.back() == '/') c.fail(quote(v), "must not start or end with '/'");
  for (const char ch : v)
    if (ch == '+' || ch == '#' || static_cast<unsigned char>(ch) < 0x20)
      c.fail(quote(v), "must not contain '+', '#' or control characters");
}

/// The host's name as a node name: [A-Za-z0-9_-], other characters as '-', at most 64.
std::string host_node_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "primusd";
  std::string out;
  for (const char* p = buf; *p && out.size() < 64; ++p)
    out += (std::isalnum(static_cast<unsigned char>(*p)) || *p == '_' || *p == '-') ? *p : '-';
  return out;
}

}  // namespace

const Section<MqttConfig>& mqtt_section() {
  using S = MqttConfig;
  auto positive = [](double& v, const Ctx& c) {
    if (!(v > 0 && v <= 3600)) c.fail(num(v), "must be in (0, 3600]");
  };
  static const Section<S> sec{
      .name = "mqtt",
      .keys = {
          key("enabled", &S::enabled),
          key("host", &S::host).check([](std::string& v, const Ctx& c) {
            if (v.empty() || v.find_first_of(" \t/") != std::string::npos)
              c.fail(quote(v), "must be a host name or address");
          }),
          key("port", &S::port).check([](int& v, const Ctx& c) { c.in_range(v, 1, 65535); }),
          key("node", &S::node).check([](std::string& v, const Ctx& c) {
            if (v.empty()) v = host_node_name();
            static const std::regex node_re(R"(^[A-Za-z0-9_\-]{1,64}$)");
            if (!std::regex_match(v, node_re)) c.fail(quote(v), "must match [A-Za-z0-9_-]{1,64}");
          }),
          key("client_id", &S::client_id).check([](std::string& v, const S& m, const Ctx& c) {
            if (v.empty()) v = "primusd-" + m.node;
            if (v.size() > 256) c.fail(quote(v), "must be at most 256 characters");
            for (const char ch : v)
              if (static_cast<unsigned char>(ch) < 0x21) c.fail(quote(v), "must be printable");
          }),
          key("username", &S::username),
          key("password", &S::password).check([](std::string& v, const S& m, const Ctx& c) {
            if (!v.empty() && m.username.empty()) c.fail("\"...\"", "needs mqtt.username");
          }),
          key("password_file", &S::password_file)
              .check([](std::string& v, const S& m, const Ctx& c) {
                existing_file(v, c);
                if (!v.empty() && m.username.empty()) c.fail(quote(v), "needs mqtt.username");
                if (!v.empty() && !m.password.empty())
                  c.fail(quote(v), "set mqtt.password or mqtt.password_file, not both");
              }),
          key("ca_file", &S::ca_file).check(existing_file),
          key("cert_file", &S::cert_file).check([](std::string& v, const S& m, const Ctx& c) {
            existing_file(v, c);
            if (!v.empty() && m.ca_file.empty())
              c.fail(quote(v), "needs mqtt.ca_file (client certificates are a TLS feature)");
            if (v.empty() != m.key_file.empty())
              c.fail(quote(v), "mqtt.cert_file and mqtt.key_file go together");
          }),
          key("key_file", &S::key_file).check(existing_file),
          key("keepalive_s", &S::keepalive_s).check([](int& v, const Ctx& c) {
            c.in_range(v, 5, 3600);
          }),
          key("qos", &S::qos).check([](int& v, const Ctx& c) { c.in_range(v, 0, 2); }),
          key("topic_prefix", &S::topic_prefix).check(check_topic_prefix),
          key("discovery", &S::discovery),
          key("discovery_prefix", &S::discovery_prefix).check(check_topic_prefix),
          key("queue", &S::queue).check([](int& v, const Ctx& c) {
            c.in_range(v, 16, 10'000'000);
          }),
          key("summary_interval_s", &S::summary_interval_s).check([](double& v, const Ctx& c) {
            if (!(v >= 0 && v <= 86400)) c.fail(num(v), "must be in [0, 86400] (0 = off)");
          }),
          key("reconnect_min_s", &S::reconnect_min_s).check(positive),
          key("reconnect_max_s", &S::reconnect_max_s)
              .check([](double& v, const S& m, const Ctx& c) {
                if (!(v >= m.reconnect_min_s && v <= 3600))
                  c.fail(num(v), "must be in [mqtt.reconnect_min_s, 3600]");
              }),
      }};
  return sec;
}

namespace {

/// A web.token: 16..256 printable ASCII characters without spaces, quotes, ';' or ',' (it travels
/// in an HTTP header and a cookie). Never echoed in errors.
void check_web_token(const std::string& v, const Ctx& c) {
  if (v.empty()) return;
  if (const auto why = web_token_problem(v); !why.empty()) c.fail("\"...\"", why);
}

}  // namespace

const Section<WebConfig>& web_section() {
  using S = WebConfig;
  static const Section<S> sec{
      .name = "web",
      .keys = {
          key("token", &S::token).check(check_web_token),
          key("token_file", &S::token_file).check([](std::string& v, const S& w, const Ctx& c) {
            existing_file(v, c);
            if (!v.empty() && !w.token.empty())
              c.fail(quote(v), "set web.token or web.token_file, not both");
          }),
          key("listen", &S::listen).check([](std::string& v, const S& w, const Ctx& c) {
            if (v.empty()) return;
            static const std::regex listen_re(
                R"(^([A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$)");
            std::smatch m;
            if (!std::regex_match(v, m, listen_re) || std::stol(m[2].str()) > 65535)
              c.fail(quote(v), "must be HOST:PORT, e.g. 127.0.0.1:8321");
            const std::string host = m[1].str();
            const bool loopback =
                host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
            if (!loopback && w.token.empty() && w.token_file.empty())
              c.fail(quote(v), "binds off loopback: set web.token or web.token_file");
          }),
          key("max_clients", &S::max_clients).check([](int& v, const Ctx& c) {
            c.in_range(v, 1, 64);
          }),
          key("client_queue", &S::client_queue).check([](int& v, const Ctx& c) {
            c.in_range(v, 16, 1'000'000);
          }),
          key("frame_rate_hz", &S::frame_rate_hz).check([](double& v, const Ctx& c) {
            if (!(v >= 1 && v <= 100)) c.fail(num(v), "must be in [1, 100]");
          }),
      }};
  return sec;
}

}  // namespace primus::config_detail

namespace primus {

std::string web_token_problem(const std::string& token) {
  if (token.size() < 16 || token.size() > 256) return "must be 16..256 characters long";
  for (const char ch : token) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f || ch == '"' || ch == ';' || ch == ',' || ch == '\\')
      return "must be printable ASCII without spaces, quotes, ';', ',' or '\\'";
  }
  return {};
}

}  // namespace primus
