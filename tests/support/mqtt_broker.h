#pragma once
// What the MQTT tests and the MQTT benchmark share: a real mosquitto broker (the Debian
// package's /usr/sbin/mosquitto) started on 127.0.0.1 with a free port and a generated config in
// a folder the caller owns; a libmosquitto subscriber that records every message with its QoS and
// retain flag; TLS certificates made with the openssl command line.
//
// A missing mosquitto or openssl is an error (std::runtime_error), never a skip: CI installs them
// (scripts/setup).
#include <arpa/inet.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace primus::test {

namespace fs = std::filesystem;

inline std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A loopback TCP port that was free a moment ago.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool port_accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

/// Runs `cmd` with sh -c; throws with the command when it fails.
inline void shell(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

/// A CA, a server certificate for 127.0.0.1 / localhost and a client certificate, in `dir`
/// (ca.crt, server.crt/key, client.crt/key), made with openssl now.
inline void make_test_certificates(const fs::path& dir) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0)
    throw std::runtime_error("openssl not found (apt-get install openssl)");
  const std::string d = dir.string();
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
  shell("cd '" + d + "' && openssl req -x509" + key +
        "-keyout ca.key -out ca.crt -days 2 -subj '/CN=primus test CA' >/dev/null 2>&1");
  for (const char* who : {"server", "client"}) {
    const std::string w = who;
    shell("cd '" + d + "' && openssl req" + key + "-keyout " + w + ".key -out " + w +
          ".csr -subj '/CN=" + (w == "server" ? "localhost" : "primus-client") +
          "' >/dev/null 2>&1 && printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > " + w +
          ".ext && openssl x509 -req -in " + w + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial" +
          " -out " + w + ".crt -days 2 -extfile " + w + ".ext >/dev/null 2>&1");
  }
}

struct BrokerOptions {
  bool persistence = false;  ///< keep sessions and messages across restarts (in the folder)
  bool anonymous = true;     ///< false: only `user` with `password`
  std::string user;
  std::string password;
  bool tls = false;                  ///< the listener speaks TLS with dir/server.{crt,key}
  bool require_certificate = false;  ///< and wants a client certificate signed by dir/ca.crt

  static BrokerOptions persistent() {
    BrokerOptions o;
    o.persistence = true;
    return o;
  }
  static BrokerOptions with_password(std::string user, std::string pw) {
    BrokerOptions o;
    o.anonymous = false;
    o.user = std::move(user);
    o.password = std::move(pw);
    return o;
  }
  static BrokerOptions tls_with_client_certificates() {
    BrokerOptions o;
    o.tls = true;
    o.require_certificate = true;
    return o;
  }
};

class MosquittoBroker {
 public:
  static constexpr const char* kBinary = "/usr/sbin/mosquitto";

  MosquittoBroker(fs::path dir, BrokerOptions opt = {})
      : dir_(std::move(dir)), opt_(std::move(opt)), port_(free_port()) {
    if (::access(kBinary, X_OK) != 0)
      throw std::runtime_error(std::string(kBinary) +
                               " not found: the MQTT tests need the mosquitto package");
    write_config();
    start();
  }
  ~MosquittoBroker() { kill_now(SIGKILL); }
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const fs::path& dir() const { return dir_; }
  [[nodiscard]] fs::path log() const { return dir_ / "mosquitto.log"; }

