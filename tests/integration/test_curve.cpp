// CURVE on the bus: a client with an authorized key receives; a wrong key or no CURVE does not.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <zmq.hpp>

#include "src/bus/curve.h"
#include "src/bus/publisher.h"

namespace primus::bus {
namespace {
using namespace std::chrono_literals;

/// Publishes until `sub` receives something or `tries` rounds pass; returns what arrived.
int pump(Publisher& pub, zmq::socket_t& sub, int tries) {
  int got = 0;
  for (int i = 0; i < tries; ++i) {
    pub.publish("gesture.d", "{}");
    zmq::message_t m;
    while (sub.recv(m, zmq::recv_flags::dontwait)) ++got;
    if (got > 0) break;
    std::this_thread::sleep_for(20ms);
  }
  return got;
}

zmq::socket_t client(zmq::context_t& ctx, const std::string& ep, const std::string& server_pub,
                     const CurveKeyPair* me) {
  zmq::socket_t s(ctx, zmq::socket_type::sub);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::subscribe, "");
  if (me) {
    s.set(zmq::sockopt::curve_serverkey, server_pub);
    s.set(zmq::sockopt::curve_publickey, me->public_z85);
    s.set(zmq::sockopt::curve_secretkey, me->secret_z85);
  }
  s.connect(ep);
  return s;
}

TEST(Curve, AuthorizedClientReceivesOthersAreRefused) {
  const auto server = curve_keypair();
  const auto good = curve_keypair();
  const auto bad = curve_keypair();
  zmq::context_t server_ctx(1);
  ZapAuthenticator zap(server_ctx, {good.public_z85});
  Publisher pub(server_ctx, {"tcp://127.0.0.1:*"}, 1000, 1000, server.secret_z85);
  const std::string ep = pub.endpoints().at(0);

  zmq::context_t client_ctx(1);  // clients in their own context, as separate programs would be
  auto ok = client(client_ctx, ep, server.public_z85, &good);
  EXPECT_GT(pump(pub, ok, 200), 0);
  EXPECT_GE(zap.accepted(), 1u);

  auto wrong = client(client_ctx, ep, server.public_z85, &bad);
  EXPECT_EQ(pump(pub, wrong, 50), 0);
  EXPECT_GE(zap.denied(), 1u);

  auto plain = client(client_ctx, ep, "", nullptr);  // no CURVE at all: handshake fails
  EXPECT_EQ(pump(pub, plain, 50), 0);

  const auto other_server = curve_keypair();  // right client key, wrong server key
  auto impostor = client(client_ctx, ep, other_server.public_z85, &good);
  EXPECT_EQ(pump(pub, impostor, 50), 0);
}

TEST(Curve, KeyFilesRoundTripAndBadFilesAreNamed) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("primus_curve_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto kp = curve_keypair();
  std::ofstream(dir / "s") << "# comment\n" << kp.secret_z85 << "\n";
  EXPECT_EQ(read_curve_key_file((dir / "s").string()), kp.secret_z85);
  EXPECT_EQ(curve_public_from_secret(kp.secret_z85), kp.public_z85);
  std::ofstream(dir / "bad") << "not a key\n";
  try {
    read_curve_key_file((dir / "bad").string());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad"), std::string::npos);
  }
  std::ofstream(dir / "auth") << kp.public_z85 << "\n\n# x\nshort\n";
  try {
    read_authorized_keys((dir / "auth").string());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(":4:"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace primus::bus
