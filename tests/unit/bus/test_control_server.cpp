// The control API transport (bus::ControlServer, bus::control_call) over real ZeroMQ sockets, and
// the primusctl control commands against a test server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "src/bus/control_client.h"
#include "src/bus/control_server.h"
#include "src/bus/curve.h"
#include "src/ctl/control_commands.h"
#include "src/ctl/format.h"

namespace primus::bus {
namespace {
using namespace std::chrono_literals;
using nlohmann::json;

/// A fresh directory under /tmp, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path() /
           ("primus_ctl_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  [[nodiscard]] std::string ipc(const std::string& name = "control.sock") const {
    return "ipc://" + (path / name).string();
  }
};

/// A raw client socket (REQ or DEALER) that sends and receives frames as strings.
struct RawClient {
  zmq::socket_t s;
  RawClient(zmq::context_t& ctx, zmq::socket_type type, const std::string& ep) : s(ctx, type) {
    s.set(zmq::sockopt::linger, 0);
    s.connect(ep);
  }
  void send(const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i)
      s.send(zmq::buffer(frames[i]),
             i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  /// The frames of the next message, or nothing after `timeout`.
  std::vector<std::string> recv(std::chrono::milliseconds timeout = 2000ms) {
    zmq::pollitem_t items[] = {{s.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, timeout);
    std::vector<std::string> out;
    if (!(items[0].revents & ZMQ_POLLIN)) return out;
    std::vector<zmq::message_t> parts;
    (void)zmq::recv_multipart(s, std::back_inserter(parts));
    for (const auto& p : parts) out.push_back(p.to_string());
    return out;
  }
  /// Sends one body as a DEALER ([empty, body]) and returns the parsed reply (null on timeout).
  json call(const std::string& body) {
    send({"", body});
    const auto r = recv();
    if (r.empty()) return nullptr;
    return json::parse(r.back());
  }
};

void expect_error(const json& reply, const std::string& code, const std::string& contains = "") {
  ASSERT_TRUE(reply.is_object()) << reply;
  EXPECT_EQ(reply["ok"], false) << reply;
  EXPECT_EQ(reply["error"]["code"], code) << reply;
  if (!contains.empty()) {
    EXPECT_NE(reply["error"]["message"].get<std::string>().find(contains), std::string::npos)
        << reply;
  }
}

void echo(const json& params, Responder r) { r.ok(params); }

TEST(ControlServer, OkReplyEchoesIdOverIpcAndTcp) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc(), "tcp://127.0.0.1:0"});
  server.on("echo", echo);
  server.start();
  ASSERT_EQ(server.endpoints().size(), 2u);
  EXPECT_EQ(server.endpoints()[0], dir.ipc());
  EXPECT_EQ(server.endpoints()[1].rfind("tcp://127.0.0.1:", 0), 0u);
  EXPECT_NE(server.endpoints()[1], "tcp://127.0.0.1:0");  // the port the system chose

  struct stat st {};
  ASSERT_EQ(::stat((dir.path / "control.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  zmq::context_t client_ctx(1);
  for (const auto& ep : server.endpoints()) {
    const json reply = control_call(client_ctx, ep, "echo", {{"x", 1}}, 2.0);
    EXPECT_EQ(reply["ok"], true) << reply;
    EXPECT_EQ(reply["result"], json({{"x", 1}}));
    EXPECT_TRUE(reply["id"].is_string());
  }
  RawClient raw(client_ctx, zmq::socket_type::dealer, server.endpoints()[0]);
  const json reply = raw.call(R"({"id":{"n":[1,"two"]},"method":"echo"})");
  EXPECT_EQ(reply["id"], json::parse(R"({"n":[1,"two"]})"));
  EXPECT_EQ(reply["result"], json::object());  // no params: {}
  const auto st2 = server.stats();
  EXPECT_EQ(st2.requests, 3u);
  EXPECT_EQ(st2.replies_ok, 3u);
  EXPECT_EQ(st2.in_flight, 0);
}

TEST(ControlServer, ReqAndDealerClientsGetTheirOwnEnvelope) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc()});
  server.on("echo", echo);
  server.start();

  RawClient req(ctx, zmq::socket_type::req, dir.ipc());
  req.send({R"({"id":1,"method":"echo","params":{"a":true}})"});
  auto r = req.recv();
  ASSERT_EQ(r.size(), 1u);  // REQ strips the empty delimiter the server sent
  EXPECT_EQ(json::parse(r[0])["result"]["a"], true);

