#include "src/bus/curve.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <array>
#include <fstream>
#include <future>
#include <stdexcept>
#include <zmq.hpp>

namespace primus::bus {
namespace {

bool is_z85_key(const std::string& k) {
  if (k.size() != 40) return false;
  std::array<std::uint8_t, 32> bin{};
  return zmq_z85_decode(bin.data(), k.c_str()) != nullptr;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

}  // namespace

CurveKeyPair curve_keypair() {
  std::array<char, 41> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
    throw std::runtime_error(std::string("CURVE unavailable in libzmq: ") +
                             zmq_strerror(zmq_errno()));
  return {pub.data(), sec.data()};
}

std::string curve_public_from_secret(const std::string& secret_z85) {
  std::array<char, 41> pub{};
  if (!is_z85_key(secret_z85) || zmq_curve_public(pub.data(), secret_z85.c_str()) != 0)
    throw std::runtime_error("not a Z85 CURVE secret key");
  return pub.data();
}

std::string read_curve_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read key file " + path);
  std::string line, key;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    key = line;
    break;
  }
  if (!is_z85_key(key)) throw std::runtime_error(path + ": expected a 40-character Z85 CURVE key");
  return key;
}

std::set<std::string> read_authorized_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read authorized keys file " + path);
  std::set<std::string> keys;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (!is_z85_key(line))
      throw std::runtime_error(path + ":" + std::to_string(n) +
                               ": not a 40-character Z85 public key");
    keys.insert(line);
  }
  return keys;
}

ZapAuthenticator::ZapAuthenticator(zmq::context_t& ctx, std::set<std::string> authorized)
    : ctx_(ctx), authorized_(std::move(authorized)) {
  std::promise<void> bound;
  auto fut = bound.get_future();
  thread_ = std::thread([this, &bound] {
    pthread_setname_np(pthread_self(), "primus-zap");
    zmq::socket_t rep(ctx_, zmq::socket_type::rep);
    try {
      rep.set(zmq::sockopt::linger, 0);
      rep.bind("inproc://zeromq.zap.01");
    } catch (...) {
      bound.set_exception(std::current_exception());
      return;
    }
    bound.set_value();
    while (!stop_.load()) {
      zmq::pollitem_t items[] = {{rep.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(100));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      // Request: version, request id, domain, address, identity, mechanism, credentials...
      std::vector<zmq::message_t> req;
      zmq::message_t part;
      do {
        if (!rep.recv(part)) break;
        req.emplace_back(std::move(part));
      } while (rep.get(zmq::sockopt::rcvmore));
      if (req.size() < 6) continue;
      const std::string version = req[0].to_string();
      const std::string request_id = req[1].to_string();
      const std::string mechanism = req[5].to_string();
      bool ok = false;
      std::string client;
      if (version == "1.0" && mechanism == "CURVE" && req.size() >= 7 && req[6].size() == 32) {
        std::array<char, 41> z85{};
        zmq_z85_encode(z85.data(), static_cast<const std::uint8_t*>(req[6].data()), 32);
        client = z85.data();
        ok = authorized_.count(client) > 0;
      }
      (ok ? accepted_ : denied_).fetch_add(1);
      if (!ok)
        spdlog::warn("bus: refused a {} client{}{}", mechanism, client.empty() ? "" : " with key ",
                     client);
      const std::array<std::string, 6> reply{"1.0",
                                             request_id,
                                             ok ? "200" : "400",
                                             ok ? "OK" : "client key not authorized",
                                             ok ? client : "",
                                             ""};
      for (std::size_t i = 0; i < reply.size(); ++i) {
        rep.send(zmq::buffer(reply[i]),
                 i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
    }
  });
  try {
    fut.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

ZapAuthenticator::~ZapAuthenticator() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace primus::bus
