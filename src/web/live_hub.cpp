#include "src/web/live_hub.h"

#include <algorithm>

namespace primus::web {

Message sse_message(const std::string& event, const std::string& json) {
  auto s = std::make_shared<std::string>();
  s->reserve(event.size() + json.size() + 16);
  *s += "event: ";
  *s += event;
  *s += "\ndata: ";
  *s += json;
  *s += "\n\n";
  return s;
}

bool LiveHub::Client::next(std::vector<Message>& out, std::chrono::milliseconds wait) {
  out.clear();
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, wait, [this] { return closed_ || !queue_.empty(); });
  out.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  overflow_since_ns_ = -1;  // the reader caught up
  const bool open = !closed_;
  lk.unlock();
  hub_.sent_.fetch_add(out.size(), std::memory_order_relaxed);
  return open;
}

void LiveHub::Client::push(Message m) {
  bool slow = false;
  {
    std::lock_guard lk(mu_);
    slow = !push_locked(std::move(m), hub_.clock_.now_ns());
  }
  cv_.notify_one();
  if (slow) hub_.slow_.fetch_add(1, std::memory_order_relaxed);
}

bool LiveHub::Client::push_locked(Message m, std::int64_t now_ns) {
  if (closed_) return true;
  if (queue_.size() >= capacity_) {
    queue_.pop_front();
    ++dropped_;
    hub_.dropped_.fetch_add(1, std::memory_order_relaxed);
    if (overflow_since_ns_ < 0) overflow_since_ns_ = now_ns;
    if (now_ns - overflow_since_ns_ > hub_.slow_after_ns_) {
      closed_ = true;
      queue_.clear();
      return false;
    }
  }
  queue_.push_back(std::move(m));
  return true;
}

void LiveHub::Client::close() {
  {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

void LiveHub::Client::write_failed() {
  hub_.write_failed_.fetch_add(1, std::memory_order_relaxed);
  close();
}

std::uint64_t LiveHub::Client::dropped() const {
  std::lock_guard lk(mu_);
  return dropped_;
}

LiveHub::LiveHub(std::size_t max_clients, std::size_t queue_capacity,
                 std::chrono::milliseconds slow_after, const TimeSource& clock)
    : max_clients_(max_clients),
      capacity_(std::max<std::size_t>(queue_capacity, 1)),
      slow_after_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(slow_after).count()),
      clock_(clock) {}

LiveHub::~LiveHub() { stop(); }

std::shared_ptr<LiveHub::Client> LiveHub::connect() {
  std::lock_guard lk(mu_);
  std::erase_if(clients_, [](const auto& w) { return w.expired(); });
  if (stopped_ || clients_.size() >= max_clients_) {
    ++refused_;
    return nullptr;
  }
  std::shared_ptr<Client> c(new Client(*this, capacity_));
  clients_.push_back(c);
  ++connected_;
  return c;
}

void LiveHub::broadcast(const Message& m) {
  std::vector<std::shared_ptr<Client>> live;
  {
    std::lock_guard lk(mu_);
    if (stopped_) return;
    ++broadcasts_;
    live.reserve(clients_.size());
    for (const auto& w : clients_)
      if (auto c = w.lock()) live.push_back(std::move(c));
  }
  // Outside the hub's lock, so connect() and stats() never wait behind a client's queue.
  for (auto& c : live) c->push(m);
}

void LiveHub::stop() {
  std::vector<std::shared_ptr<Client>> live;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    for (const auto& w : clients_)
      if (auto c = w.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) c->close();
}

std::size_t LiveHub::clients() const {
  std::lock_guard lk(mu_);
  return static_cast<std::size_t>(
      std::count_if(clients_.begin(), clients_.end(), [](const auto& w) { return !w.expired(); }));
}

HubStats LiveHub::stats() const {
  HubStats s;
  {
    std::lock_guard lk(mu_);
    for (const auto& w : clients_) s.clients += w.expired() ? 0 : 1;
    s.connected = connected_;
    s.refused = refused_;
    s.broadcasts = broadcasts_;
  }
  s.sent = sent_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.slow_disconnects = slow_.load(std::memory_order_relaxed);
  s.write_failed = write_failed_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace primus::web