  RawClient with_delim(ctx, zmq::socket_type::dealer, dir.ipc());
  with_delim.send({"", R"({"id":2,"method":"echo"})"});
  r = with_delim.recv();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], "");
  EXPECT_EQ(json::parse(r[1])["id"], 2);

  RawClient bare(ctx, zmq::socket_type::dealer, dir.ipc());
  bare.send({R"({"id":3,"method":"echo"})"});
  r = bare.recv();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(json::parse(r[0])["id"], 3);
}

TEST(ControlServer, MalformedRequestsAreBadRequests) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServerOptions opt;
  opt.max_request_bytes = 256;
  ControlServer server(ctx, {dir.ipc()}, opt);
  server.on("echo", echo);
  server.start();
  RawClient c(ctx, zmq::socket_type::dealer, dir.ipc());

  expect_error(c.call("not json {"), "bad_request", "not JSON");
  expect_error(c.call(""), "bad_request", "not JSON");
  expect_error(c.call(std::string("\xff\xfe\x00\x01", 4)), "bad_request", "not JSON");
  expect_error(c.call("[1,2]"), "bad_request", "got array");
  json r = c.call(R"({"id":7,"params":{}})");
  expect_error(r, "bad_request", "method");
  EXPECT_EQ(r["id"], 7);  // echoed once the request could be read
  expect_error(c.call(R"({"id":8,"method":42})"), "bad_request", "must be a string");
  expect_error(c.call(R"({"id":9,"method":"echo","params":[1]})"), "bad_request",
               "\"params\" must be a JSON object");
  expect_error(c.call(R"({"method":"echo","params":null})"), "bad_request", "got null");
  r = c.call(R"({"method":"echo","params":{"pad":")" + std::string(300, 'x') + "\"}}");
  expect_error(r, "bad_request", "larger than 256");
  EXPECT_TRUE(r["id"].is_null());
  expect_error(c.call(std::string(100, '[') + std::string(100, ']')), "bad_request", "deeper");

  const auto st = server.stats();
  EXPECT_EQ(st.replies_error, 10u);
  EXPECT_EQ(st.replies_ok, 0u);
  EXPECT_EQ(st.in_flight, 0);
}

TEST(ControlRequest, NotJsonAndNotAnObjectAreBadRequestsWithoutAnId) {
  ParsedRequest r = parse_control_request("not json {", 1024);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error_code, "bad_request");
  EXPECT_NE(r.error_message.find("request is not JSON: "), std::string::npos) << r.error_message;
  EXPECT_EQ(r.id_json, "null");
  r = parse_control_request(R"([{"id":1,"method":"x"}])", 1024);
  EXPECT_EQ(r.error_code, "bad_request");
  EXPECT_EQ(r.error_message, "request must be a JSON object, got array");
  EXPECT_EQ(r.id_json, "null");
  r = parse_control_request(R"({"id":{"k":[1,"\u00e9"]},"method":7})", 1024);
  EXPECT_EQ(r.error_message, "\"method\" must be a string, got number");
  EXPECT_EQ(r.id_json, "{\"k\":[1,\"\xc3\xa9\"]}");  // re-serialised: escapes decoded, UTF-8
  r = parse_control_request(R"({"method":"x"})", 13);
  EXPECT_EQ(r.error_message, "request of 14 bytes is larger than 13 (control.max_request_bytes)");
}

TEST(ControlRequest, NulByteIsNotJsonEvenAfterACompleteObject) {
  // nlohmann::json stops at a NUL as at the end of the input: this used to be accepted.
  const std::string body = std::string(R"({"method":"status"})") + '\0' + "garbage";
  const ParsedRequest r = parse_control_request(body, 1024);
  EXPECT_EQ(r.error_code, "bad_request");
  EXPECT_NE(r.error_message.find("request is not JSON: NUL byte at offset 19"), std::string::npos)
      << r.error_message;
  EXPECT_TRUE(parse_control_request(R"({"method":"a\u0000b"})", 1024).ok());  // escaped is fine
}

