#pragma once
// The daemon's MQTT part ([mqtt], docs/mqtt.md): the broker link, the bridge that taps the bus,
// and what status and /metrics say about them. Private to src/app.
//
// Threads: start_mqtt() and stop_mqtt() on the main thread (start, after the publisher exists and
// before anything else publishes; stop, after the publisher stopped). The json and metrics
// functions are thread-safe (stats calls).
#include <nlohmann/json.hpp>

#include "src/app/parts.h"

namespace primus::app {

struct PromWriter;

/// With mqtt.enabled: builds the link and the bridge, taps the publisher, starts connecting
/// (in the background: an absent broker does not delay or fail the start). Throws
/// std::runtime_error naming the mqtt.* key when a file cannot be read.
void start_mqtt(Parts& p);
/// The bridge translates what it holds, then the link sends it (up to `flush_ms` for the broker's
/// acknowledgements), says "offline" and disconnects.
void stop_mqtt(Parts& p, int flush_ms = 1000);
/// status.mqtt: null when disabled.
nlohmann::json mqtt_status_json(const Parts& p);
/// primusd_mqtt_* lines (none when disabled).
void mqtt_metrics(PromWriter& w, const Parts& p);

}  // namespace primus::app
