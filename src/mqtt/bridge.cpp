#include "src/mqtt/bridge.h"

#include <pthread.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace primus::mqtt {
namespace {

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

BridgeMapper::BridgeMapper(TopicLayout layout, std::vector<std::string> devices,
                           std::string null_label, bool discovery, std::int64_t summary_interval_ns)
    : layout_(std::move(layout)),
      devices_(std::move(devices)),
      null_label_(std::move(null_label)),
      discovery_(discovery),
      summary_interval_ns_(summary_interval_ns) {}

std::vector<OutMessage> BridgeMapper::on_bus(const std::string& topic, const std::string& json,
                                             std::int64_t now_ns) {
  std::vector<OutMessage> out;
  const int q = layout_.qos;
  if (starts_with(topic, "gesture.")) {
    const std::string dev = topic.substr(8);
    const auto j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++bad_json_;
      return out;
    }
    out.push_back({layout_.gesture(dev), json, q, false});
    const auto phase = j.find("phase");
    const bool end =
        phase == j.end() || !phase->is_string() || phase->get<std::string>() != "start";
    const auto label = j.find("label");
    if (end && label != j.end() && label->is_string()) {
      out.push_back({layout_.event(dev), label->get<std::string>(), q, false});
      out.push_back({layout_.last_gesture(dev), json, q, true});
    }
  } else if (starts_with(topic, "device.")) {
    out.push_back({layout_.state(topic.substr(7)), json, q, true});
  } else if (topic == "training") {
    out.push_back({layout_.training(), json, q, false});
  } else if (topic == "status") {
    const auto j = nlohmann::json::parse(json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++bad_json_;
      return out;
    }
    const auto model = j.find("model");
    if (model != j.end() && model->is_object()) {
      const auto labels = model->find("labels");
      if (labels != model->end() && labels->is_array()) {
        std::set<std::string> ls;
        for (const auto& l : *labels)
          if (l.is_string() && l.get<std::string>() != null_label_) ls.insert(l.get<std::string>());
        auto d = set_labels(ls);
        out.insert(out.end(), std::make_move_iterator(d.begin()), std::make_move_iterator(d.end()));
      }
    }
    if (summary_interval_ns_ > 0 &&
        (!summary_sent_ || now_ns - last_summary_ns_ >= summary_interval_ns_)) {
      summary_sent_ = true;
      last_summary_ns_ = now_ns;
      out.push_back({layout_.summary(), json, 0, true});
    }
  }
  return out;
}

std::vector<OutMessage> BridgeMapper::set_labels(const std::set<std::string>& labels) {
  std::vector<OutMessage> out;
  if (!discovery_ || (labels_known_ && labels == labels_)) return out;
  labels_known_ = true;
  labels_ = labels;
  std::set<std::string> wanted;
  for (const auto& dev : devices_) {
    const auto st = layout_.sensor_config_topic(dev);
    wanted.insert(st);
    if (!announced_.count(st)) out.push_back({st, layout_.sensor_config(dev).dump(), 1, true});
    for (const auto& l : labels_) {
      const auto t = layout_.trigger_config_topic(dev, l);
      wanted.insert(t);
      if (!announced_.count(t)) out.push_back({t, layout_.trigger_config(dev, l).dump(), 1, true});
    }
  }
  for (const auto& t : announced_)
    if (!wanted.count(t)) out.push_back({t, "", 1, true});
  for (const auto& t : seen_)
    if (!wanted.count(t) && !announced_.count(t)) out.push_back({t, "", 1, true});
  seen_.clear();
  announced_ = std::move(wanted);
  return out;
}

std::vector<OutMessage> BridgeMapper::on_connect() const {
  std::vector<OutMessage> out;
  if (!discovery_ || !labels_known_) return out;
  for (const auto& dev : devices_) {
    out.push_back({layout_.sensor_config_topic(dev), layout_.sensor_config(dev).dump(), 1, true});
    for (const auto& l : labels_)
      out.push_back(
          {layout_.trigger_config_topic(dev, l), layout_.trigger_config(dev, l).dump(), 1, true});
  }
  return out;
}

std::vector<OutMessage> BridgeMapper::on_retained_config(const std::string& topic, bool empty) {
  std::vector<OutMessage> out;
  if (!discovery_ || empty) return out;
  if (!labels_known_) {
    seen_.insert(topic);
  } else if (!announced_.count(topic)) {
    out.push_back({topic, "", 1, true});
  }
  return out;
}

// ---- Bridge ---------------------------------------------------------------------------------

Bridge::Bridge(BridgeMapper mapper, Link& link, std::size_t queue_capacity)
    : mapper_(std::move(mapper)), link_(link), capacity_(queue_capacity) {
  auto retained = [this](const std::string& topic, std::span<const std::uint8_t> payload,
                         bool is_retained) {
    if (is_retained) push(Item{Kind::kRetainedConfig, topic, payload.empty() ? "" : "x", 0});
  };
  sub_triggers_ = link_.subscribe(mapper_.layout().trigger_config_filter(), 1, retained);
  sub_sensors_ = link_.subscribe(mapper_.layout().sensor_config_filter(), 1, retained);
  link_.on_connect([this] { push(Item{Kind::kConnected, {}, {}, 0}); });
  thread_ = std::thread([this] { run(); });
}

Bridge::~Bridge() {
  stop();
  link_.unsubscribe(sub_triggers_);
  link_.unsubscribe(sub_sensors_);
}

void Bridge::offer(const std::string& topic, const std::string& json) {
  if (!(starts_with(topic, "gesture.") || starts_with(topic, "device.") || topic == "status" ||
        topic == "training"))
    return;
  push(Item{Kind::kBus, topic, json, steady_ns()});
}

void Bridge::push(Item it) {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    if (queue_.size() >= capacity_) {
      queue_.pop_front();
      ++stats_.dropped;
    }
    if (it.kind == Kind::kBus) ++stats_.offered;
    queue_.push_back(std::move(it));
  }
  cv_.notify_one();
}

void Bridge::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

BridgeStats Bridge::stats() const {
  std::lock_guard lk(mu_);
  BridgeStats s = stats_;
  s.depth = queue_.size();
  return s;
}

void Bridge::run() {
  pthread_setname_np(pthread_self(), "primus-mqtt-br");
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
    while (!queue_.empty()) {
      Item it = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      std::vector<OutMessage> out;
      switch (it.kind) {
        case Kind::kBus:
          out = mapper_.on_bus(it.topic, it.payload, it.t_ns);
          break;
        case Kind::kConnected:
          out = mapper_.on_connect();
          break;
        case Kind::kRetainedConfig:
          out = mapper_.on_retained_config(it.topic, it.payload.empty());
          break;
      }
      for (auto& m : out) link_.publish(std::move(m.topic), std::move(m.payload), m.qos, m.retain);
      lk.lock();
      stats_.forwarded += out.size();
      stats_.bad_json = mapper_.bad_json();
    }
    if (stopping_) break;
  }
}

}  // namespace primus::mqtt