TEST(ControlRequest, TooDeepIsRefusedBeforeParsing) {
  const std::string deep = "{\"method\":\"x\",\"params\":{\"a\":" + std::string(63, '[') +
                           std::string(63, ']') + "}}";  // 65 levels
  ParsedRequest r = parse_control_request(deep, 65536);
  EXPECT_EQ(r.error_code, "bad_request");
  EXPECT_EQ(r.error_message, "request nests arrays/objects deeper than 64");
  EXPECT_EQ(r.id_json, "null");
  // Brackets inside strings do not count; 64 levels are fine.
  const std::string ok =
      "{\"method\":\"x\",\"params\":{\"s\":\"[[[\\\"[[\",\"a\":" + std::string(62, '[') +
      std::string(62, ']') + "}}";
  EXPECT_EQ(json_nesting_depth(ok), 64);
  r = parse_control_request(ok, 65536);
  EXPECT_TRUE(r.ok()) << r.error_message;
}

TEST(ControlRequest, OkWithAndWithoutParams) {
  ParsedRequest r = parse_control_request(
      R"({"id":"a-1","method":"label.start","params":{"label":"wave"}})", 1024);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.id_json, R"("a-1")");
  EXPECT_EQ(r.method, "label.start");
  EXPECT_EQ(r.params, json({{"label", "wave"}}));
  r = parse_control_request(R"({"method":""})", 1024);  // empty: unknown_method later
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.id_json, "null");
  EXPECT_EQ(r.method, "");
  EXPECT_TRUE(r.params.is_object());
  EXPECT_TRUE(r.params.empty());
  r = parse_control_request(R"({"id":null,"method":"x","params":null})", 1024);
  EXPECT_EQ(r.error_message, "\"params\" must be a JSON object, got null");
  EXPECT_EQ(r.id_json, "null");
}

TEST(ControlServer, UnknownMethodListsTheKnownOnes) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc()});
  server.on("status", echo);
  server.on("devices.list", echo);
  server.start();
  EXPECT_EQ(server.methods(), (std::vector<std::string>{"devices.list", "status"}));
  zmq::context_t cctx(1);
  const json r = control_call(cctx, dir.ipc(), "nope", json::object(), 2.0);
  expect_error(r, "unknown_method", "\"nope\"");
  expect_error(r, "unknown_method", "devices.list, status");
}

TEST(ControlServer, HandlerExceptionsBecomeErrorReplies) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc()});
  server.on("missing",
            [](const json&, Responder) { throw ControlError("not_found", "no device \"x\""); });
  server.on("broken", [](const json&, Responder) { throw std::runtime_error("disk on fire"); });
  server.on("strict", [](const json& p, Responder r) { r.ok(p.at("n").get<int>() + 1); });
  server.on("ok_then_throw", [](const json&, Responder r) {
    r.ok("first");
    throw std::runtime_error("ignored");
  });
  server.on("weird", [](const json&, Responder) { throw 42; });
  server.start();
  zmq::context_t cctx(1);
  const auto call = [&](const std::string& m, const json& p = json::object()) {
    return control_call(cctx, dir.ipc(), m, p, 2.0);
  };
  expect_error(call("missing"), "not_found", "no device \"x\"");
  expect_error(call("broken"), "internal", "disk on fire");
  expect_error(call("strict"), "invalid_params", "key 'n' not found");
  expect_error(call("strict", {{"n", "text"}}), "invalid_params", "type must be number");
  EXPECT_EQ(call("strict", {{"n", 1}})["result"], 2);
  const json r = call("ok_then_throw");
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["result"], "first");
  expect_error(call("weird"), "internal");
  EXPECT_EQ(server.stats().in_flight, 0);
}

TEST(ControlServer, ResponderFromAnotherThreadAndOnlyTheFirstReplyCounts) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc()});
  std::vector<std::thread> workers;
  std::mutex mu;
  server.on("later", [&](const json& p, Responder r) {
    std::lock_guard lk(mu);
    workers.emplace_back([p, r] {
      std::this_thread::sleep_for(50ms);
      r.ok({{"done", p.value("n", 0)}});
      r.fail("conflict", "too late");  // ignored: the first reply counts
      r.ok("also ignored");
    });
  });
  server.start();
  RawClient c(ctx, zmq::socket_type::dealer, dir.ipc());
  c.send({"", R"({"id":"a","method":"later","params":{"n":5}})"});
  const auto got = c.recv();
  ASSERT_EQ(got.size(), 2u);
  const json r = json::parse(got[1]);
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["id"], "a");
  EXPECT_EQ(r["result"]["done"], 5);
  EXPECT_TRUE(c.recv(100ms).empty());  // nothing more
  for (auto& t : workers) t.join();
  EXPECT_EQ(server.stats().replies_ok, 1u);
  EXPECT_EQ(server.stats().replies_error, 0u);
}