  /// Starts it (again, on the same port) and waits until it accepts TCP connections.
  void start() {
    const std::string conf = (dir_ / "mosquitto.conf").string();
    std::vector<std::string> argv{kBinary, "-c", conf};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const std::string out = (dir_ / "mosquitto.out").string();
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = posix_spawn(&pid_, kBinary, &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start mosquitto");
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!port_accepts(port_)) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        std::ifstream in(out);
        throw std::runtime_error("mosquitto exited at start: " +
                                 std::string(std::istreambuf_iterator<char>(in), {}));
      }
      if (std::chrono::steady_clock::now() > end)
        throw std::runtime_error("mosquitto does not listen on port " + std::to_string(port_));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  /// SIGTERM (mosquitto saves its persistence file) and wait.
  void stop() { kill_now(SIGTERM); }
  void kill_now(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  void write_config() {
    std::ofstream c(dir_ / "mosquitto.conf");
    if (::geteuid() == 0) c << "user root\n";  // keep the rights on our folder
    c << "listener " << port_ << " 127.0.0.1\n";
    c << "log_dest file " << log().string() << "\nlog_type all\n";
    c << "max_queued_messages 100000\n";
    if (opt_.persistence) c << "persistence true\npersistence_location " << dir_.string() << "/\n";
    if (opt_.tls) {
      c << "cafile " << (dir_ / "ca.crt").string() << "\ncertfile "
        << (dir_ / "server.crt").string() << "\nkeyfile " << (dir_ / "server.key").string() << "\n";
      if (opt_.require_certificate) c << "require_certificate true\n";
    }
    if (!opt_.anonymous) {
      const fs::path pw = dir_ / "passwd";
      shell("mosquitto_passwd -b -c '" + pw.string() + "' '" + opt_.user + "' '" + opt_.password +
            "' >/dev/null 2>&1");
      c << "allow_anonymous false\npassword_file " << pw.string() << "\n";
    } else {
      c << "allow_anonymous true\n";
    }
  }

  fs::path dir_;
  BrokerOptions opt_;
  int port_;
  pid_t pid_ = -1;
};

/// One message as a subscriber saw it.
struct Received {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  std::int64_t t_wall_ns = 0;  ///< when it arrived
};

/// A libmosquitto subscriber on its own thread (loop_start), recording everything it receives.
class Subscriber {
 public:
  /// Connects (waits for the CONNACK) and subscribes each filter at `qos`.
  Subscriber(int port, const std::string& client_id, std::vector<std::string> filters, int qos = 2,
             bool clean_session = true)
      : filters_(std::move(filters)), qos_(qos) {
    mosquitto_lib_init();
    m_ = mosquitto_new(client_id.c_str(), clean_session, this);
    if (!m_) throw std::runtime_error("mosquitto_new");
    mosquitto_connect_callback_set(m_, [](mosquitto* m, void* self, int rc) {
      auto* s = static_cast<Subscriber*>(self);
      if (rc == 0)
        for (const auto& f : s->filters_) mosquitto_subscribe(m, nullptr, f.c_str(), s->qos_);
      std::lock_guard lk(s->mu_);
      s->connacks_.push_back(rc);
      s->cv_.notify_all();
    });
    mosquitto_subscribe_callback_set(m_, [](mosquitto*, void* self, int, int, const int*) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard lk(s->mu_);
      ++s->subacks_;
      s->cv_.notify_all();
    });
    mosquitto_message_callback_set(m_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      auto* s = static_cast<Subscriber*>(self);
      Received r{msg->topic,
                 std::string(static_cast<const char*>(msg->payload),
                             static_cast<std::size_t>(msg->payloadlen)),
                 msg->qos, msg->retain, wall_ns()};
      std::lock_guard lk(s->mu_);
      s->got_.push_back(std::move(r));
      s->cv_.notify_all();
    });
    mosquitto_reconnect_delay_set(m_, 1, 1, false);
    if (mosquitto_connect(m_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS)
      throw std::runtime_error("subscriber cannot connect to port " + std::to_string(port));
    mosquitto_loop_start(m_);
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, std::chrono::seconds(10),
                      [&] { return subacks_ >= static_cast<int>(filters_.size()); }))
      throw std::runtime_error("subscriber: no SUBACK");
  }
  ~Subscriber() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  /// Waits until pred(messages so far) holds; false on timeout.
  bool wait_for(const std::function<bool(const std::vector<Received>&)>& pred,
                std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return pred(got_); });
  }
  std::vector<Received> messages() {
    std::lock_guard lk(mu_);
    return got_;
  }
  /// Messages on exactly this topic.
  std::vector<Received> on(const std::string& topic) {
    std::vector<Received> out;
    for (auto& r : messages())
      if (r.topic == topic) out.push_back(r);
    return out;
  }
  /// Publishes from this client (QoS 0 unless told).
  void publish(const std::string& topic, const std::string& payload, int qos = 0,
               bool retain = false) {
    mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(),
                      qos, retain);
  }

 private:
  std::vector<std::string> filters_;
  int qos_;
  mosquitto* m_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> got_;
  std::vector<int> connacks_;
  int subacks_ = 0;
};

}  // namespace primus::test
