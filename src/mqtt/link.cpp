#include "src/mqtt/link.h"

#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace primus::mqtt {
namespace {

void lib_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string rc_text(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

void require_readable(const std::string& path, const char* key) {
  if (path.empty()) return;
  std::ifstream in(path);
  if (!in) throw std::runtime_error(std::string(key) + " = \"" + path + "\": cannot be read");
}

}  // namespace

LinkOptions link_options(const MqttConfig& cfg) {
  LinkOptions o;
  o.host = cfg.host;
  o.port = cfg.port;
  o.client_id = cfg.client_id.empty() ? "primusd-" + cfg.node : cfg.client_id;
  o.username = cfg.username;
  o.password = cfg.password;
  if (!cfg.password_file.empty()) {
    std::ifstream in(cfg.password_file);
    if (!in)
      throw std::runtime_error("mqtt.password_file = \"" + cfg.password_file +
                               "\": cannot be read");
    std::getline(in, o.password);
    if (!o.password.empty() && o.password.back() == '\r') o.password.pop_back();
  }
  o.ca_file = cfg.ca_file;
  o.cert_file = cfg.cert_file;
  o.key_file = cfg.key_file;
  o.keepalive_s = cfg.keepalive_s;
  o.will_topic = cfg.topic_prefix + "/" + cfg.node + "/status";
  o.queue = static_cast<std::size_t>(cfg.queue);
  o.reconnect_min_s = cfg.reconnect_min_s;
  o.reconnect_max_s = cfg.reconnect_max_s;
  return o;
}

Link::Link(LinkOptions opt)
    : opt_(std::move(opt)), backoff_(opt_.reconnect_min_s, opt_.reconnect_max_s) {
  lib_init_once();
  if (opt_.client_id.empty()) throw std::runtime_error("mqtt.client_id: must not be empty");
  require_readable(opt_.ca_file, "mqtt.ca_file");
  require_readable(opt_.cert_file, "mqtt.cert_file");
  require_readable(opt_.key_file, "mqtt.key_file");
  mosq_ = mosquitto_new(opt_.client_id.c_str(), /*clean_session=*/false, this);
  if (!mosq_) throw std::runtime_error("mqtt: cannot create a client: " + rc_text(MOSQ_ERR_ERRNO));
  auto check = [this](int rc, const std::string& what) {
    if (rc == MOSQ_ERR_SUCCESS) return;
    mosquitto_destroy(mosq_);
    throw std::runtime_error(what + ": " + rc_text(rc));
  };
  check(mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311),
        "mqtt: protocol version");
  // All libmosquitto calls happen on the link thread; "threaded" makes publish() queue only, so
  // the loop (after the completion callbacks are in place) does every write.
  check(mosquitto_threaded_set(mosq_, true), "mqtt: threaded mode");
  if (!opt_.username.empty())
    check(mosquitto_username_pw_set(mosq_, opt_.username.c_str(),
                                    opt_.password.empty() ? nullptr : opt_.password.c_str()),
          "mqtt.username");
  if (!opt_.ca_file.empty())
    check(mosquitto_tls_set(mosq_, opt_.ca_file.c_str(), nullptr,
                            opt_.cert_file.empty() ? nullptr : opt_.cert_file.c_str(),
                            opt_.key_file.empty() ? nullptr : opt_.key_file.c_str(), nullptr),
          "mqtt.ca_file / mqtt.cert_file / mqtt.key_file");
  if (!opt_.will_topic.empty())
    check(mosquitto_will_set(mosq_, opt_.will_topic.c_str(),
                             static_cast<int>(opt_.will_payload.size()), opt_.will_payload.data(),
                             1, true),
          "mqtt: last will on " + opt_.will_topic);
  mosquitto_connect_callback_set(mosq_, &Link::cb_connect);
  mosquitto_disconnect_callback_set(mosq_, &Link::cb_disconnect);
  mosquitto_publish_callback_set(mosq_, &Link::cb_publish);
  mosquitto_message_callback_set(mosq_, &Link::cb_message);
  mosquitto_log_callback_set(mosq_, &Link::cb_log);
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    mosquitto_destroy(mosq_);
    throw std::runtime_error(std::string("mqtt: eventfd: ") + std::strerror(errno));
  }
}

