#include "adapters/serial_source.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace primus::adapters {
namespace asio = boost::asio;

SerialSource::SerialSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx)
    : LinkSource(dev, index, std::move(ctx), codecs::Sync::kHunt, "serial port " + dev.path),
      port_(ctx_.io) {}

SerialSource::~SerialSource() { close_link(); }

void SerialSource::open_link() {
  // O_NONBLOCK: a modem-control port must not block open(2) waiting for carrier.
  const int fd = ::open(dev_.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    link_failed(std::string("cannot open: ") + std::strerror(errno));
    return;
  }
  ::ioctl(fd, TIOCEXCL);  // keep a second reader (another primusd, a terminal) off the port
  boost::system::error_code ec;
  port_.assign(fd, ec);
  if (ec) {
    ::close(fd);
    link_failed("cannot use: " + ec.message());
    return;
  }
  using sp = asio::serial_port_base;
  const auto parity = dev_.parity == Parity::kOdd    ? sp::parity::odd
                      : dev_.parity == Parity::kEven ? sp::parity::even
                                                     : sp::parity::none;
  const auto flow = dev_.flow_control == FlowControl::kHardware   ? sp::flow_control::hardware
                    : dev_.flow_control == FlowControl::kSoftware ? sp::flow_control::software
                                                                  : sp::flow_control::none;
  // Raw mode first (assign() does not set it, unlike serial_port::open), then Asio's options.
  termios tio{};
  if (::tcgetattr(fd, &tio) == 0) {
    ::cfmakeraw(&tio);
    tio.c_cflag |= CREAD | CLOCAL;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    ::tcsetattr(fd, TCSANOW, &tio);
  }
  port_.set_option(sp::baud_rate(static_cast<unsigned>(dev_.baud)), ec);
  if (!ec) port_.set_option(sp::character_size(static_cast<unsigned>(dev_.data_bits)), ec);
  if (!ec) port_.set_option(sp::parity(parity), ec);
  if (!ec)
    port_.set_option(sp::stop_bits(dev_.stop_bits == 2 ? sp::stop_bits::two : sp::stop_bits::one),
                     ec);
  if (!ec) port_.set_option(sp::flow_control(flow), ec);
  if (ec) {
    link_failed("cannot configure: " + ec.message());
    return;
  }
  link_up("serial port " + dev_.path + " at " + std::to_string(dev_.baud) + " baud");
  read();
}

void SerialSource::close_link() noexcept {
  ++generation_;
  boost::system::error_code ec;
  if (port_.is_open()) port_.close(ec);
}

void SerialSource::read() {
  port_.async_read_some(asio::buffer(rx_), [this, gen = generation_](
                                               const boost::system::error_code& ec, std::size_t n) {
    if (gen != generation_ || !running()) return;
    if (n > 0) on_bytes({rx_.data(), n});
    if (gen != generation_ || !running()) return;  // a callback stopped us
    if (ec) {
      link_failed(ec == asio::error::eof ? "device closed (end of file)"
                                         : "read error: " + ec.message());
      return;
    }
    read();
  });
}

}  // namespace primus::adapters
