#include "src/app/mqtt_part.h"

#include <spdlog/spdlog.h>

#include "src/app/metrics_server.h"
#include "src/core/version.h"

namespace primus::app {

void start_mqtt(Parts& p) {
  const auto& m = p.cfg.mqtt;
  if (!m.enabled) return;
  p.mqtt_link = std::make_unique<mqtt::Link>(mqtt::link_options(m));
  mqtt::TopicLayout layout;
  layout.prefix = m.topic_prefix;
  layout.node = m.node;
  layout.discovery_prefix = m.discovery_prefix;
  layout.qos = m.qos;
  layout.version = std::string(version());
  std::vector<std::string> ids;
  for (const auto& d : p.cfg.devices) ids.push_back(d.id);
  p.mqtt_bridge = std::make_unique<mqtt::Bridge>(
      mqtt::BridgeMapper(layout, std::move(ids), p.cfg.events.null_label, m.discovery,
                         static_cast<std::int64_t>(m.summary_interval_s * 1e9)),
      *p.mqtt_link, static_cast<std::size_t>(m.queue));
  p.publisher->add_tap(
      [b = p.mqtt_bridge.get()](const std::string& topic, const std::string& json) {
        b->offer(topic, json);
      });
  p.mqtt_link->start();
  spdlog::info("mqtt: events to {} under {}/", p.mqtt_link->broker(), layout.base());
}

void stop_mqtt(Parts& p, int flush_ms) {
  if (p.mqtt_bridge) p.mqtt_bridge->stop();
  if (p.mqtt_link) p.mqtt_link->stop(std::chrono::milliseconds(flush_ms));
}

nlohmann::json mqtt_status_json(const Parts& p) {
  if (!p.mqtt_link) return nullptr;
  const auto s = p.mqtt_link->stats();
  nlohmann::json j{{"broker", p.mqtt_link->broker()},
                   {"connected", s.connected},
                   {"published", s.published},
                   {"dropped_queue", s.dropped_queue},
                   {"send_failed", s.send_failed},
                   {"received", s.received},
                   {"queue_depth", s.queue_depth},
                   {"inflight", s.inflight},
                   {"connects", s.connects},
                   {"reconnects", s.connects > 0 ? s.connects - 1 : 0},
                   {"connect_failures", s.connect_failures},
                   {"disconnects", s.disconnects},
                   {"last_error", s.last_error}};
  if (p.mqtt_bridge) {
    const auto b = p.mqtt_bridge->stats();
    j["bridge"] = {{"offered", b.offered},
                   {"dropped", b.dropped},
                   {"forwarded", b.forwarded},
                   {"bad_json", b.bad_json},
                   {"depth", b.depth}};
  }
  return j;
}

void mqtt_metrics(PromWriter& w, const Parts& p) {
  if (!p.mqtt_link) return;
  const auto s = p.mqtt_link->stats();
  auto one = [&w](const char* name, const char* type, const char* help, double v) {
    w.help(name, type, help);
    w.sample(name, "", v);
  };
  auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  one("primusd_mqtt_connected", "gauge", "1 while the broker accepts the connection.",
      s.connected ? 1 : 0);
  one("primusd_mqtt_published_total", "counter", "MQTT messages the broker acknowledged.",
      d(s.published));
  one("primusd_mqtt_dropped_total", "counter",
      "MQTT messages dropped because the queue was full (broker away too long).",
      d(s.dropped_queue) + (p.mqtt_bridge ? d(p.mqtt_bridge->stats().dropped) : 0));
  one("primusd_mqtt_reconnects_total", "counter", "Reconnects to the broker.",
      d(s.connects > 0 ? s.connects - 1 : 0));
  one("primusd_mqtt_connect_failures_total", "counter", "Failed connection attempts.",
      d(s.connect_failures));
  one("primusd_mqtt_queue_depth", "gauge", "MQTT messages waiting for the broker.",
      d(s.queue_depth));
  one("primusd_mqtt_received_total", "counter", "MQTT messages received (mqtt sources).",
      d(s.received));
}

}  // namespace primus::app
