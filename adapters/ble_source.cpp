#include "adapters/ble_source.h"

#include <poll.h>
#include <systemd/sd-bus.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstring>

namespace primus::adapters {
namespace asio = boost::asio;
namespace {

constexpr const char* kBluez = "org.bluez";
constexpr const char* kDeviceIface = "org.bluez.Device1";
constexpr const char* kAdapterIface = "org.bluez.Adapter1";
constexpr const char* kServiceIface = "org.bluez.GattService1";
constexpr const char* kCharIface = "org.bluez.GattCharacteristic1";
constexpr const char* kPropsIface = "org.freedesktop.DBus.Properties";

std::string errno_text(int r) { return std::strerror(r < 0 ? -r : r); }

std::string reply_error(sd_bus_message* m) {
  const sd_bus_error* e = sd_bus_message_get_error(m);
  if (!e) return "unknown error";
  return std::string(e->name ? e->name : "?") + ": " + (e->message ? e->message : "");
}

/// Properties of one interface of one object that the BLE source cares about.
struct Props {
  std::string address, name, alias, uuid, adapter, device, service;
  int connected = -1;
  int resolved = -1;
  const void* value = nullptr;
  std::size_t value_len = 0;
  bool has_value = false;
};

bool lower_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

/// Reads an a{sv} at the read pointer into p. Returns < 0 on a malformed message.
int read_props(sd_bus_message* m, Props& p) {
  int r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
    const char* key = nullptr;
    if ((r = sd_bus_message_read(m, "s", &key)) < 0) return r;
    const char* contents = nullptr;
    if ((r = sd_bus_message_peek_type(m, nullptr, &contents)) < 0) return r;
    if ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents)) < 0) return r;
    const std::string k = key;
    if ((std::strcmp(contents, "s") == 0 || std::strcmp(contents, "o") == 0)) {
      const char* v = nullptr;
      if ((r = sd_bus_message_read_basic(m, contents[0], &v)) < 0) return r;
      if (k == "Address")
        p.address = v;
      else if (k == "Name")
        p.name = v;
      else if (k == "Alias")
        p.alias = v;
      else if (k == "UUID")
        p.uuid = v;
      else if (k == "Adapter")
        p.adapter = v;
      else if (k == "Device")
        p.device = v;
      else if (k == "Service")
        p.service = v;
    } else if (std::strcmp(contents, "b") == 0) {
      int v = 0;
      if ((r = sd_bus_message_read_basic(m, 'b', &v)) < 0) return r;
      if (k == "Connected")
        p.connected = v;
      else if (k == "ServicesResolved")
        p.resolved = v;
    } else if (std::strcmp(contents, "ay") == 0 && k == "Value") {
      if ((r = sd_bus_message_read_array(m, 'y', &p.value, &p.value_len)) < 0) return r;
      p.has_value = true;
    } else {
      if ((r = sd_bus_message_skip(m, contents)) < 0) return r;
    }
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;  // variant
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;  // dict entry
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

}  // namespace

BleSource::BleSource(const DeviceConfig& dev, std::uint32_t index, SourceContext ctx)
    : LinkSource(
          dev, index, std::move(ctx), codecs::Sync::kAligned,
          "BLE device " + (dev.ble_address.empty() ? "\"" + dev.ble_name + "\"" : dev.ble_address)),
      bus_fd_(ctx_.io),
      bus_timer_(ctx_.io),
      step_timer_(ctx_.io),
      adapter_path_("/org/bluez/" + dev.ble_adapter) {}

BleSource::~BleSource() { close_link(); }

// ---- bus plumbing ----------------------------------------------------------------------------

