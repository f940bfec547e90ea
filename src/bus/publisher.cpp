#include "src/bus/publisher.h"

#include <pthread.h>

#include <stdexcept>
#include <zmq.hpp>

namespace primus::bus {

Publisher::Publisher(zmq::context_t& ctx, const std::vector<std::string>& endpoints, int sndhwm,
                     std::size_t queue_capacity, const std::string& curve_secret_z85)
    : ctx_(ctx),
      endpoints_(endpoints),
      sndhwm_(sndhwm),
      capacity_(queue_capacity),
      curve_secret_(curve_secret_z85) {
  std::mutex m;
  std::condition_variable started;
  bool done = false;
  thread_ = std::thread([&] {
    pthread_setname_np(pthread_self(), "primus-pub");
    zmq::socket_t sock(ctx_, zmq::socket_type::pub);
    try {
      sock.set(zmq::sockopt::sndhwm, sndhwm_);
      sock.set(zmq::sockopt::linger, 0);
      if (!curve_secret_.empty()) {
        sock.set(zmq::sockopt::curve_server, true);
        sock.set(zmq::sockopt::curve_secretkey, curve_secret_);
        sock.set(zmq::sockopt::zap_domain, "primusd");
      }
      for (const auto& ep : endpoints_) {
        try {
          sock.bind(ep);
        } catch (const zmq::error_t& e) {
          throw std::runtime_error("bus.publish: cannot bind " + ep + ": " + e.what());
        }
        bound_.push_back(sock.get(zmq::sockopt::last_endpoint));
      }
    } catch (const std::exception& e) {
      std::lock_guard lk(m);
      bind_error_ = e.what();
      done = true;
      started.notify_one();
      return;
    }
    {
      std::lock_guard lk(m);
      done = true;
      started.notify_one();
    }
    // Move the socket into the loop; it lives on this thread only.
    std::unique_lock lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      while (!queue_.empty()) {
        auto msg = std::move(queue_.front());
        queue_.pop_front();
        lk.unlock();
        zmq::message_t topic(msg.first.data(), msg.first.size());
        zmq::message_t body(msg.second.data(), msg.second.size());
        const bool ok = sock.send(topic, zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
                        sock.send(body, zmq::send_flags::dontwait);
        (ok ? published_ : send_failed_).fetch_add(1, std::memory_order_relaxed);
        lk.lock();
      }
      if (stopping_) break;
    }
    const int linger = linger_ms_;
    lk.unlock();
    sock.set(zmq::sockopt::linger, linger);
    sock.close();
  });
  std::unique_lock lk(m);
  started.wait(lk, [&] { return done; });
  if (!bind_error_.empty()) {
    thread_.join();
    throw std::runtime_error(bind_error_);
  }
}

Publisher::~Publisher() { stop(0); }

void Publisher::publish(std::string topic, std::string payload) {
  for (const auto& tap : taps_) tap(topic, payload);
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    if (queue_.size() >= capacity_) {
      queue_.pop_front();
      ++dropped_queue_;
    }
    queue_.emplace_back(std::move(topic), std::move(payload));
  }
  cv_.notify_one();
}

void Publisher::stop(int linger_ms) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      stopping_ = true;
      linger_ms_ = linger_ms;
    }
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

PublisherStats Publisher::stats() const {
  std::lock_guard lk(mu_);
  return PublisherStats{published_.load(), dropped_queue_, send_failed_.load(), queue_.size()};
}

}  // namespace primus::bus
