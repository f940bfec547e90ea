#include "src/ctl/events_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <zmq.hpp>

#include "src/bus/curve.h"
#include "src/config/config.h"
#include "src/ctl/endpoint.h"
#include "src/ctl/exit_status.h"

namespace primus::ctl {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted.store(true); }

const std::vector<std::string>& known_topics() {
  static const std::vector<std::string> known{"gesture", "score", "status", "device", "training"};
  return known;
}

std::string clock_str(std::int64_t wall_ns) {
  const auto secs = static_cast<std::time_t>(wall_ns / 1'000'000'000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (wall_ns / 1'000'000) % 1000);
}

// ---- connect and subscribe ---------------------------------------------------------------------

/// --endpoint, else bus.publish of --config, else the ipc endpoint in its runtime dir.
/// Throws std::runtime_error for an unreadable or invalid config.
std::vector<std::string> bus_endpoints(const EventsOptions& opt) {
  if (!opt.endpoints.empty()) return opt.endpoints;
  Config cfg = opt.config.empty() ? Config{} : load_config(opt.config);
  std::vector<std::string> endpoints = cfg.bus.publish;
  if (endpoints.empty())
    endpoints.push_back("ipc://" +
                        (std::filesystem::path(cfg.daemon.runtime_dir) / "events.sock").string());
  return endpoints;
}

/// The topic prefixes to subscribe to, or nullopt (message on `err`) for an unknown --topic.
std::optional<std::vector<std::string>> subscriptions(const EventsOptions& opt, std::ostream& err) {
  const std::vector<std::string>& topics = opt.topics;
  const std::vector<std::string>& known = known_topics();
  for (const auto& t : topics) {
    if (std::find(known.begin(), known.end(), t) == known.end()) {
      err << "primusctl events: --topic " << t
          << ": must be one of gesture, score, status, device, training\n";
      return std::nullopt;
    }
  }
  std::vector<std::string> subs;
  if (opt.devices.empty()) {
    subs = topics.empty() ? std::vector<std::string>{""} : topics;
  } else {
    for (const auto& t : topics.empty() ? known : topics) {
      if (t == "status" || t == "training") {
        if (!topics.empty()) subs.push_back(t);  // device-less topics only when asked for
        continue;
      }
      for (const auto& d : opt.devices) subs.push_back(t + "." + d);
    }
  }
  return subs;
}

/// Makes `sock` a CURVE client of --curve-server-key. Throws for an unreadable key.
void set_curve_keys(zmq::socket_t& sock, const EventsOptions& opt) {
  const std::string server = curve_key_arg(opt.curve_server_key);
  bus::CurveKeyPair me;
  if (opt.curve_client_secret.empty()) {
    me = bus::curve_keypair();
  } else {
    me.secret_z85 = bus::read_curve_key_file(opt.curve_client_secret);
    me.public_z85 = bus::curve_public_from_secret(me.secret_z85);
  }
  sock.set(zmq::sockopt::curve_serverkey, server);
  sock.set(zmq::sockopt::curve_publickey, me.public_z85);
  sock.set(zmq::sockopt::curve_secretkey, me.secret_z85);
}

/// Sets CURVE up (with --curve-server-key), subscribes `subs` and connects to every endpoint.
/// Returns false (message on `err`) when a key cannot be read or an endpoint connected.
bool connect_subscriber(zmq::socket_t& sock, const EventsOptions& opt,
                        const std::vector<std::string>& endpoints,
                        const std::vector<std::string>& subs, std::ostream& err) {
  if (!opt.curve_server_key.empty()) {
    try {
      set_curve_keys(sock, opt);
    } catch (const std::exception& e) {
      err << "primusctl events: " << e.what() << "\n";
      return false;
    }
  }
  for (const auto& s : subs) sock.set(zmq::sockopt::subscribe, s);
  for (const auto& ep : endpoints) {
    try {
      sock.connect(connectable(ep));
    } catch (const zmq::error_t& e) {
      err << "primusctl events: cannot connect to " << ep << ": " << e.what() << "\n";
      return false;
    }
  }
  return true;
}

// ---- receive and print -------------------------------------------------------------------------

/// All parts of the next message (fewer when a receive fails).
std::vector<zmq::message_t> receive_parts(zmq::socket_t& sock) {
  std::vector<zmq::message_t> parts;
  zmq::message_t part;
  do {
    if (!sock.recv(part, zmq::recv_flags::none)) break;
    parts.emplace_back(std::move(part));
  } while (sock.get(zmq::sockopt::rcvmore));
  return parts;
}

/// One line for a [topic, JSON] message: the JSON with --json, else its human form. Returns
/// false (a line on `err`, nothing on `out`) for a body that is not a JSON object under --json.
bool print_message(const EventsOptions& opt, const std::string& topic, const std::string& body,
                   std::ostream& out, std::ostream& err) {
  if (opt.json) {
    // One JSON document per line, whatever arrives: jq must never choke on the stream.
    const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      err << "primusctl events: " << topic << ": body is not a JSON object, not printed\n";
      return false;
    }
    out << body << "\n";
  } else {
    out << format_message(topic, body) << "\n";
  }
  out.flush();
  return true;
}

