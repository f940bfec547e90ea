#pragma once
// The one enum <-> name mechanism of the configuration: a constexpr table of {value, "name"} per
// enum, read by the TOML parser (config_keys.h), by the error messages that list the allowed
// names, and by to_string() (config.h). A new enumerator gets its name here and nowhere else.
//
// Contract: std only; every name is a string literal, so enum_name(...).data() is
// NUL-terminated. Thread-safe (constant data).
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "src/config/config.h"

namespace primus {

/// Specialised for each enum the configuration spells: `static constexpr std::array kNames`
/// of {value, name} pairs, in the order the error messages list them.
template <typename E>
struct EnumNames;

template <typename E>
using NamePair = std::pair<E, std::string_view>;

template <>
struct EnumNames<AdapterKind> {
  static constexpr std::array kNames{
      NamePair<AdapterKind>{AdapterKind::kSim, "sim"},
      NamePair<AdapterKind>{AdapterKind::kReplay, "replay"},
      NamePair<AdapterKind>{AdapterKind::kSerial, "serial"},
      NamePair<AdapterKind>{AdapterKind::kUdp, "udp"},
      NamePair<AdapterKind>{AdapterKind::kBle, "ble"},
      NamePair<AdapterKind>{AdapterKind::kMqtt, "mqtt"},
  };
};
template <>
struct EnumNames<CodecKind> {
  static constexpr std::array kNames{
      NamePair<CodecKind>{CodecKind::kNone, "none"},
      NamePair<CodecKind>{CodecKind::kNative, "native"},
      NamePair<CodecKind>{CodecKind::kCsv, "csv"},
      NamePair<CodecKind>{CodecKind::kWitmotion, "witmotion"},
      NamePair<CodecKind>{CodecKind::kJson, "json"},
  };
};
template <>
struct EnumNames<Parity> {
  static constexpr std::array kNames{
      NamePair<Parity>{Parity::kNone, "none"},
      NamePair<Parity>{Parity::kOdd, "odd"},
      NamePair<Parity>{Parity::kEven, "even"},
  };
};
template <>
struct EnumNames<FlowControl> {
  static constexpr std::array kNames{
      NamePair<FlowControl>{FlowControl::kNone, "none"},
      NamePair<FlowControl>{FlowControl::kHardware, "hardware"},
      NamePair<FlowControl>{FlowControl::kSoftware, "software"},
  };
};
template <>
struct EnumNames<ReplayFormat> {
  static constexpr std::array kNames{
      NamePair<ReplayFormat>{ReplayFormat::kCsv, "csv"},
      NamePair<ReplayFormat>{ReplayFormat::kCmi, "cmi"},
      NamePair<ReplayFormat>{ReplayFormat::kCapture, "capture"},
  };
};
template <>
struct EnumNames<IdFrom> {
  static constexpr std::array kNames{
      NamePair<IdFrom>{IdFrom::kPayload, "payload"},
      NamePair<IdFrom>{IdFrom::kSender, "sender"},
  };
};
template <>
struct EnumNames<QuatOrder> {
  static constexpr std::array kNames{
      NamePair<QuatOrder>{QuatOrder::kWxyz, "wxyz"},
      NamePair<QuatOrder>{QuatOrder::kXyzw, "xyzw"},
  };
};
template <>
struct EnumNames<AccUnit> {
  static constexpr std::array kNames{
      NamePair<AccUnit>{AccUnit::kMps2, "m/s2"},
      NamePair<AccUnit>{AccUnit::kG, "g"},
  };
};
template <>
struct EnumNames<GyroUnit> {
  static constexpr std::array kNames{
      NamePair<GyroUnit>{GyroUnit::kRadPerSec, "rad/s"},
      NamePair<GyroUnit>{GyroUnit::kDegPerSec, "deg/s"},
  };
};
template <>
struct EnumNames<GyroSource> {
  static constexpr std::array kNames{
      NamePair<GyroSource>{GyroSource::kAuto, "auto"},
      NamePair<GyroSource>{GyroSource::kMeasured, "measured"},
      NamePair<GyroSource>{GyroSource::kFromQuaternion, "from_quaternion"},
  };
};
template <>
struct EnumNames<TimingMode> {
  static constexpr std::array kNames{
      NamePair<TimingMode>{TimingMode::kAuto, "auto"},
      NamePair<TimingMode>{TimingMode::kDevice, "device"},
      NamePair<TimingMode>{TimingMode::kCounter, "counter"},
      NamePair<TimingMode>{TimingMode::kArrival, "arrival"},
  };
};
template <>
struct EnumNames<EmbeddingChoice> {
  static constexpr std::array kNames{
      NamePair<EmbeddingChoice>{EmbeddingChoice::kMmcl, "mmcl"},
      NamePair<EmbeddingChoice>{EmbeddingChoice::kSsl, "ssl"},
      NamePair<EmbeddingChoice>{EmbeddingChoice::kEmb, "emb"},
  };
};
template <>
struct EnumNames<ModelBackend> {
  static constexpr std::array kNames{
      NamePair<ModelBackend>{ModelBackend::kNative, "native"},
      NamePair<ModelBackend>{ModelBackend::kLibTorch, "libtorch"},
  };
};
template <>
struct EnumNames<FinetuneMode> {
  static constexpr std::array kNames{
      NamePair<FinetuneMode>{FinetuneMode::kHead, "head"},
      NamePair<FinetuneMode>{FinetuneMode::kFull, "full"},
      NamePair<FinetuneMode>{FinetuneMode::kStaged, "staged"},
  };
};

/// Enums with a name table.
template <typename E>
concept NamedEnum = std::is_enum_v<E> && requires {
  EnumNames<E>::kNames;
};

/// The name of `v`, or "?" for a value outside the table.
template <NamedEnum E>
constexpr std::string_view enum_name(E v) noexcept {
  for (const auto& [value, name] : EnumNames<E>::kNames)
    if (value == v) return name;
  return "?";
}

/// The value named `name` (exact, case-sensitive), or nullopt.
template <NamedEnum E>
constexpr std::optional<E> enum_from_name(std::string_view name) noexcept {
  for (const auto& [value, n] : EnumNames<E>::kNames)
    if (n == name) return value;
  return std::nullopt;
}

/// "sim, replay, serial, udp, ble": the allowed names, for error messages.
template <NamedEnum E>
std::string enum_name_list() {
  std::string out;
  for (const auto& [value, name] : EnumNames<E>::kNames) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace primus