void BleSource::close_link() noexcept {
  ++generation_;
  step_ = Step::kIdle;
  failing_ = false;
  discovering_ = false;
  step_timer_.cancel();
  bus_timer_.cancel();
  if (bus_fd_.is_open()) {
    boost::system::error_code ec;
    bus_fd_.cancel(ec);
    (void)bus_fd_.release();  // the fd belongs to sd-bus
  }
  wait_read_ = wait_write_ = false;
  auto free_bus = [bus = bus_, slots = std::move(slots_)]() mutable {
    for (auto* s : slots) sd_bus_slot_unref(s);  // cancels pending calls and matches
    if (bus) sd_bus_close_unref(bus);
  };
  slots_.clear();
  bus_ = nullptr;
  if (in_process_) {
    // Called from a callback that sd_bus_process is running (e.g. stop() from a sample sink):
    // free the connection once that call has returned.
    asio::post(ctx_.io, std::move(free_bus));
  } else {
    free_bus();
  }
  device_path_.clear();
  char_path_.clear();
  write_path_.clear();
}

void BleSource::fail_soon(const std::string& why) {
  if (failing_) return;
  failing_ = true;
  // Never tear the bus down from inside sd_bus_process: do it from a fresh handler.
  asio::post(ctx_.io, [this, gen = generation_, why] {
    if (gen == generation_) link_failed(why);
  });
}

void BleSource::pump() {
  if (!bus_) return;
  const auto gen = generation_;
  for (int i = 0; i < 1024; ++i) {  // bounded: let other io handlers run under a message flood
    in_process_ = true;
    const int r = sd_bus_process(bus_, nullptr);
    in_process_ = false;
    if (gen != generation_ || !bus_) return;
    if (r < 0) {
      fail_soon("D-Bus connection: " + errno_text(r));
      return;
    }
    if (r == 0) break;
  }
  arm_bus();
}

void BleSource::arm_bus() {
  if (!bus_ || failing_) return;
  const int events = sd_bus_get_events(bus_);
  if (events < 0) {
    fail_soon("D-Bus connection: " + errno_text(events));
    return;
  }
  const auto gen = generation_;
  if (!wait_read_) {
    wait_read_ = true;
    bus_fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [this, gen](const boost::system::error_code& ec) {
                         if (gen != generation_) return;
                         wait_read_ = false;
                         if (!ec) pump();
                       });
  }
  if ((events & POLLOUT) && !wait_write_) {
    wait_write_ = true;
    bus_fd_.async_wait(asio::posix::stream_descriptor::wait_write,
                       [this, gen](const boost::system::error_code& ec) {
                         if (gen != generation_) return;
                         wait_write_ = false;
                         if (!ec) pump();
                       });
  }
  std::uint64_t until_us = 0;
  if (sd_bus_get_timeout(bus_, &until_us) >= 0 && until_us != UINT64_MAX) {
    // sd-bus reports CLOCK_MONOTONIC µs, which is what steady_clock reads on Linux.
    bus_timer_.expires_at(
        std::chrono::steady_clock::time_point(std::chrono::microseconds(until_us)));
    bus_timer_.async_wait([this, gen](const boost::system::error_code& ec) {
      if (!ec && gen == generation_) pump();
    });
  }
}

sd_bus_message* BleSource::new_call(const std::string& path, const char* iface,
                                    const char* member) {
  sd_bus_message* m = nullptr;
  const int r = sd_bus_message_new_method_call(bus_, &m, kBluez, path.c_str(), iface, member);
  if (r < 0) {
    fail_soon(std::string(member) + ": " + errno_text(r));
    return nullptr;
  }
  return m;
}

bool BleSource::send(sd_bus_message* m, sd_bus_message_handler_t cb, std::uint64_t timeout_us) {
  if (!m) return false;
  sd_bus_slot* slot = nullptr;
  const int r = sd_bus_call_async(bus_, &slot, m, cb, this, timeout_us);
  sd_bus_message_unref(m);
  if (r < 0) {
    fail_soon("D-Bus call: " + errno_text(r));
    return false;
  }
  slots_.push_back(slot);
  return true;
}

