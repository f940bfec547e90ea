#include "adapters/source.h"

#include <stdexcept>

#include "adapters/ble_source.h"
#include "adapters/mqtt_source.h"
#include "adapters/replay_source.h"
#include "adapters/serial_source.h"
#include "adapters/sim_source.h"
#include "adapters/udp_source.h"

namespace primus::adapters {

const char* to_string(SourceState s) noexcept {
  switch (s) {
    case SourceState::kConnecting:
      return "connecting";
    case SourceState::kConnected:
      return "connected";
    case SourceState::kLost:
      return "lost";
    case SourceState::kEnded:
      return "ended";
  }
  return "?";
}

std::unique_ptr<Source> make_source(const DeviceConfig& dev, std::uint32_t index,
                                    SourceContext ctx) {
  try {
    switch (dev.adapter) {
      case AdapterKind::kSim:
        return std::make_unique<SimSource>(dev, index, std::move(ctx));
      case AdapterKind::kReplay:
        return std::make_unique<ReplaySource>(dev, index, std::move(ctx));
      case AdapterKind::kSerial:
        return std::make_unique<SerialSource>(dev, index, std::move(ctx));
      case AdapterKind::kUdp:
        return std::make_unique<UdpSource>(dev, index, std::move(ctx));
      case AdapterKind::kBle:
        return std::make_unique<BleSource>(dev, index, std::move(ctx));
      case AdapterKind::kMqtt:
        return std::make_unique<MqttSource>(dev, index, std::move(ctx));
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("device " + dev.id + ": " + e.what());
  }
  throw std::runtime_error("device " + dev.id + ": unknown adapter");
}

}  // namespace primus::adapters
