#include "src/app/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace primus::app {
namespace {

// sd_notify(3) blocks when the notify socket's queue is full; a daemon must never stall its io
// thread on it. Same protocol (one datagram to $NOTIFY_SOCKET, '@' = abstract namespace), sent
// with MSG_DONTWAIT: a message that does not fit is dropped (the next status replaces it).
void send_notify(const std::string& msg) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) return;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  (void)sendto(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&addr), addr_len);
  close(fd);
}

}  // namespace

void notify_ready(const std::string& status) { send_notify("READY=1\nSTATUS=" + status); }
void notify_status(const std::string& status) { send_notify("STATUS=" + status); }
void notify_stopping() { send_notify("STOPPING=1\nSTATUS=stopping"); }
void notify_reloading() { send_notify("RELOADING=1"); }
void notify_watchdog() { send_notify("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
  return std::nullopt;
}

}  // namespace primus::app