void BleSource::arm_step_timer() {
  step_timer_.expires_after(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(dev_.ble_connect_timeout_s)));
  step_timer_.async_wait(
      [this, gen = generation_, step = step_](const boost::system::error_code& ec) {
        if (ec || gen != generation_ || step != step_) return;
        static constexpr const char* names[] = {"idle",
                                                "finding the device",
                                                "connecting",
                                                "resolving services",
                                                "starting notifications",
                                                "writing the command",
                                                "up"};
        fail_soon(std::string("timed out ") + names[static_cast<int>(step_)]);
      });
}

// ---- connection steps ------------------------------------------------------------------------

void BleSource::open_link() {
  ++generation_;
  failing_ = false;
  int r = sd_bus_open_system(&bus_);
  if (r < 0) {
    bus_ = nullptr;
    link_failed("cannot connect to the system D-Bus: " + errno_text(r));
    return;
  }
  boost::system::error_code ec;
  bus_fd_.assign(sd_bus_get_fd(bus_), ec);
  if (ec) {
    link_failed("cannot watch the D-Bus socket: " + ec.message());
    return;
  }
  // Matches are sent before GetManagedObjects on the same connection, so the bus installs them
  // first and no change between the snapshot and the subscription is missed.
  for (const char* match :
       {"type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',member='"
        "PropertiesChanged'",
        "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.ObjectManager'"}) {
    sd_bus_slot* slot = nullptr;
    r = sd_bus_add_match_async(bus_, &slot, match, &BleSource::on_signal_cb, nullptr, this);
    if (r < 0) {
      link_failed("cannot subscribe to BlueZ signals: " + errno_text(r));
      return;
    }
    slots_.push_back(slot);
  }
  step_ = Step::kFindDevice;
  arm_step_timer();
  get_objects();
  pump();
}

void BleSource::get_objects() {
  send(new_call("/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"),
       &BleSource::on_objects_cb, static_cast<std::uint64_t>(dev_.ble_connect_timeout_s * 1e6));
}

int BleSource::on_objects_cb(sd_bus_message* m, void* self, sd_bus_error*) {
  static_cast<BleSource*>(self)->on_objects(m);
  return 0;
}