TEST(ControlServer, DroppedResponderRepliesInternal) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc()});
  server.on("forgets", [](const json&, Responder) {});
  std::vector<Responder> held;
  std::mutex mu;
  server.on("holds", [&](const json&, Responder r) {
    std::lock_guard lk(mu);
    held.push_back(r);
  });
  server.start();
  zmq::context_t cctx(1);
  expect_error(control_call(cctx, dir.ipc(), "forgets", {}, 2.0), "internal",
               "handler did not reply");

  RawClient c(ctx, zmq::socket_type::dealer, dir.ipc());
  c.send({"", R"({"id":1,"method":"holds"})"});
  EXPECT_TRUE(c.recv(50ms).empty());
  EXPECT_EQ(server.stats().in_flight, 1);
  std::thread([&] {
    std::lock_guard lk(mu);
    held.clear();  // the last copy goes on another thread
  }).join();
  const auto got = c.recv();
  ASSERT_FALSE(got.empty());
  expect_error(json::parse(got.back()), "internal", "did not reply");
  EXPECT_EQ(server.stats().in_flight, 0);
}

TEST(ControlServer, BusyBeyondMaxInFlight) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServerOptions opt;
  opt.max_in_flight = 2;
  ControlServer server(ctx, {dir.ipc()}, opt);
  std::vector<Responder> held;
  std::mutex mu;
  server.on("hold", [&](const json&, Responder r) {
    std::lock_guard lk(mu);
    held.push_back(r);
  });
  server.start();
  RawClient c(ctx, zmq::socket_type::dealer, dir.ipc());
  for (int i = 0; i < 3; ++i) c.send({"", json({{"id", i}, {"method", "hold"}}).dump()});
  auto got = c.recv();  // only the third is answered now
  ASSERT_FALSE(got.empty());
  json r = json::parse(got.back());
  expect_error(r, "busy", "max_in_flight = 2");
  EXPECT_EQ(r["id"], 2);
  EXPECT_EQ(server.stats().busy, 1u);
  EXPECT_EQ(server.stats().in_flight, 2);
  {
    std::lock_guard lk(mu);
    for (auto& h : held) h.ok("released");
    held.clear();
  }
  std::vector<int> ids;
  for (int i = 0; i < 2; ++i) {
    got = c.recv();
    ASSERT_FALSE(got.empty());
    r = json::parse(got.back());
    EXPECT_EQ(r["result"], "released");
    ids.push_back(r["id"].get<int>());
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<int>{0, 1}));
  EXPECT_EQ(server.stats().in_flight, 0);
  // Room again.
  c.send({"", R"({"id":9,"method":"hold"})"});
  EXPECT_TRUE(c.recv(50ms).empty());  // held, not busy
  EXPECT_EQ(server.stats().busy, 1u);
}

