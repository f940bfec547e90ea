#pragma once
// The client side of the control API (src/bus/control_server.h, docs/control.md): one request,
// one reply, over a DEALER socket of its own.
#include <nlohmann/json.hpp>
#include <string>

namespace zmq {
class context_t;
}

namespace primus::bus {

/// CURVE keys of a control client (the server is a CURVE server when it has a secret key).
struct CurveClientKeys {
  std::string server_public_z85;  ///< the daemon's public key (Z85, 40 characters)
  std::string client_secret_z85;  ///< this client's secret key; empty: a fresh key pair
};

/// Sends {"id", "method", "params"} to `endpoint` (a connect endpoint) and returns the whole reply
/// object ({"id", "ok", "result"} or {"id", "ok": false, "error": {"code", "message"}}); an error
/// reply is returned, not thrown. Blocks the calling thread for up to `timeout_s` seconds.
/// Throws std::runtime_error "no reply from <endpoint> within N s (is primusd running?)" on
/// timeout (also what a CURVE mismatch looks like), and naming the endpoint when it cannot connect
/// or the reply is not a JSON object. Thread-safe (its socket is its own).
nlohmann::json control_call(zmq::context_t& ctx, const std::string& endpoint,
                            const std::string& method, const nlohmann::json& params,
                            double timeout_s, const CurveClientKeys* curve = nullptr);

}  // namespace primus::bus