void BleSource::on_objects(sd_bus_message* m) {
  if (sd_bus_message_is_method_error(m, nullptr)) {
    fail_soon("GetManagedObjects: " + reply_error(m));
    return;
  }
  struct Obj {
    std::string path;
    Props device, service, chr;
    bool is_device = false, is_service = false, is_char = false, is_adapter = false;
  };
  std::vector<Obj> objs;  // one snapshot per connection step, not per sample
  int r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{oa{sa{sv}}}");
  while (r >= 0 &&
         (r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "oa{sa{sv}}")) > 0) {
    const char* path = nullptr;
    if ((r = sd_bus_message_read(m, "o", &path)) < 0) break;
    Obj o;
    o.path = path;
    if ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sa{sv}}")) < 0) break;
    while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sa{sv}")) > 0) {
      const char* iface = nullptr;
      if ((r = sd_bus_message_read(m, "s", &iface)) < 0) break;
      Props* target = nullptr;
      Props scratch;
      if (std::strcmp(iface, kDeviceIface) == 0)
        target = &o.device, o.is_device = true;
      else if (std::strcmp(iface, kServiceIface) == 0)
        target = &o.service, o.is_service = true;
      else if (std::strcmp(iface, kCharIface) == 0)
        target = &o.chr, o.is_char = true;
      else if (std::strcmp(iface, kAdapterIface) == 0)
        o.is_adapter = true;
      if ((r = read_props(m, target ? *target : scratch)) < 0) break;
      if ((r = sd_bus_message_exit_container(m)) < 0) break;
    }
    if (r < 0) break;
    if ((r = sd_bus_message_exit_container(m)) < 0) break;
    if ((r = sd_bus_message_exit_container(m)) < 0) break;
    objs.push_back(std::move(o));
  }
  if (r < 0) {
    fail_soon("GetManagedObjects: malformed reply (" + errno_text(r) + ")");
    return;
  }

  if (step_ == Step::kFindDevice) {
    bool adapter_seen = false;
    for (const auto& o : objs) {
      adapter_seen = adapter_seen || (o.is_adapter && o.path == adapter_path_);
      if (!o.is_device || o.device.adapter != adapter_path_) continue;
      const bool match = !dev_.ble_address.empty()
                             ? lower_equal(o.device.address, dev_.ble_address)
                             : (o.device.name == dev_.ble_name || o.device.alias == dev_.ble_name);
      if (!match) continue;
      device_path_ = o.path;
      device_label_ =
          o.device.address + (o.device.alias.empty() ? "" : " (" + o.device.alias + ")");
      step_ = Step::kConnect;
      arm_step_timer();
      if (o.device.connected == 1) {
        step_ = Step::kFindChar;
        arm_step_timer();
      } else {
        connect_device();
        return;
      }
      break;
    }
    if (step_ == Step::kFindDevice) {
      if (!adapter_seen) {
        fail_soon("no Bluetooth adapter " + adapter_path_);
        return;
      }
      if (!discovering_) {  // not known yet: scan until it shows up (InterfacesAdded)
        discovering_ = true;
        send(new_call(adapter_path_, kAdapterIface, "StartDiscovery"), &BleSource::on_ignore_cb,
             5'000'000);
      }
      return;
    }
  }
  if (step_ == Step::kFindChar) {
    std::string service_path;
    for (const auto& o : objs)
      if (o.is_service && o.service.device == device_path_ &&
          lower_equal(o.service.uuid, dev_.ble_service_uuid))
        service_path = o.path;
    if (service_path.empty()) return;  // services not resolved yet: wait for signals
    for (const auto& o : objs) {
      if (!o.is_char || o.chr.service != service_path) continue;
      if (lower_equal(o.chr.uuid, dev_.ble_char_uuid)) char_path_ = o.path;
      if (!dev_.ble_write_uuid.empty() && lower_equal(o.chr.uuid, dev_.ble_write_uuid))
        write_path_ = o.path;
    }
    if (!dev_.ble_write_uuid.empty() && write_path_.empty()) {
      // The write characteristic may sit in another service of the same device.
      for (const auto& o : objs)
        if (o.is_char && o.path.rfind(device_path_ + "/", 0) == 0 &&
            lower_equal(o.chr.uuid, dev_.ble_write_uuid))
          write_path_ = o.path;
    }
    if (char_path_.empty()) {
      fail_soon("service " + dev_.ble_service_uuid + " has no characteristic " +
                dev_.ble_char_uuid);
      return;
    }
    if (!dev_.ble_write_uuid.empty() && write_path_.empty()) {
      fail_soon("no write characteristic " + dev_.ble_write_uuid);
      return;
    }
    start_notify();
  }
}

void BleSource::connect_device() {
  if (discovering_) {
    discovering_ = false;
    send(new_call(adapter_path_, kAdapterIface, "StopDiscovery"), &BleSource::on_ignore_cb,
         5'000'000);
  }
  send(new_call(device_path_, kDeviceIface, "Connect"), &BleSource::on_connect_cb,
       static_cast<std::uint64_t>(dev_.ble_connect_timeout_s * 1e6));
}

int BleSource::on_connect_cb(sd_bus_message* m, void* p, sd_bus_error*) {
  auto* self = static_cast<BleSource*>(p);
  if (self->step_ != Step::kConnect) return 0;
  if (sd_bus_message_is_method_error(m, nullptr) &&
      !sd_bus_message_is_method_error(m, "org.bluez.Error.AlreadyConnected")) {
    self->fail_soon("Connect: " + reply_error(m));
    return 0;
  }
  self->step_ = Step::kFindChar;
  self->arm_step_timer();
  self->get_objects();
  return 0;
}

void BleSource::start_notify() {
  step_ = Step::kStartNotify;
  arm_step_timer();
  send(new_call(char_path_, kCharIface, "StartNotify"), &BleSource::on_notify_cb,
       static_cast<std::uint64_t>(dev_.ble_connect_timeout_s * 1e6));
}

