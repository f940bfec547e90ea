#pragma once
// sd_notify(3) messages to the service manager, sent without ever blocking (a full notify socket
// drops the message). All functions are no-ops without NOTIFY_SOCKET,
// so the daemon behaves the same outside systemd. Thread-safe.
#include <chrono>
#include <optional>
#include <string>

namespace primus::app {

/// READY=1 with STATUS=: start-up is done, or a reload begun with notify_reloading() is.
void notify_ready(const std::string& status);
void notify_status(const std::string& status);
void notify_stopping();
void notify_reloading();
void notify_watchdog();
/// The watchdog interval systemd asks for (WATCHDOG_USEC for this pid), if any.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace primus::app
