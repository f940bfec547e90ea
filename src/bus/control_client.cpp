#include "src/bus/control_client.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "src/bus/curve.h"

namespace primus::bus {

nlohmann::json control_call(zmq::context_t& ctx, const std::string& endpoint,
                            const std::string& method, const nlohmann::json& params,
                            double timeout_s, const CurveClientKeys* curve) {
  static std::atomic<std::uint64_t> next_id{1};
  // Unique per process and call, so a reply is matched to its request.
  const std::string id = fmt::format("{}-{}", ::getpid(), next_id.fetch_add(1));

  zmq::socket_t sock(ctx, zmq::socket_type::dealer);
  sock.set(zmq::sockopt::linger, 0);
  if (curve) {
    CurveKeyPair me;
    if (curve->client_secret_z85.empty()) {
      me = curve_keypair();
    } else {
      me.secret_z85 = curve->client_secret_z85;
      me.public_z85 = curve_public_from_secret(me.secret_z85);
    }
    sock.set(zmq::sockopt::curve_serverkey, curve->server_public_z85);
    sock.set(zmq::sockopt::curve_publickey, me.public_z85);
    sock.set(zmq::sockopt::curve_secretkey, me.secret_z85);
  }
  try {
    sock.connect(endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot connect to " + endpoint + ": " + e.what());
  }
  nlohmann::json req = {{"id", id}, {"method", method}};
  req["params"] = params.is_null() ? nlohmann::json::object() : params;
  const std::string body = req.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // [empty, body]: the server sees a REQ-style envelope and answers [empty, reply]. A DEALER with
  // no peer yet queues the message until the connection is up, so this does not block.
  sock.send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
  sock.send(zmq::buffer(body), zmq::send_flags::dontwait);

  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(timeout_s > 0 ? timeout_s : 0));
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) break;
    zmq::pollitem_t items[] = {{sock.handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 1, left + std::chrono::milliseconds(1));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw std::runtime_error("waiting for " + endpoint + ": " + e.what());
    }
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(sock, std::back_inserter(parts), zmq::recv_flags::dontwait)) continue;
    if (parts.empty()) continue;
    const std::string text = parts.back().to_string();
    nlohmann::json reply = nlohmann::json::parse(text, nullptr, false);
    if (reply.is_discarded() || !reply.is_object())
      throw std::runtime_error("malformed reply from " + endpoint + ": " + text.substr(0, 200));
    const auto rid = reply.find("id");
    // A reply to another request (there is none on a fresh socket) or id null: a server that could
    // not read the request (bad_request) answers with id null; that one is ours too.
    if (rid != reply.end() && !rid->is_null() && *rid != id) continue;
    return reply;
  }
  throw std::runtime_error(
      fmt::format("no reply from {} within {:g} s (is primusd running?)", endpoint, timeout_s));
}

}  // namespace primus::bus
