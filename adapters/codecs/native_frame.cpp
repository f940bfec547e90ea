#include "adapters/codecs/native_frame.h"

#include <bit>
#include <cstring>
#include <limits>

#include "adapters/codecs/crc32c.h"

namespace primus::adapters::codecs {
namespace {

inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
inline std::uint64_t load_u64(const std::uint8_t* p) noexcept {
  return static_cast<std::uint64_t>(load_u32(p)) | static_cast<std::uint64_t>(load_u32(p + 4))
                                                       << 32;
}
inline void store_u32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v >> 16);
  p[3] = static_cast<std::uint8_t>(v >> 24);
}
inline const std::uint8_t* load_floats(const std::uint8_t* p, float* out, int n) noexcept {
  for (int i = 0; i < n; ++i, p += 4) out[i] = std::bit_cast<float>(load_u32(p));
  return p;
}
inline std::uint8_t* store_floats(std::uint8_t* p, const float* in, int n) noexcept {
  for (int i = 0; i < n; ++i, p += 4) store_u32(p, std::bit_cast<std::uint32_t>(in[i]));
  return p;
}

}  // namespace

namespace native {

std::size_t build_payload(const Frame& f, std::uint8_t* out) noexcept {
  out[0] = kVersion;
  out[1] = f.fields & 0x0F;
  out[2] = static_cast<std::uint8_t>(f.device_id);
  out[3] = static_cast<std::uint8_t>(f.device_id >> 8);
  store_u32(out + 4, f.seq);
  store_u32(out + 8, static_cast<std::uint32_t>(f.t_device_us));
  store_u32(out + 12, static_cast<std::uint32_t>(f.t_device_us >> 32));
  std::uint8_t* p = out + kHeaderBytes;
  if (f.fields & kFieldAcc) p = store_floats(p, f.acc, 3);
  if (f.fields & kFieldGyro) p = store_floats(p, f.gyro, 3);
  if (f.fields & kFieldQuat) p = store_floats(p, f.quat, 4);
  if (f.fields & kFieldMag) p = store_floats(p, f.mag, 3);
  const auto n = static_cast<std::size_t>(p - out);
  store_u32(p, crc32c(out, n));
  return n + kCrcBytes;
}

std::size_t cobs_encode(const std::uint8_t* in, std::size_t n, std::uint8_t* out) noexcept {
  std::size_t code_pos = 0;
  std::size_t o = 1;
  std::uint8_t code = 1;
  for (std::size_t i = 0; i < n; ++i) {
    if (in[i] == 0) {
      out[code_pos] = code;
      code_pos = o++;
      code = 1;
    } else {
      out[o++] = in[i];
      if (++code == 0xFF) {
        out[code_pos] = code;
        code_pos = o++;
        code = 1;
      }
    }
  }
  out[code_pos] = code;
  return o;
}

std::size_t encode(const Frame& f, std::uint8_t* out) noexcept {
  std::uint8_t payload[kMaxPayload];
  const std::size_t n = build_payload(f, payload);
  const std::size_t e = cobs_encode(payload, n, out);
  out[e] = 0;
  return e + 1;
}

}  // namespace native

void NativeDecoder::reset(Sync sync) noexcept {
  len_ = 0;
  overlong_ = false;
  hunting_ = sync == Sync::kHunt;
  garbage_run_ = false;
}

