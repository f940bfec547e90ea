#pragma once
// A sensor on a serial port (USB CDC/ACM, FTDI, CP210x, a UART, a pseudo-terminal).
//
// Opens DeviceConfig::path (use a stable /dev/serial/by-id/... link: it disappears on unplug
// and reappears on replug) with the configured baud, data bits, parity, stop bits and flow
// control in raw mode, reads with async_read_some into a fixed 4 KiB buffer, and decodes with
// the device's codec (starting mid-stream: the first partial frame is skipped as garbage).
// A read error or end of file (unplug, the far end of a pty closing), or no bytes for
// idle_timeout_s, closes the port and retries with backoff (see LinkSource); an open that
// fails (port absent, busy, permission) is retried the same way. Nothing here blocks: the open
// itself is a non-blocking open(2).
//
// Threads: io thread only.
#include <array>
#include <boost/asio/serial_port.hpp>

#include "adapters/link_source.h"

namespace primus::adapters {

class SerialSource final : public LinkSource {
 public:
  SerialSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx);
  ~SerialSource() override;

 private:
  void open_link() override;
  void close_link() noexcept override;
  void read();

  boost::asio::serial_port port_;
  std::array<std::uint8_t, 4096> rx_{};
  std::uint64_t generation_ = 0;  ///< bumped on close: stale handlers see a different value
};

}  // namespace primus::adapters
