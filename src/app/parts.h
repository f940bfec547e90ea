#pragma once
// The daemon's object graph: every long-lived part, built by Daemon (src/app/daemon.cpp) in
// start() and torn down in stop(). The app's other rooms (status report, labelling, model swap,
// the service) each take a reference to the Parts they need; none of them owns a part.
//
// Threads: the io thread (Asio io_context) owns `devices`, `cfg`'s live keys and `stopping`, and
// runs every adapter and pipeline. The other parts own their threads and are safe to call from
// any thread as their headers say (Publisher, Batcher, Engine, EventsStage, CaptureWriter,
// TrainingService, ControlServer).
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "adapters/source.h"
#include "src/bus/control_server.h"
#include "src/bus/curve.h"
#include "src/bus/publisher.h"
#include "src/capture/capture_writer.h"
#include "src/config/config.h"
#include "src/core/time_source.h"
#include "src/events/events_stage.h"
#include "src/inference/batcher.h"
#include "src/inference/engine.h"
#include "src/mqtt/bridge.h"
#include "src/signal/device_pipeline.h"
#include "src/training/service.h"
#include "src/web/web_console.h"

namespace primus::app {

/// One configured device: its source (adapter) and pipeline. io thread only.
struct DeviceSlot {
  std::string id;
  std::unique_ptr<signal::DevicePipeline> pipeline;
  std::unique_ptr<adapters::Source> source;
  std::string state = "connecting";  ///< adapters::to_string(SourceState)
  std::uint64_t windows = 0;         ///< windows formed and handed to the batcher
};

struct Parts {
  explicit Parts(Config c) : cfg(std::move(c)) {}

  Config cfg;  ///< the running configuration; live keys change on reload (io thread)
  const TimeSource& clock = SteadyTimeSource::instance();
  boost::asio::io_context io;
  zmq::context_t zmq_ctx{1};
  // Before the publisher (its tap feeds the bridge) and the devices (mqtt sources subscribe).
  std::unique_ptr<mqtt::Link> mqtt_link;       ///< null unless mqtt.enabled
  std::unique_ptr<mqtt::Bridge> mqtt_bridge;   ///< null unless mqtt.enabled
  std::unique_ptr<bus::ZapAuthenticator> zap;  ///< before the publisher: it guards its endpoints
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<inference::Batcher> batcher;
  std::unique_ptr<events::EventsStage> events;
  std::unique_ptr<inference::Engine> engine;
  std::vector<DeviceSlot> devices;
  std::unique_ptr<capture::CaptureWriter> capture_writer;  ///< null when the store is unusable
  std::string capture_disabled_why;                        ///< why capture_writer is null
  std::unique_ptr<training::TrainingService> training;     ///< null when the registry is unusable
  std::string training_disabled_why;                       ///< why training is null
  std::unique_ptr<bus::ControlServer> control;
  std::unique_ptr<web::WebConsole> web;  ///< null unless web.listen; serves after the control API
  bool stopping = false;                 ///< io thread

  /// Publish on the bus from any thread (never blocks; Publisher::publish).
  void publish(std::string topic, std::string json) const {
    if (publisher) publisher->publish(std::move(topic), std::move(json));
  }
};

}  // namespace primus::app
