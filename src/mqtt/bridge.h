#pragma once
// The MQTT bridge: a second consumer of what the daemon publishes on its ZeroMQ bus. Every
// [topic, JSON] bus message is offered to it (bus::Publisher's tap); it forwards, whatever their
// JSON fields, gesture.<dev> (start and end), device.<dev>, status (as the summary, at most every
// summary_interval_s) and training messages to the topics of TopicLayout (src/mqtt/topics.h),
// and keeps the Home Assistant discovery configs in step with the live model's labels (the
// status message's model.labels): one device trigger per (device, label) but the null label, one
// "last gesture" sensor per device; a label that leaves the live model has its config removed
// (an empty retained message). Configs this node announced in an earlier run and no longer wants
// (seen as retained messages on its discovery topics) are removed too, once the labels are known.
//
// Gesture messages: both phases go to <dev>/gesture; an end message ("phase": "end", or no phase)
// also publishes its label on <dev>/event (what the HA triggers match) and its JSON, retained, on
// <dev>/last_gesture (the sensor's state and attributes).
//
// BridgeMapper is the pure translation (tested without a broker); Bridge runs it on its own
// thread between a bounded queue and the Link.
//
// Threads: Bridge::offer() from any thread, non-blocking (bounded queue, drop-oldest, counted in
// BridgeStats::dropped); the thread "primus-mqtt-br" parses and calls Link::publish (itself
// non-blocking). BridgeMapper is not thread-safe (the bridge thread owns it).
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "src/mqtt/link.h"
#include "src/mqtt/topics.h"

namespace primus::mqtt {

struct OutMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
};

class BridgeMapper {
 public:
  /// `devices`: every configured device id; `null_label`: gets no trigger;
  /// `summary_interval_ns` 0: no summary.
  BridgeMapper(TopicLayout layout, std::vector<std::string> devices, std::string null_label,
               bool discovery, std::int64_t summary_interval_ns);

  /// A bus message; `now_ns` (steady clock) paces the summary.
  std::vector<OutMessage> on_bus(const std::string& topic, const std::string& json,
                                 std::int64_t now_ns);
  /// After each (re)connect: the discovery configs again (the broker may have lost them).
  std::vector<OutMessage> on_connect() const;
  /// A retained message on this node's discovery topics (possibly left by an earlier run).
  std::vector<OutMessage> on_retained_config(const std::string& topic, bool empty);

  [[nodiscard]] const TopicLayout& layout() const noexcept { return layout_; }
  [[nodiscard]] std::uint64_t bad_json() const noexcept { return bad_json_; }
  /// The labels announced (null label excluded); empty until a status message named them.
  [[nodiscard]] const std::set<std::string>& labels() const noexcept { return labels_; }

 private:
  std::vector<OutMessage> set_labels(const std::set<std::string>& labels);

  TopicLayout layout_;
  std::vector<std::string> devices_;
  std::string null_label_;
  bool discovery_;
  std::int64_t summary_interval_ns_;
  std::int64_t last_summary_ns_ = 0;
  bool summary_sent_ = false;
  std::uint64_t bad_json_ = 0;
  bool labels_known_ = false;
  std::set<std::string> labels_;
  std::set<std::string> announced_;  ///< config topics announced (non-empty, retained)
  std::set<std::string> seen_;       ///< retained configs found before the labels were known
};

struct BridgeStats {
  std::uint64_t offered = 0;    ///< bus messages taken into the queue
  std::uint64_t dropped = 0;    ///< dropped because the queue was full
  std::uint64_t forwarded = 0;  ///< MQTT messages handed to the link
  std::uint64_t bad_json = 0;   ///< bus messages whose JSON did not parse (not forwarded)
  std::size_t depth = 0;
};

class Bridge {
 public:
  /// Subscribes to the node's discovery topics and hooks the link's connect; starts the thread.
  Bridge(BridgeMapper mapper, Link& link, std::size_t queue_capacity);
  ~Bridge();  ///< stop()
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  /// The bus tap: copies the message if it is one the bridge forwards. Any thread.
  void offer(const std::string& topic, const std::string& json);
  /// Translate what is queued, then stop the thread.
  void stop();
  [[nodiscard]] BridgeStats stats() const;

 private:
  enum class Kind { kBus, kConnected, kRetainedConfig };
  struct Item {
    Kind kind;
    std::string topic;
    std::string payload;
    std::int64_t t_ns = 0;
  };
  void push(Item it);
  void run();

  BridgeMapper mapper_;
  Link& link_;
  std::size_t capacity_;
  int sub_triggers_ = 0;
  int sub_sensors_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  BridgeStats stats_;
  std::thread thread_;
};

}  // namespace primus::mqtt