Link::~Link() {
  stop(std::chrono::milliseconds(0));
  mosquitto_destroy(mosq_);
  ::close(event_fd_);
}

std::string Link::broker() const {
  return opt_.host + ":" + std::to_string(opt_.port) + (opt_.ca_file.empty() ? "" : " (TLS)");
}

void Link::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Link::stop(std::chrono::milliseconds flush) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      stopping_ = true;
      flush_ = flush;
    }
  }
  cv_.notify_all();
  wake();
  if (thread_.joinable()) thread_.join();
}

bool Link::publish(std::string topic, std::string payload, int qos, bool retain) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return false;
    if (queue_.size() >= opt_.queue) {
      queue_.pop_front();
      ++counters_.dropped_queue;
    }
    queue_.push_back(Out{std::move(topic), std::move(payload), qos, retain});
  }
  wake();
  return true;
}

int Link::subscribe(std::string filter, int qos, Handler h) {
  int id = 0;
  {
    std::lock_guard lk(subs_mu_);
    id = next_sub_++;
    subs_.emplace(id, Sub{std::move(filter), qos, std::move(h), false});
  }
  wake();
  return id;
}

void Link::unsubscribe(int id) {
  // Removing the handler is what matters; the broker-side subscription stays with the session
  // (its messages then match no handler and are ignored).
  std::lock_guard lk(subs_mu_);
  subs_.erase(id);
}

void Link::on_connect(ConnectHook hook) {
  std::lock_guard lk(subs_mu_);
  hooks_.push_back(std::move(hook));
}

LinkStats Link::stats() const {
  std::lock_guard lk(mu_);
  LinkStats s = counters_;
  s.connected = connected_.load();
  s.queue_depth = queue_.size();
  s.inflight = inflight_count_.load();
  return s;
}

void Link::wake() {
  const std::uint64_t one = 1;
  (void)!::write(event_fd_, &one, sizeof one);
}

void Link::run() {
  pthread_setname_np(pthread_self(), "primus-mqtt");
  spdlog::info("mqtt: connecting to {} as {}", broker(), opt_.client_id);
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
    }
    if (!socket_open_ && !open_socket()) {
      wait_backoff();
      continue;
    }
    pump();
    poll_once(250);
    if (!socket_open_) wait_backoff();
  }
  std::chrono::milliseconds flush;
  {
    std::lock_guard lk(mu_);
    flush = flush_;
  }
  flush_and_disconnect(std::chrono::steady_clock::now() + flush);
}

bool Link::open_socket() {
  attempt_error_.clear();
  lib_error_.clear();
  const int rc = mosquitto_connect_async(mosq_, opt_.host.c_str(), opt_.port, opt_.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS) {
    const std::string why = rc_text(rc);
    fail("cannot connect to " + broker() + ": " + why, false);
    return false;
  }
  socket_open_ = true;
  return true;
}

