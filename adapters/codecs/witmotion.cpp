#include "adapters/codecs/witmotion.h"

#include <cmath>
#include <cstring>

namespace primus::adapters::codecs {
namespace {

constexpr std::uint8_t kHeader = 0x55;
constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

/// Frame length for a type byte, 0 if the byte cannot follow 0x55.
std::size_t frame_length(std::uint8_t type) noexcept {
  if (type >= 0x50 && type <= 0x5F) return 11;
  if (type == 0x61 || type == 0x71) return 20;
  return 0;
}

inline std::int16_t i16(const std::uint8_t* p) noexcept {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(p[0] | (p[1] << 8)));
}

/// Z-Y-X (yaw, pitch, roll) Euler angles in degrees -> unit quaternion w, x, y, z.
void euler_to_quat(const float* rpy_deg, std::array<float, 4>& q) noexcept {
  const double cr = std::cos(rpy_deg[0] * kDegToRad / 2), sr = std::sin(rpy_deg[0] * kDegToRad / 2);
  const double cp = std::cos(rpy_deg[1] * kDegToRad / 2), sp = std::sin(rpy_deg[1] * kDegToRad / 2);
  const double cy = std::cos(rpy_deg[2] * kDegToRad / 2), sy = std::sin(rpy_deg[2] * kDegToRad / 2);
  q[0] = static_cast<float>(cr * cp * cy + sr * sp * sy);
  q[1] = static_cast<float>(sr * cp * cy - cr * sp * sy);
  q[2] = static_cast<float>(cr * sp * cy + sr * cp * sy);
  q[3] = static_cast<float>(cr * cp * sy - sr * sp * cy);
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

void WitmotionDecoder::reset(Sync) noexcept {
  len_ = 0;
  need_ = 0;
  garbage_run_ = false;
  group_ = Sample{};
  group_types_ = 0;
  group_angle_ = false;
  prev_type_ = -1;
  cycle_max_ = -1;
  // learned_max_ survives a reconnect: the device's cycle does not change with the link.
}

void WitmotionDecoder::feed(std::span<const std::uint8_t> bytes, const FrameSink& sink) noexcept {
  for (const std::uint8_t b : bytes) step(b, sink);
}

void WitmotionDecoder::finish(const FrameSink& sink) noexcept {
  if (len_ > 0) counters_.drop(DropReason::kTruncated);
  end_garbage();
  len_ = 0;
  need_ = 0;
  (void)sink;
}

void WitmotionDecoder::end_garbage() noexcept {
  if (garbage_run_) counters_.drop(DropReason::kGarbage);
  garbage_run_ = false;
}

void WitmotionDecoder::step(std::uint8_t b, const FrameSink& sink) noexcept {
  if (len_ == 0) {
    if (b != kHeader) {
      ++counters_.garbage_bytes;
      garbage_run_ = true;
      return;
    }
    buf_[len_++] = b;
    return;
  }
  if (len_ == 1) {
    need_ = frame_length(b);
    if (need_ == 0) {  // the 0x55 was noise; b may itself start a frame
      ++counters_.garbage_bytes;
      garbage_run_ = true;
      len_ = 0;
      step(b, sink);
      return;
    }
    end_garbage();
    buf_[len_++] = b;
    return;
  }
  buf_[len_++] = b;
  if (len_ < need_) return;
  if (need_ == 11) {
    unsigned sum = 0;
    for (int i = 0; i < 10; ++i) sum += buf_[i];
    if ((sum & 0xFFu) != buf_[10]) {
      counters_.drop(DropReason::kBadChecksum);
      resync();
      return;
    }
    frame11(sink);
  } else {
    frame20(sink);
  }
  len_ = 0;
  need_ = 0;
}

// After a bad checksum the frame start was wrong or the frame was damaged: look for the next
// plausible header inside the bytes already taken. Fewer than 11 bytes remain, so no frame can
// complete here.
void WitmotionDecoder::resync() noexcept {
  std::size_t k = 1;
  for (;;) {
    while (k < len_ && buf_[k] != kHeader) ++k;
    if (k >= len_) {
      len_ = 0;
      need_ = 0;
      return;
    }
    if (k + 1 < len_ && frame_length(buf_[k + 1]) == 0) {
      ++k;
      continue;
    }
    std::memmove(buf_, buf_ + k, len_ - k);
    len_ -= k;
    need_ = len_ >= 2 ? frame_length(buf_[1]) : 0;
    return;
  }
}

void WitmotionDecoder::frame11(const FrameSink& sink) noexcept {
  const int type = buf_[1];
  const std::uint8_t* d = buf_ + 2;
  // A type not above the previous one starts a new cycle: the previous cycle is complete.
  if (prev_type_ >= 0 && type <= prev_type_) {
    learned_max_ = cycle_max_;
    cycle_max_ = -1;
    if (group_types_) emit_group(sink);
  }
  prev_type_ = type;
  if (type > cycle_max_) cycle_max_ = type;
  group_types_ |= 1u << (type - 0x50);
  switch (type) {
    case 0x50: {
      const unsigned yy = d[0], mo = d[1], dd = d[2], hh = d[3], mi = d[4], ss = d[5];
      const unsigned ms = static_cast<unsigned>(d[6] | (d[7] << 8));
      if (mo >= 1 && mo <= 12 && dd >= 1 && dd <= 31 && hh < 24 && mi < 60 && ss < 60 &&
          ms < 1000) {
        const std::int64_t days = days_from_civil(2000 + yy, mo, dd) - days_from_civil(2000, 1, 1);
        group_.t_device_us = ((days * 86400 + hh * 3600 + mi * 60 + ss) * 1000 + ms) * 1000;
        group_.fields |= kFieldTDevice;
      }
      break;
    }
    case 0x51:
      for (int i = 0; i < 3; ++i)
        group_.acc[i] = static_cast<float>(i16(d + 2 * i) / 32768.0 * 16.0);
      group_.fields |= kFieldAcc;
      break;
    case 0x52:
      for (int i = 0; i < 3; ++i)
        group_.gyro[i] = static_cast<float>(i16(d + 2 * i) / 32768.0 * 2000.0);
      group_.fields |= kFieldGyro;
      break;
    case 0x53:
      for (int i = 0; i < 3; ++i)
        angle_deg_[i] = static_cast<float>(i16(d + 2 * i) / 32768.0 * 180.0);
      group_angle_ = true;
      break;
    case 0x54:
      for (int i = 0; i < 3; ++i) group_.mag[i] = static_cast<float>(i16(d + 2 * i));
      group_.fields |= kFieldMag;
      break;
    case 0x59:
      for (int i = 0; i < 4; ++i) group_.quat[i] = static_cast<float>(i16(d + 2 * i) / 32768.0);
      group_.fields |= kFieldQuat;
      break;
    default:
      break;  // pressure, GPS, port status...: valid, not used
  }
  if (type == learned_max_) emit_group(sink);
}

void WitmotionDecoder::emit_group(const FrameSink& sink) noexcept {
  if (group_angle_ && !(group_.fields & kFieldQuat)) {
    euler_to_quat(angle_deg_, group_.quat);
    group_.fields |= kFieldQuat;
  }
  if (group_.fields & kFieldAcc) {
    Decoded out;
    out.sample = group_;
    ++counters_.frames;
    sink(out);
  } else {
    counters_.drop(DropReason::kBadValue);
  }
  group_ = Sample{};
  group_types_ = 0;
  group_angle_ = false;
}

void WitmotionDecoder::frame20(const FrameSink& sink) noexcept {
  if (buf_[1] != 0x61) return;  // 0x71: a register reply, not a sample
  const std::uint8_t* d = buf_ + 2;
  Decoded out;
  Sample& s = out.sample;
  for (int i = 0; i < 3; ++i) {
    s.acc[i] = static_cast<float>(i16(d + 2 * i) / 32768.0 * 16.0);
    s.gyro[i] = static_cast<float>(i16(d + 6 + 2 * i) / 32768.0 * 2000.0);
  }
  float rpy[3];
  for (int i = 0; i < 3; ++i) rpy[i] = static_cast<float>(i16(d + 12 + 2 * i) / 32768.0 * 180.0);
  euler_to_quat(rpy, s.quat);
  s.fields = kFieldAcc | kFieldGyro | kFieldQuat;
  ++counters_.frames;
  sink(out);
}

}  // namespace primus::adapters::codecs
