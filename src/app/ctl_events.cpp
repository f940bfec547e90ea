#include "src/app/ctl_events.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "src/bus/curve.h"
#include "src/config/config.h"

namespace primus::app {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted.store(true); }

/// A bind endpoint as a client connects to it: tcp://*:5555 -> tcp://127.0.0.1:5555.
std::string connectable(std::string ep) {
  for (const char* any : {"tcp://*:", "tcp://0.0.0.0:"}) {
    const std::string a = any;
    if (ep.rfind(a, 0) == 0) ep = "tcp://127.0.0.1:" + ep.substr(a.size());
  }
  return ep;
}

std::string clock_str(std::int64_t wall_ns) {
  const auto secs = static_cast<std::time_t>(wall_ns / 1'000'000'000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (wall_ns / 1'000'000) % 1000);
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
  std::vector<std::string> endpoints = opt.endpoints;
  if (endpoints.empty()) {
    try {
      Config cfg = opt.config.empty() ? Config{} : load_config(opt.config);
      endpoints = cfg.bus.publish;
      if (endpoints.empty())
        endpoints.push_back(
            "ipc://" + (std::filesystem::path(cfg.daemon.runtime_dir) / "events.sock").string());
    } catch (const std::exception& e) {
      err << "primusctl events: " << e.what() << "\n";
      return 1;
    }
  }
  std::vector<std::string> topics = opt.topics;
  static const std::vector<std::string> known{"gesture", "score", "status", "device", "training"};
  for (const auto& t : topics) {
    if (std::find(known.begin(), known.end(), t) == known.end()) {
      err << "primusctl events: --topic " << t
          << ": must be one of gesture, score, status, device, training\n";
      return 1;
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

  zmq::context_t ctx(1);
  zmq::socket_t sock(ctx, zmq::socket_type::sub);
  sock.set(zmq::sockopt::linger, 0);
  if (!opt.curve_server_key.empty()) {
    try {
      const std::string server =
          opt.curve_server_key.size() == 40 && !std::filesystem::exists(opt.curve_server_key)
              ? opt.curve_server_key
              : bus::read_curve_key_file(opt.curve_server_key);
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
    } catch (const std::exception& e) {
      err << "primusctl events: " << e.what() << "\n";
      return 1;
    }
  }
  for (const auto& s : subs) sock.set(zmq::sockopt::subscribe, s);
  for (const auto& ep : endpoints) {
    try {
      sock.connect(connectable(ep));
    } catch (const zmq::error_t& e) {
      err << "primusctl events: cannot connect to " << ep << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
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
        return 2;
      }
      continue;
    }
    std::vector<zmq::message_t> parts;
    zmq::message_t part;
    do {
      if (!sock.recv(part, zmq::recv_flags::none)) break;
      parts.emplace_back(std::move(part));
    } while (sock.get(zmq::sockopt::rcvmore));
    if (parts.size() != 2) continue;
    last = std::chrono::steady_clock::now();
    const std::string topic = parts[0].to_string();
    const std::string body = parts[1].to_string();
    if (opt.json) {
      out << body << "\n";
    } else {
      out << format_message(topic, body) << "\n";
    }
    out.flush();
    if (opt.count && ++n >= opt.count) break;
  }
  return 0;
}

int run_keygen(const std::string& prefix, std::ostream& out, std::ostream& err) {
  try {
    const auto kp = bus::curve_keypair();
    const std::string sec = prefix + ".secret", pub = prefix + ".public";
    {
      std::ofstream f(sec, std::ios::trunc);
      if (!f) throw std::runtime_error("cannot write " + sec);
      std::filesystem::permissions(
          sec, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
      f << "# primusd CURVE secret key (keep private)\n" << kp.secret_z85 << "\n";
    }
    std::ofstream(pub, std::ios::trunc) << kp.public_z85 << "\n";
    out << "wrote " << sec << " and " << pub << "\npublic key: " << kp.public_z85 << "\n";
    return 0;
  } catch (const std::exception& e) {
    err << "primusctl keygen: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace primus::app