void Link::pump() {
  if (!connected_.load()) return;
  {
    std::lock_guard lk(subs_mu_);
    for (auto& [id, s] : subs_) {
      if (s.sent) continue;
      const int rc = mosquitto_subscribe(mosq_, nullptr, s.filter.c_str(), s.qos);
      if (rc == MOSQ_ERR_SUCCESS) {
        s.sent = true;
      } else {
        spdlog::error("mqtt: cannot subscribe to {}: {}", s.filter, rc_text(rc));
        s.sent = true;  // not retried on this connection
      }
    }
  }
  while (connected_.load() && inflight_.size() < kMaxInflight) {
    Out m;
    {
      std::lock_guard lk(mu_);
      if (queue_.empty()) break;
      m = std::move(queue_.front());
      queue_.pop_front();
    }
    int mid = 0;
    const int rc =
        mosquitto_publish(mosq_, &mid, m.topic.c_str(), static_cast<int>(m.payload.size()),
                          m.payload.data(), m.qos, m.retain);
    if (rc == MOSQ_ERR_SUCCESS) {
      inflight_[mid] = m.qos;
      inflight_count_.store(inflight_.size());
    } else if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) {
      std::lock_guard lk(mu_);
      queue_.push_front(std::move(m));
      break;
    } else {
      std::lock_guard lk(mu_);
      ++counters_.send_failed;
      spdlog::debug("mqtt: publish on {} refused: {}", m.topic, rc_text(rc));
    }
  }
}

void Link::poll_once(int timeout_ms) {
  const int fd = mosquitto_socket(mosq_);
  pollfd p[2] = {{event_fd_, POLLIN, 0}, {fd, POLLIN, 0}};
  if (fd >= 0 && mosquitto_want_write(mosq_)) p[1].events |= POLLOUT;
  const int n = ::poll(p, fd >= 0 ? 2 : 1, timeout_ms);
  if (n < 0 && errno != EINTR) {
    lost(std::string("poll: ") + std::strerror(errno));
    return;
  }
  if (p[0].revents & POLLIN) {
    std::uint64_t v = 0;
    (void)!::read(event_fd_, &v, sizeof v);
  }
  if (fd < 0) return;
  int rc = MOSQ_ERR_SUCCESS;
  if (p[1].revents & (POLLIN | POLLERR | POLLHUP)) rc = mosquitto_loop_read(mosq_, 1);
  if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(mosq_) >= 0 && (p[1].revents & POLLOUT))
    rc = mosquitto_loop_write(mosq_, 1);
  if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(mosq_) >= 0) rc = mosquitto_loop_misc(mosq_);
  if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(mosq_) < 0) {
    std::string why = rc_text(rc);
    if (rc == MOSQ_ERR_SUCCESS) why = "the connection closed";
    if (!lib_error_.empty()) why += " (" + lib_error_ + ")";
    lost(why);
  }
}

void Link::lost(const std::string& why) {
  // on_disconnect already cleared connected_; session_up_ says whether CONNACK had come.
  const bool was = session_up_;
  session_up_ = false;
  connected_.store(false);
  socket_open_ = false;
  for (auto it = inflight_.begin(); it != inflight_.end();)
    it = it->second == 0 ? inflight_.erase(it) : std::next(it);  // QoS 0 is not re-sent
  inflight_count_.store(inflight_.size());
  {
    std::lock_guard lk(subs_mu_);
    for (auto& [id, s] : subs_) s.sent = false;
  }
  if (disconnecting_) return;  // our own clean disconnect
  if (!attempt_error_.empty()) {
    fail(attempt_error_, false);
  } else if (was) {
    fail("lost the connection to " + broker() + ": " + why, true);
  } else {
    fail("cannot connect to " + broker() + ": " + why, false);
  }
}

void Link::fail(const std::string& why, bool was_connected) {
  {
    std::lock_guard lk(mu_);
    counters_.last_error = why;
    if (was_connected)
      ++counters_.disconnects;
    else
      ++counters_.connect_failures;
  }
  if (why != last_logged_error_) {
    last_logged_error_ = why;
    if (was_connected)
      spdlog::warn("mqtt: {}; reconnecting", why);
    else
      spdlog::error("mqtt: {}; retrying (ZeroMQ events are not affected)", why);
  } else {
    spdlog::debug("mqtt: {}", why);
  }
}

void Link::wait_backoff() {
  const auto ns = backoff_.next_ns();
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, std::chrono::nanoseconds(ns), [this] { return stopping_; });
}