int BleSource::on_notify_cb(sd_bus_message* m, void* p, sd_bus_error*) {
  auto* self = static_cast<BleSource*>(p);
  if (self->step_ != Step::kStartNotify) return 0;
  if (sd_bus_message_is_method_error(m, nullptr) &&
      !sd_bus_message_is_method_error(m, "org.bluez.Error.InProgress")) {
    self->fail_soon("StartNotify: " + reply_error(m));
    return 0;
  }
  if (!self->write_path_.empty()) {
    self->write_command();
    return 0;
  }
  self->step_ = Step::kUp;
  self->step_timer_.cancel();
  self->link_up("BLE " + self->device_label_ + ", notifications from " + self->dev_.ble_char_uuid);
  return 0;
}

void BleSource::write_command() {
  step_ = Step::kWrite;
  arm_step_timer();
  sd_bus_message* m = new_call(write_path_, kCharIface, "WriteValue");
  if (!m) return;
  int r =
      sd_bus_message_append_array(m, 'y', dev_.ble_write_bytes.data(), dev_.ble_write_bytes.size());
  if (r >= 0) r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
  if (r >= 0) r = sd_bus_message_close_container(m);
  if (r < 0) {
    sd_bus_message_unref(m);
    fail_soon("WriteValue: " + errno_text(r));
    return;
  }
  send(m, &BleSource::on_write_cb, static_cast<std::uint64_t>(dev_.ble_connect_timeout_s * 1e6));
}

int BleSource::on_write_cb(sd_bus_message* m, void* p, sd_bus_error*) {
  auto* self = static_cast<BleSource*>(p);
  if (self->step_ != Step::kWrite) return 0;
  if (sd_bus_message_is_method_error(m, nullptr)) {
    self->fail_soon("WriteValue: " + reply_error(m));
    return 0;
  }
  self->step_ = Step::kUp;
  self->step_timer_.cancel();
  self->link_up("BLE " + self->device_label_ + ", notifications from " + self->dev_.ble_char_uuid +
                ", command written to " + self->dev_.ble_write_uuid);
  return 0;
}

int BleSource::on_ignore_cb(sd_bus_message*, void*, sd_bus_error*) { return 0; }

int BleSource::on_signal_cb(sd_bus_message* m, void* p, sd_bus_error*) {
  static_cast<BleSource*>(p)->on_signal(m);
  return 0;
}

void BleSource::on_signal(sd_bus_message* m) {
  if (failing_) return;
  const char* path = sd_bus_message_get_path(m);
  if (!path) return;
  if (sd_bus_message_is_signal(m, kPropsIface, "PropertiesChanged")) {
    const char* iface = nullptr;
    if (sd_bus_message_read(m, "s", &iface) < 0) return;
    if (std::strcmp(iface, kCharIface) == 0) {
      if (step_ != Step::kUp || char_path_ != path) return;
      Props p;
      if (read_props(m, p) < 0 || !p.has_value) return;
      on_bytes({static_cast<const std::uint8_t*>(p.value), p.value_len});  // hot path: no copy
      return;
    }
    if (std::strcmp(iface, kDeviceIface) != 0 || device_path_ != path) return;
    Props p;
    if (read_props(m, p) < 0) return;
    if (p.connected == 0 && step_ != Step::kFindDevice && step_ != Step::kConnect) {
      fail_soon("disconnected");
      return;
    }
    if (step_ == Step::kFindChar && p.resolved == 1) get_objects();
    return;
  }
  if (sd_bus_message_is_signal(m, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved")) {
    const char* obj = nullptr;
    if (sd_bus_message_read(m, "o", &obj) < 0 || !obj) return;
    if (!device_path_.empty() && device_path_ == obj)
      fail_soon("device removed");
    else if (!char_path_.empty() && char_path_ == obj)
      fail_soon("characteristic removed");
    return;
  }
  if (sd_bus_message_is_signal(m, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded")) {
    // A device we scan for, or the services of the device being resolved: look again.
    if (step_ == Step::kFindDevice || step_ == Step::kFindChar) get_objects();
  }
}

}  // namespace primus::adapters