void NativeDecoder::feed(std::span<const std::uint8_t> bytes, const FrameSink& sink) noexcept {
  const std::uint8_t* p = bytes.data();
  const std::uint8_t* const end = p + bytes.size();
  while (p < end) {
    const auto* z =
        static_cast<const std::uint8_t*>(std::memchr(p, 0, static_cast<std::size_t>(end - p)));
    const std::uint8_t* stop = z ? z : end;
    const auto n = static_cast<std::size_t>(stop - p);
    if (hunting_) {
      counters_.garbage_bytes += n;
      garbage_run_ = garbage_run_ || n > 0;
      if (!z) return;
      if (garbage_run_) counters_.drop(DropReason::kGarbage);
      hunting_ = false;
      garbage_run_ = false;
      p = z + 1;
      continue;
    }
    if (z && len_ == 0 && !overlong_) {
      // Fast path: the whole frame lies in this chunk; decode it in place.
      if (n > native::kMaxEncoded) {
        counters_.drop(DropReason::kBadLength);
      } else if (n > 0) {
        decode(p, n, sink);
      }
      p = z + 1;
      continue;
    }
    if (!overlong_) {
      if (len_ + n > native::kMaxEncoded) {
        overlong_ = true;  // absurd length: keep nothing, wait for the delimiter
      } else {
        std::memcpy(buf_ + len_, p, n);
        len_ += n;
      }
    }
    if (!z) return;
    if (overlong_) {
      counters_.drop(DropReason::kBadLength);
    } else if (len_ > 0) {
      decode(buf_, len_, sink);
    }
    len_ = 0;
    overlong_ = false;
    p = z + 1;
  }
}

void NativeDecoder::finish(const FrameSink& sink) noexcept {
  if (hunting_) {
    if (garbage_run_) counters_.drop(DropReason::kGarbage);
  } else if (overlong_) {
    counters_.drop(DropReason::kBadLength);
  } else if (len_ > 0) {
    decode(buf_, len_, sink);  // a datagram may omit the trailing delimiter
  }
  len_ = 0;
  overlong_ = false;
  garbage_run_ = false;
}

void NativeDecoder::decode(const std::uint8_t* enc, std::size_t n, const FrameSink& sink) noexcept {
  using namespace native;
  std::uint8_t out[kMaxPayload];
  std::size_t o = 0;
  std::size_t i = 0;
  while (i < n) {
    const std::uint8_t code = enc[i++];  // never 0: zeros end the frame before we get here
    const std::size_t run = code - 1u;
    if (i + run > n) {
      counters_.drop(DropReason::kTruncated);  // the code byte promised more than arrived
      return;
    }
    if (o + run > kMaxPayload) {
      counters_.drop(DropReason::kBadLength);
      return;
    }
    std::memcpy(out + o, enc + i, run);
    o += run;
    i += run;
    if (code != 0xFF && i < n) {
      if (o >= kMaxPayload) {
        counters_.drop(DropReason::kBadLength);
        return;
      }
      out[o++] = 0;
    }
  }
  if (o < kHeaderBytes + kCrcBytes) {
    counters_.drop(DropReason::kTruncated);
    return;
  }
  // The CRC sits at the end of whatever arrived, so it is checked before trusting any header byte.
  if (crc32c(out, o - kCrcBytes) != load_u32(out + o - kCrcBytes)) {
    counters_.drop(DropReason::kBadChecksum);
    return;
  }
  const std::uint8_t fields = out[1];
  if (out[0] != kVersion || (fields & 0xF0) != 0) {
    counters_.drop(DropReason::kBadVersion);
    return;
  }
  if (o != payload_bytes(fields)) {
    counters_.drop(DropReason::kBadLength);
    return;
  }
  const std::uint64_t t_us = load_u64(out + 8);
  if (fields == 0 || t_us > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    counters_.drop(DropReason::kBadValue);
    return;
  }
  Decoded d;
  d.device_id = static_cast<std::uint32_t>(out[2]) | static_cast<std::uint32_t>(out[3]) << 8;
  d.has_device_id = true;
  Sample& s = d.sample;
  s.seq = load_u32(out + 4);
  s.t_device_us = static_cast<std::int64_t>(t_us);
  s.fields = static_cast<std::uint8_t>(fields | kFieldSeq | kFieldTDevice);
  const std::uint8_t* p = out + kHeaderBytes;
  if (fields & native::kFieldAcc) p = load_floats(p, s.acc.data(), 3);
  if (fields & native::kFieldGyro) p = load_floats(p, s.gyro.data(), 3);
  if (fields & native::kFieldQuat) p = load_floats(p, s.quat.data(), 4);
  if (fields & native::kFieldMag) load_floats(p, s.mag.data(), 3);
  ++counters_.frames;
  sink(d);
}

}  // namespace primus::adapters::codecs
