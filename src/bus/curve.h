#pragma once
// CURVE (ZeroMQ's built-in encryption and authentication) for the bus sockets.
//
// Keys are Z85 text (40 characters), as zmq_curve_keypair() produces. The server's secret key file
// holds its secret key; the public key is derived from it. An optional authorized-keys file lists
// client public keys (one per line, '#' comments): when present, a ZAP handler admits only those;
// when absent, any client that knows the server's public key may connect (still encrypted).
#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>

namespace zmq {
class context_t;
}

namespace primus::bus {

struct CurveKeyPair {
  std::string public_z85;
  std::string secret_z85;
};

/// A fresh key pair (throws if libzmq was built without CURVE).
CurveKeyPair curve_keypair();
/// The public key of a Z85 secret key.
std::string curve_public_from_secret(const std::string& secret_z85);
/// Reads one Z85 key (40 chars) from a file, ignoring whitespace; throws naming the file.
std::string read_curve_key_file(const std::string& path);
/// Reads an authorized-keys file; throws naming the file and line of a malformed key.
std::set<std::string> read_authorized_keys(const std::string& path);

/// The ZAP handler (RFC 27) of a context: admits CURVE clients whose public key is authorized.
/// Owns a REP socket on inproc://zeromq.zap.01 and a thread; construct it before binding the
/// sockets it guards, destroy it after closing them.
class ZapAuthenticator {
 public:
  ZapAuthenticator(zmq::context_t& ctx, std::set<std::string> authorized_public_z85);
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  [[nodiscard]] std::uint64_t accepted() const noexcept { return accepted_.load(); }
  [[nodiscard]] std::uint64_t denied() const noexcept { return denied_.load(); }

 private:
  void run();

  zmq::context_t& ctx_;
  std::set<std::string> authorized_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> denied_{0};
  std::thread thread_;
};

}  // namespace primus::bus