void Link::flush_and_disconnect(std::chrono::steady_clock::time_point deadline) {
  const auto start = std::chrono::steady_clock::now();
  if (connected_.load() && !opt_.will_topic.empty()) {
    // The clean goodbye: a disconnect does not fire the will, so say it ourselves.
    std::lock_guard lk(mu_);
    queue_.push_back(Out{opt_.will_topic, opt_.will_payload, 1, true});
  }
  while (connected_.load() && std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lk(mu_);
      if (queue_.empty() && inflight_.empty()) break;
    }
    pump();
    poll_once(20);
  }
  std::size_t left = 0;
  {
    std::lock_guard lk(mu_);
    left = queue_.size() + inflight_.size();
  }
  if (left > 0 && deadline > start)
    spdlog::warn("mqtt: stopping with {} message(s) not acknowledged", left);
  if (mosquitto_socket(mosq_) >= 0) {
    disconnecting_ = true;
    mosquitto_disconnect(mosq_);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (mosquitto_socket(mosq_) >= 0 && std::chrono::steady_clock::now() < until) poll_once(20);
  }
  connected_.store(false);
}

void Link::cb_connect(mosquitto*, void* self, int rc) {
  auto* l = static_cast<Link*>(self);
  if (rc != 0) {
    std::string why = std::string("the broker ") + l->broker() +
                      " refused the connection: " + mosquitto_connack_string(rc);
    if (rc == 4 || rc == 5) why += " (check mqtt.username and mqtt.password / mqtt.password_file)";
    if (rc == 2) why += " (check mqtt.client_id)";
    l->attempt_error_ = why;
    return;
  }
  l->connected_.store(true);
  l->session_up_ = true;
  l->backoff_.reset();
  l->last_logged_error_.clear();
  std::uint64_t n = 0;
  {
    std::lock_guard lk(l->mu_);
    n = ++l->counters_.connects;
  }
  spdlog::info("mqtt: connected to {} as {}{}", l->broker(), l->opt_.client_id,
               n > 1 ? " (reconnected)" : "");
  if (!l->opt_.will_topic.empty())
    mosquitto_publish(l->mosq_, nullptr, l->opt_.will_topic.c_str(),
                      static_cast<int>(l->opt_.online_payload.size()),
                      l->opt_.online_payload.data(), 1, true);
  std::vector<ConnectHook> hooks;
  {
    std::lock_guard lk(l->subs_mu_);
    hooks = l->hooks_;
  }
  for (auto& h : hooks) h();
  l->wake();
}

void Link::cb_disconnect(mosquitto*, void* self, int) {
  static_cast<Link*>(self)->connected_.store(false);
}

void Link::cb_publish(mosquitto*, void* self, int mid) {
  auto* l = static_cast<Link*>(self);
  if (l->inflight_.erase(mid) == 0) return;  // the online message, not from the queue
  l->inflight_count_.store(l->inflight_.size());
  std::lock_guard lk(l->mu_);
  ++l->counters_.published;
}

void Link::cb_message(mosquitto*, void* self, const mosquitto_message* m) {
  auto* l = static_cast<Link*>(self);
  {
    std::lock_guard lk(l->mu_);
    ++l->counters_.received;
  }
  const std::string topic = m->topic ? m->topic : "";
  const std::span<const std::uint8_t> payload(static_cast<const std::uint8_t*>(m->payload),
                                              static_cast<std::size_t>(m->payloadlen));
  std::lock_guard lk(l->subs_mu_);
  for (auto& [id, s] : l->subs_) {
    bool match = false;
    if (mosquitto_topic_matches_sub(s.filter.c_str(), topic.c_str(), &match) == MOSQ_ERR_SUCCESS &&
        match)
      s.handler(topic, payload, m->retain);
  }
}

void Link::cb_log(mosquitto*, void* self, int level, const char* text) {
  if (level == MOSQ_LOG_ERR && text) static_cast<Link*>(self)->lib_error_ = text;
}

}  // namespace primus::mqtt
