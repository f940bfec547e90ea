#pragma once
// Test helpers: a pseudo-terminal standing in for a USB serial sensor, reachable through a
// stable symlink (like /dev/serial/by-id/...), which can be unplugged and plugged in again.
#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>

namespace primus::test {

/// Runs io until pred() holds or the timeout passes; returns pred().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return pred();
    if (io.stopped()) io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

class FakeSerialDevice {
 public:
  explicit FakeSerialDevice(std::filesystem::path link) : link_(std::move(link)) { plug(); }
  ~FakeSerialDevice() { unplug(); }
  FakeSerialDevice(const FakeSerialDevice&) = delete;
  FakeSerialDevice& operator=(const FakeSerialDevice&) = delete;

  /// A new pty appears behind the link (a new /dev/pts/N, as a replugged USB device gets).
  void plug() {
    termios raw{};
    cfmakeraw(&raw);
    int slave = -1;
    char name[128];
    if (openpty(&master_, &slave, name, &raw, nullptr) != 0)
      throw std::runtime_error("openpty failed");
    ::close(slave);  // the adapter opens its own; the pty lives while the master is open
    ::fcntl(master_, F_SETFL, ::fcntl(master_, F_GETFL) | O_NONBLOCK);
    std::error_code ec;
    std::filesystem::remove(link_, ec);
    std::filesystem::create_symlink(name, link_);
    slave_name_ = name;
  }
  /// The device vanishes: the master closes (the adapter's reads fail) and the link goes.
  void unplug() {
    std::error_code ec;
    std::filesystem::remove(link_, ec);
    if (master_ >= 0) ::close(master_);
    master_ = -1;
  }
  /// Writes everything, running io while the pty buffer is full.
  void write(std::span<const std::uint8_t> b, boost::asio::io_context& io) {
    std::size_t off = 0;
    while (off < b.size()) {
      const auto n = ::write(master_, b.data() + off, b.size() - off);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
      } else if (n < 0 &&
                 (errno == EAGAIN || errno == EIO)) {  // EIO: nobody has the slave open yet
        if (io.stopped()) io.restart();
        io.run_for(std::chrono::milliseconds(2));
      } else if (n < 0 && errno != EINTR) {
        throw std::runtime_error("write to pty failed");
      }
    }
  }
  [[nodiscard]] const std::filesystem::path& link() const { return link_; }
  [[nodiscard]] const std::string& slave_name() const { return slave_name_; }
  [[nodiscard]] int master_fd() const { return master_; }

 private:
  std::filesystem::path link_;
  std::string slave_name_;
  int master_ = -1;
};

}  // namespace primus::test