/// Prints messages until `count` of them are printed, SIGINT/SIGTERM (0) or --timeout without
/// one (3).
/// Throws zmq::error_t for a poll error other than EINTR.
int receive_loop(zmq::socket_t& sock, const EventsOptions& opt,
                 const std::vector<std::string>& endpoints, std::ostream& out, std::ostream& err) {
  std::uint64_t n = 0;
  auto last = std::chrono::steady_clock::now();
  while (!g_interrupted.load()) {
    zmq::pollitem_t items[] = {{sock.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 1, std::chrono::milliseconds(200));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    if (!(items[0].revents & ZMQ_POLLIN)) {
      if (opt.timeout_s > 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - last).count() >
              opt.timeout_s) {
        err << "primusctl events: no message for " << opt.timeout_s << " s from "
            << fmt::format("{}", fmt::join(endpoints, ", ")) << "\n";
        return kExitNoDaemon;
      }
      continue;
    }
    const std::vector<zmq::message_t> parts = receive_parts(sock);
    if (parts.size() != 2) continue;
    last = std::chrono::steady_clock::now();
    if (!print_message(opt, parts[0].to_string(), parts[1].to_string(), out, err)) continue;
    if (opt.count && ++n >= opt.count) break;
  }
  return kExitOk;
}

}  // namespace

std::string format_message(const std::string& topic, const std::string& payload) {
  nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return topic + " (not JSON) " + payload;
  const std::string type = j.value("type", "");
  const auto now_wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const std::string ts = clock_str(j.value("t_wall_ns", static_cast<std::int64_t>(now_wall)));
  if (type == "gesture" && j.value("phase", "end") == "start") {
    return fmt::format("{} start    {:<12} {:<10} conf {:.2f}  #{}  model {}", ts,
                       j.value("device", ""), j.value("label", ""), j.value("confidence", 0.0),
                       j.value("seq", 0), j.value("model_version", ""));
  }
  if (type == "gesture") {
    return fmt::format("{} gesture  {:<12} {:<10} conf {:.2f}  {:.2f} s  {} windows  #{}  model {}",
                       ts, j.value("device", ""), j.value("label", ""), j.value("confidence", 0.0),
                       j.value("duration_s", 0.0), j.value("windows", 0), j.value("seq", 0),
                       j.value("model_version", ""));
  }
  if (type == "score") {
    return fmt::format("{} score    {:<12} window {:<6} best {:<10} {:.2f}", ts,
                       j.value("device", ""), j.value("window_seq", 0), j.value("label", ""),
                       j.value("confidence", 0.0));
  }
  if (type == "device") {
    return fmt::format("{} device   {:<12} {} ({})", ts, j.value("device", ""),
                       j.value("state", ""), j.value("detail", ""));
  }
  if (type == "status") {
    std::size_t connected = 0, total = 0;
    double rate = 0;
    if (j.contains("devices")) {
      for (const auto& d : j["devices"]) {
        ++total;
        if (d.value("state", "") == "connected") ++connected;
        rate += d.value("rate_hz", 0.0);
      }
    }
    const auto& inf = j.contains("inference") ? j["inference"] : nlohmann::json::object();
    double p99 = 0;
    if (inf.contains("latency_ms")) p99 = inf["latency_ms"].value("p99", 0.0);
    return fmt::format(
        "{} status   {}/{} devices, {:.0f} samples/s, {:.1f} windows/s, mean batch {:.1f}, p99 "
        "{:.1f} ms, {} events",
        ts, connected, total, rate, inf.value("windows_per_s", 0.0), inf.value("mean_batch", 0.0),
        p99, inf.value("events", 0));
  }
  return topic + " " + payload;
}

int run_events(const EventsOptions& opt, std::ostream& out, std::ostream& err) {
  std::vector<std::string> endpoints;
  try {
    endpoints = bus_endpoints(opt);
  } catch (const std::exception& e) {
    err << "primusctl events: " << e.what() << "\n";
    return kExitUsage;
  }
  const std::optional<std::vector<std::string>> subs = subscriptions(opt, err);
  if (!subs) return kExitUsage;

  zmq::context_t ctx(1);
  zmq::socket_t sock(ctx, zmq::socket_type::sub);
  sock.set(zmq::sockopt::linger, 0);
  if (!connect_subscriber(sock, opt, endpoints, *subs, err)) return kExitUsage;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return receive_loop(sock, opt, endpoints, out, err);
}

}  // namespace primus::ctl
