#pragma once
// A BLE sensor through BlueZ on the system D-Bus (sd-bus from libsystemd; the bus address comes
// from DBUS_SYSTEM_BUS_ADDRESS when set, else the system bus).
//
// One connection attempt (LinkSource::open_link):
//   1. open a bus connection; subscribe to InterfacesAdded/Removed and PropertiesChanged of
//      org.bluez; GetManagedObjects;
//   2. find the org.bluez.Device1 on ble_adapter whose Address equals ble_address (or whose
//      Name/Alias equals ble_name); if absent, StartDiscovery and wait for it to appear;
//   3. Device1.Connect unless already connected (AlreadyConnected counts as success);
//   4. find the GattCharacteristic1 with ble_char_uuid under a GattService1 with
//      ble_service_uuid of that device (waiting for ServicesResolved / InterfacesAdded);
//   5. StartNotify; optionally WriteValue(ble_write_hex) to ble_write_uuid; link up.
// Each step that does not finish within ble_connect_timeout_s fails the attempt.
// Notifications arrive as PropertiesChanged(Value) of the characteristic and are fed to the
// codec as one byte stream (so frames split across notifications, or several frames in one,
// are reassembled); the stream is taken to start at a frame boundary after each connect.
// Link loss: Device1.Connected turning false, the device object vanishing, a bus error, or no
// notification for idle_timeout_s -> LinkSource retries with backoff (a device BlueZ still
// reports connected is not reconnected, only subscribed again).
//
// Threads: io thread only. sd-bus is driven from the io_context: the bus fd is wrapped in a
// posix::stream_descriptor (waiting for what sd_bus_get_events asks) and sd_bus_get_timeout
// arms a steady_timer; sd_bus_process runs in those handlers. No D-Bus call blocks. Teardown
// that must not run inside sd_bus_process is posted to the io_context.
#include <systemd/sd-bus.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>
#include <vector>

#include "adapters/link_source.h"

namespace primus::adapters {

class BleSource final : public LinkSource {
 public:
  BleSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx);
  ~BleSource() override;

 private:
  enum class Step { kIdle, kFindDevice, kConnect, kFindChar, kStartNotify, kWrite, kUp };

  void open_link() override;
  void close_link() noexcept override;

  // bus plumbing
  void pump();
  void arm_bus();
  void fail_soon(const std::string& why);
  /// A method call to org.bluez, or nullptr (the attempt then fails).
  sd_bus_message* new_call(const std::string& path, const char* iface, const char* member);
  /// Sends m (and unrefs it) with the reply going to cb; false if it could not be queued.
  bool send(sd_bus_message* m, sd_bus_message_handler_t cb, std::uint64_t timeout_us);
  void arm_step_timer();

  // steps
  void get_objects();
  void on_objects(sd_bus_message* m);
  void connect_device();
  void start_notify();
  void write_command();
  void on_signal(sd_bus_message* m);

  static int on_objects_cb(sd_bus_message* m, void* self, sd_bus_error* err);
  static int on_connect_cb(sd_bus_message* m, void* self, sd_bus_error* err);
  static int on_notify_cb(sd_bus_message* m, void* self, sd_bus_error* err);
  static int on_write_cb(sd_bus_message* m, void* self, sd_bus_error* err);
  static int on_ignore_cb(sd_bus_message* m, void* self, sd_bus_error* err);
  static int on_signal_cb(sd_bus_message* m, void* self, sd_bus_error* err);

  sd_bus* bus_ = nullptr;
  std::vector<sd_bus_slot*> slots_;
  boost::asio::posix::stream_descriptor bus_fd_;
  boost::asio::steady_timer bus_timer_;
  boost::asio::steady_timer step_timer_;
  bool wait_read_ = false;
  bool wait_write_ = false;
  bool failing_ = false;
  bool in_process_ = false;  ///< inside sd_bus_process: the bus must not be freed now
  std::uint64_t generation_ = 0;
  Step step_ = Step::kIdle;
  bool discovering_ = false;
  std::string adapter_path_;
  std::string device_path_;
  std::string device_label_;
  std::string char_path_;
  std::string write_path_;
};

}  // namespace primus::adapters