TEST(ControlServer, GarbageFramesAreCountedAndTheServerGoesOn) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc(), "tcp://127.0.0.1:0"});
  server.on("echo", echo);
  server.start();
  RawClient c(ctx, zmq::socket_type::dealer, dir.ipc());
  c.send({"a", "b", "c"});  // three frames, no delimiter
  auto got = c.recv();
  ASSERT_EQ(got.size(), 1u);
  expect_error(json::parse(got[0]), "bad_request", "one body frame");
  c.send({"", "x", "y", "z"});
  got = c.recv();
  ASSERT_EQ(got.size(), 2u);
  expect_error(json::parse(got[1]), "bad_request", "got 3");
  EXPECT_EQ(server.stats().bad_frames, 2u);

  // Not ZeroMQ at all: raw bytes on the TCP port.
  const std::string tcp = server.endpoints()[1];
  const int port = std::stoi(tcp.substr(tcp.rfind(':') + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string junk = "\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7fGET / HTTP/1.0\r\n\r\n";
  EXPECT_EQ(::write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  ::close(fd);

  const json r = c.call(R"({"id":"after","method":"echo","params":{"still":"here"}})");
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["result"]["still"], "here");
}

TEST(ControlServer, StopIsIdempotentAndLateRepliesAreDropped) {
  TempDir dir;
  zmq::context_t ctx(1);
  std::vector<Responder> kept;  // the copy that outlives the server
  {
    ControlServer server(ctx, {dir.ipc()});
    server.on("hold", [&](const json&, Responder r) { kept.push_back(r); });
    server.start();
    EXPECT_THROW(server.on("late", echo), std::logic_error);
    RawClient c(ctx, zmq::socket_type::dealer, dir.ipc());
    c.send({"", R"({"method":"hold"})"});
    for (int i = 0; i < 200 && server.stats().in_flight == 0; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(server.stats().in_flight, 1);
    server.stop();
    server.stop();
    ASSERT_EQ(kept.size(), 1u);
    kept[0].ok("after stop");  // dropped, no crash
    EXPECT_TRUE(kept[0].done());
  }
  kept.clear();  // the last copy goes after the server
}

TEST(ControlServer, BindFailureNamesTheEndpoint) {
  zmq::context_t ctx(1);
  try {
    ControlServer server(ctx, {"ipc:///nonexistent-primus-dir/control.sock"});
    FAIL() << "bound a socket in a missing directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("ipc:///nonexistent-primus-dir/control.sock"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ControlServer(ctx, {"bogus://x"}), std::runtime_error);
}

TEST(ControlClient, TimesOutWhenNobodyServes) {
  TempDir dir;
  zmq::context_t ctx(1);
  try {
    control_call(ctx, dir.ipc("nobody.sock"), "status", json::object(), 0.2);
    FAIL() << "got a reply from nobody";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("no reply from " + dir.ipc("nobody.sock") + " within 0.2 s"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("is primusd running?"), std::string::npos) << m;
  }
}

TEST(ControlServer, CurveClientNeedsTheServerKey) {
  TempDir dir;
  const auto server_keys = curve_keypair();
  zmq::context_t ctx(1);
  ControlServerOptions opt;
  opt.curve_secret_z85 = server_keys.secret_z85;
  ControlServer server(ctx, {"tcp://127.0.0.1:0", dir.ipc()}, opt);
  server.on("echo", echo);
  server.start();
  zmq::context_t cctx(1);
  const CurveClientKeys keys{server_keys.public_z85, {}};
  for (const auto& ep : server.endpoints()) {
    const json r = control_call(cctx, ep, "echo", {{"secret", true}}, 2.0, &keys);
    EXPECT_EQ(r["result"]["secret"], true) << ep;
  }
  const auto me = curve_keypair();
  const CurveClientKeys with_secret{server_keys.public_z85, me.secret_z85};
  EXPECT_EQ(control_call(cctx, server.endpoints()[0], "echo", {}, 2.0, &with_secret)["ok"], true);
  EXPECT_THROW(control_call(cctx, server.endpoints()[0], "echo", {}, 0.2), std::runtime_error);
  const auto other = curve_keypair();
  const CurveClientKeys wrong{other.public_z85, {}};
  EXPECT_THROW(control_call(cctx, server.endpoints()[0], "echo", {}, 0.2, &wrong),
               std::runtime_error);
}

// ---- primusctl's control commands
// ----------------------------------------------------------------

struct Ctl {
  int rc = -1;
  std::string out, err;
};

/// Runs `primusctl ARGS...` through ControlCommands, as daemon/primusctl.cpp does.
Ctl primusctl(std::vector<std::string> args) {
  CLI::App app;
  app.require_subcommand(1);
  ctl::ControlCommands cmds(app);
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector last argument first
  Ctl r;
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    r.rc = cmds.parsed() ? 2 : 100;
    r.err = e.what();
    return r;
  }
  EXPECT_TRUE(cmds.parsed());
  std::ostringstream out, err;
  r.rc = cmds.run(out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(ControlCommands, CallTheMethodsWithTheirParamsAndPrintResults) {
  TempDir dir;
  zmq::context_t ctx(1);
  ControlServer server(ctx, {dir.ipc()});
  std::mutex mu;
  std::vector<std::pair<std::string, json>> calls;
  const auto record = [&](const std::string& method, json result) {
    server.on(method, [&, method, result](const json& p, Responder r) {
      {
        std::lock_guard lk(mu);
        calls.emplace_back(method, p);
      }
      r.ok(result);
    });
  };
  record("status", json::parse(R"({"schema":1,"type":"status","version":"0.1.0","uptime_s":3723.5,
      "model":{"version":"base-3","device":"cpu"},
      "devices":[{"id":"a","state":"connected","rate_hz":100.0},{"id":"b","state":"lost","rate_hz":0}],
      "inference":{"windows_per_s":12.5,"events":4,"latency_ms":{"p99":3.25}}})"));
  record("devices.list", json::parse(R"({"devices":[
      {"id":"left-wrist","state":"connected","adapter":"serial","windows":120,"input_rate_hz":99.8,
       "labelling":{"label":"wave","since_host_ns":1}},
      {"id":"b","state":"lost","adapter":"ble","windows":0,"input_rate_hz":0,"labelling":null}]})"));
  record("label.mark", json::parse(R"({"capture_id":17,"device":"a","label":"wave","samples":250,
      "seconds":2.5,"t_start_host_ns":1,"t_end_host_ns":2})"));
  record("label.start", json::parse(R"({"device":"a","label":"wave","t_start_host_ns":5})"));
  record("finetune.run", json::parse(R"({"job":3,"state":"queued"})"));
  record("models.activate", json::parse(R"({"active":4,"previous":3})"));
  record("models.rollback", json::parse(R"({"active":3,"previous":4})"));
  record("custom", json::parse(R"({"anything":[1,2]})"));
  server.on("label.stop",
            [](const json&, Responder r) { r.fail("conflict", "a is not labelling"); });
  server.start();
  const std::string ep = dir.ipc();

  Ctl r = primusctl({"status", "-e", ep});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("primusd 0.1.0, up 1h 02m 03s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("base-3 (cpu)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1/2 connected"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("12.5 windows/s"), std::string::npos) << r.out;

  r = primusctl({"status", "-e", ep, "--json"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(json::parse(r.out)["model"]["version"], "base-3");

  r = primusctl({"devices", "-e", ep});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("LABELLING"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("left-wrist"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wave ("), std::string::npos) << r.out;  // ipc: same host, age shown

  r = primusctl({"label", "mark", "a", "wave", "--last", "2.5", "-e", ep});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("capture 17: \"wave\" on a, 250 samples, 2.50 s"), std::string::npos)
      << r.out;
  r = primusctl({"label", "mark", "a", "wave", "--from", "100", "--to", "200", "-e", ep});
  EXPECT_EQ(r.rc, 0) << r.err;
  r = primusctl({"label", "mark", "a", "wave", "-e", ep});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--last"), std::string::npos);
  r = primusctl({"label", "mark", "a", "wave", "--last", "1", "--from", "1", "--to", "2"});
  EXPECT_EQ(r.rc, 2);  // usage error
  r = primusctl({"label", "start", "a", "wave", "-e", ep});
  EXPECT_EQ(r.rc, 0) << r.err;

  r = primusctl({"label", "stop", "a", "-e", ep});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "error conflict: a is not labelling\n");

  r = primusctl({"finetune", "--mode", "head", "-e", ep});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("job 3 queued"), std::string::npos) << r.out;
  r = primusctl({"models", "activate", "4", "--force", "-e", ep});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("active model: 4 (was 3)"), std::string::npos) << r.out;
  r = primusctl({"models", "rollback", "-e", ep});
  EXPECT_EQ(r.rc, 0) << r.err;
  r = primusctl({"call", "custom", R"({"k":"v"})", "-e", ep});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json::parse(R"({"anything":[1,2]})"));  // unknown shape: JSON
  r = primusctl({"call", "custom", "[1]", "-e", ep});
  EXPECT_EQ(r.rc, 2);
  r = primusctl({"call", "models.list", "-e", ep});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("error unknown_method"), std::string::npos) << r.err;

  std::lock_guard lk(mu);
  std::vector<std::pair<std::string, json>> want = {
      {"status", json::object()},
      {"status", json::object()},
      {"devices.list", json::object()},
      {"label.mark", {{"device", "a"}, {"label", "wave"}, {"last_s", 2.5}}},
      {"label.mark",
       {{"device", "a"}, {"label", "wave"}, {"from_host_ns", 100}, {"to_host_ns", 200}}},
      {"label.start", {{"device", "a"}, {"label", "wave"}}},
      {"finetune.run", {{"mode", "head"}, {"wait", false}}},
      {"models.activate", {{"version", 4}, {"force", true}}},
      {"models.rollback", json::object()},
      {"custom", {{"k", "v"}}},
  };
  EXPECT_EQ(calls, want);
}

TEST(ControlCommands, NoDaemonExitsThree) {
  TempDir dir;
  const Ctl r = primusctl({"devices", "-e", dir.ipc("none.sock"), "--timeout", "0.1"});
  EXPECT_EQ(r.rc, 3);  // src/ctl/exit_status.h: kExitNoDaemon
  EXPECT_NE(r.err.find("is primusd running?"), std::string::npos) << r.err;
}

TEST(ControlCommands, FormatsKnownResultsAndFallsBackToJson) {
  const json models = json::parse(R"({"active":2,"versions":[
      {"version":1,"status":"base","labels":["null","wave"],"mode":null,"parent":null,
       "created_wall_ns":0,"metrics":{}},
      {"version":2,"status":"accepted","labels":["null","wave"],"mode":"head","parent":1,
       "created_wall_ns":1795000000000000000,"metrics":{"val_macro_f1":0.9123}}]})");
  const std::string m = ctl::format_result("models.list", models);
  EXPECT_NE(m.find("VERSION"), std::string::npos) << m;
  EXPECT_NE(m.find("0.912"), std::string::npos) << m;
  EXPECT_NE(m.find("*"), std::string::npos) << m;
  // A calibrated version: event F1 and false events per hour of null before -> after, per class.
  const json calibrated = json::parse(R"({"active":1,"versions":[
      {"version":1,"status":"accepted","labels":["null","circle"],"metrics":{"val_macro_f1":0.9,
       "calibration":{"rule":"no false event in null","before":{"event_f1":0.5,
       "false_per_hour_null":12.0},"after":{"event_f1":0.95,"false_per_hour_null":0.0},
       "classes":{"circle":{"before_f1":0.3,"after_f1":0.9,"onset_threshold":0.55,
       "release_threshold":0.4125,"smoothing_windows":2,"min_duration_ms":100}}}}}]})");
  const std::string mc = ctl::format_result("models.list", calibrated);
  EXPECT_NE(mc.find("0.500->0.950"), std::string::npos) << mc;
  EXPECT_NE(mc.find("12.0->0.0"), std::string::npos) << mc;
  EXPECT_NE(
      mc.find("circle       F1 0.300 -> 0.900  onset 0.55 release 0.4125 smoothing 2 min 100"),
      std::string::npos)
      << mc;

  const json ft = json::parse(R"({"state":"running","job":5,
      "progress":{"epoch":2,"epochs":10,"phase":"head","train_loss":0.5,"val_f1":0.75},
      "last":{"job":4,"mode":"full","decision":"rejected","candidate_version":7,
              "metrics":{"val_macro_f1":0.6,"val_accuracy":0.7,"live_val_macro_f1":0.65,
                         "train_windows":100,"val_windows":20,"epochs_run":3,"seconds":12.5},
              "reason":"worse than the live model"},
      "schedule":{"minutes":60,"min_new_windows":200,"new_windows":12}})");
  const std::string f = ctl::format_result("finetune.status", ft);
  EXPECT_NE(f.find("epoch 2/10 (head)"), std::string::npos) << f;
  EXPECT_NE(f.find("job 4 (full): rejected -> model version 7"), std::string::npos) << f;
  EXPECT_NE(f.find("reason: worse than the live model"), std::string::npos) << f;
  EXPECT_NE(f.find("every 60 min"), std::string::npos) << f;

  const json reload =
      json::parse(R"({"changes":["events.threshold: 0.6 -> 0.7"],"restart":["devices[0]"]})");
  const std::string c = ctl::format_result("config.reload", reload);
  EXPECT_NE(c.find("1 change\n  events.threshold: 0.6 -> 0.7"), std::string::npos) << c;
  EXPECT_NE(c.find("needs a restart (not applied): devices[0]"), std::string::npos) << c;

  // Shapes it does not know, or fields of the wrong type, never throw.
  EXPECT_EQ(ctl::format_result("nope", json::parse(R"({"a":1})")), "{\n  \"a\": 1\n}");
  EXPECT_EQ(ctl::format_result("status", json::array({1})), "[\n  1\n]");
  EXPECT_NO_THROW(ctl::format_result("status", json::parse(R"({"devices":3,"model":"x"})")));
  EXPECT_NO_THROW(ctl::format_result("models.list", json::parse(R"({"versions":[1,"a"]})")));
  EXPECT_NO_THROW(ctl::format_result("captures.stats", json::parse(R"({"by_label":[1,{"a":2}]})")));
}

}  // namespace
}  // namespace primus::bus
