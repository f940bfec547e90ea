#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "adapters/codecs/crc32c.h"
#include "adapters/codecs/native_frame.h"
#include "alloc_counter.h"

namespace primus::adapters::codecs {
namespace {

using Bytes = std::vector<std::uint8_t>;

native::Frame frame(std::uint32_t seq, std::uint8_t fields = native::kFieldAcc | native::kFieldGyro,
                    std::uint16_t id = 7) {
  native::Frame f;
  f.fields = fields;
  f.device_id = id;
  f.seq = seq;
  f.t_device_us = 1'000'000'000'000ull + seq * 10'000ull;  // > 2^32: both halves matter
  for (int i = 0; i < 3; ++i) {
    f.acc[i] = 0.5f * static_cast<float>(i) - 9.81f + static_cast<float>(seq);
    f.gyro[i] = -0.25f * static_cast<float>(i + 1);
    f.mag[i] = 40.0f + static_cast<float>(i);
  }
  f.quat[0] = 0.0f;  // a zero byte inside the payload: COBS must carry it
  f.quat[1] = 1.0f;
  return f;
}

Bytes wire(const native::Frame& f) {
  Bytes b(native::kMaxWire);
  b.resize(native::encode(f, b.data()));
  return b;
}

Bytes stream(int n, std::uint32_t first = 0) {
  Bytes out{0x00};  // a sender starts with a delimiter so the first frame is not skipped
  for (int i = 0; i < n; ++i) {
    const auto w = wire(frame(first + static_cast<std::uint32_t>(i)));
    out.insert(out.end(), w.begin(), w.end());
  }
  return out;
}

struct Collect {
  std::vector<Decoded> got;
  void operator()(const Decoded& d) { got.push_back(d); }
};

std::vector<Decoded> decode_all(NativeDecoder& dec, const Bytes& b) {
  Collect c;
  dec.feed(b, c);
  return c.got;
}

TEST(Crc32c, CheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(crc32c(reinterpret_cast<const std::uint8_t*>(s), 9), 0xE3069283u);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
  // Slice-by-8 and the byte loop agree at every length and alignment.
  std::vector<std::uint8_t> buf(64);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::uint8_t>(i * 37 + 1);
  for (std::size_t len = 0; len < 40; ++len) {
    std::uint32_t c = 0xFFFFFFFFu;  // bitwise reference
    for (std::size_t i = 0; i < len; ++i) {
      c ^= buf[3 + i];
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    EXPECT_EQ(crc32c(buf.data() + 3, len), c ^ 0xFFFFFFFFu) << len;
  }
}

TEST(NativeFrame, KnownBytesMatchTheSpecification) {
  // The example of docs/protocol.md: device 1, seq 2, t = 3 µs, acc (1, 0, -1) m/s².
  native::Frame f;
  f.fields = native::kFieldAcc;
  f.device_id = 1;
  f.seq = 2;
  f.t_device_us = 3;
  f.acc[0] = 1.0f;
  f.acc[1] = 0.0f;
  f.acc[2] = -1.0f;
  std::uint8_t payload[native::kMaxPayload];
  ASSERT_EQ(native::build_payload(f, payload), 32u);
  const Bytes head(payload, payload + 28);
  EXPECT_EQ(head, (Bytes{0x01, 0x01, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0,
                         0,    0,    0,    0,    0,    0,    0x00, 0x00, 0x80, 0x3F,
                         0,    0,    0,    0,    0x00, 0x00, 0x80, 0xBF}));
  const std::uint32_t crc = crc32c(payload, 28);
  EXPECT_EQ(payload[28] | payload[29] << 8 | payload[30] << 16 |
                static_cast<std::uint32_t>(payload[31]) << 24,
            crc);
  const Bytes w = wire(f);
  EXPECT_EQ(w.back(), 0x00);
  EXPECT_EQ(std::count(w.begin(), w.end(), 0), 1);  // the only zero is the delimiter
  EXPECT_EQ(w.size(), 32u + 2u);
}

TEST(NativeFrame, RoundTripsEveryFieldCombination) {
  for (std::uint8_t fields = 1; fields < 16; ++fields) {
    SCOPED_TRACE(static_cast<int>(fields));
    const auto f = frame(42, fields, 65535);
    NativeDecoder dec(Sync::kAligned);
    const auto got = decode_all(dec, wire(f));
    ASSERT_EQ(got.size(), 1u);
    const auto& d = got[0];
    EXPECT_TRUE(d.has_device_id);
    EXPECT_EQ(d.device_id, 65535u);
    const Sample& s = d.sample;
    EXPECT_EQ(s.seq, 42u);
    EXPECT_EQ(s.t_device_us, static_cast<std::int64_t>(f.t_device_us));
    EXPECT_EQ(s.fields & 0x0F, fields);
    EXPECT_TRUE(s.has(kFieldSeq) && s.has(kFieldTDevice));
    for (int i = 0; i < 3; ++i) {
      if (fields & native::kFieldAcc) {
        EXPECT_EQ(s.acc[i], f.acc[i]);
      }
      if (fields & native::kFieldGyro) {
        EXPECT_EQ(s.gyro[i], f.gyro[i]);
      }
      if (fields & native::kFieldMag) {
        EXPECT_EQ(s.mag[i], f.mag[i]);
      }
    }
    if (fields & native::kFieldQuat) {
      for (int i = 0; i < 4; ++i) EXPECT_EQ(s.quat[i], f.quat[i]);
    }
    EXPECT_EQ(dec.counters().dropped_total(), 0u);
  }
}

TEST(NativeFrame, EverySplitPointGivesTheSameFrames) {
  const Bytes s = stream(3);
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    NativeDecoder dec;
    Collect c;
    dec.feed({s.data(), cut}, c);
    dec.feed({s.data() + cut, s.size() - cut}, c);
    ASSERT_EQ(c.got.size(), 3u) << "cut at " << cut;
    for (std::uint32_t i = 0; i < 3; ++i) EXPECT_EQ(c.got[i].sample.seq, i);
    EXPECT_EQ(dec.counters().dropped_total(), 0u);
  }
  NativeDecoder dec;  // one byte at a time
  Collect c;
  for (auto b : s) dec.feed({&b, 1}, c);
  EXPECT_EQ(c.got.size(), 3u);
}

TEST(NativeFrame, StartingMidStreamSkipsToTheFirstDelimiter) {
  Bytes s = stream(4);
  s.erase(s.begin(), s.begin() + 10);  // opened mid-frame
  NativeDecoder dec;                   // hunting
  const auto got = decode_all(dec, s);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].sample.seq, 1u);
  EXPECT_EQ(dec.counters()[DropReason::kGarbage], 1u);
  EXPECT_GT(dec.counters().garbage_bytes, 0u);
}

TEST(NativeFrame, CountsEachKindOfBadFrameAndResumes) {
  const Bytes good = wire(frame(1));
  Bytes bad_crc = wire(frame(2));
  bad_crc[5] ^= 0x01;  // a flipped bit in the payload
  Bytes absurd(500, 0x11);
  absurd.push_back(0x00);
  Bytes cobs_short{0x09, 0x01, 0x02, 0x00};  // the code byte promises 8 bytes, 2 arrive
  Bytes too_short{0x04, 0x01, 0x01, 0x01, 0x00};
  // Valid CRC but version 2 / reserved bit / fields that disagree with the length / no fields.
  auto rebuilt = [](std::uint8_t version, std::uint8_t fields, std::size_t values) {
    std::uint8_t p[native::kMaxPayload + 8] = {};
    p[0] = version;
    p[1] = fields;
    const std::size_t n = native::kHeaderBytes + 4 * values;
    const std::uint32_t crc = crc32c(p, n);
    std::memcpy(p + n, &crc, 4);
    Bytes w(n + 8);
    w.resize(native::cobs_encode(p, n + 4, w.data()));
    w.push_back(0);
    return w;
  };
  const Bytes bad_version = rebuilt(2, 1, 3);
  const Bytes reserved = rebuilt(1, 0x11, 3);
  const Bytes wrong_len = rebuilt(1, 0x03, 3);
  const Bytes no_fields = rebuilt(1, 0x00, 0);

  Bytes s{0x00};
  for (const Bytes* b : std::initializer_list<const Bytes*>{
           &good, &bad_crc, &good, &absurd, &good, &cobs_short, &too_short, &bad_version, &reserved,
           &wrong_len, &no_fields, &good})
    s.insert(s.end(), b->begin(), b->end());
  NativeDecoder dec;
  const auto got = decode_all(dec, s);
  EXPECT_EQ(got.size(), 4u);
  const auto& c = dec.counters();
  EXPECT_EQ(c[DropReason::kBadChecksum], 1u);
  EXPECT_EQ(c[DropReason::kBadLength], 2u);  // absurd + wrong_len
  EXPECT_EQ(c[DropReason::kTruncated], 2u);
  EXPECT_EQ(c[DropReason::kBadVersion], 2u);
  EXPECT_EQ(c[DropReason::kBadValue], 1u);
  EXPECT_EQ(c[DropReason::kGarbage], 0u);
  EXPECT_EQ(c.frames, 4u);
}

TEST(NativeFrame, AbsurdLengthSplitAcrossChunksStaysBounded) {
  NativeDecoder dec(Sync::kAligned);
  Collect c;
  const Bytes junk(100'000, 0x5A);
  for (int i = 0; i < 10; ++i) dec.feed(junk, c);
  const Bytes tail = wire(frame(9));
  dec.feed(tail, c);  // its delimiter ends the junk "frame"; the frame itself is inside it
  dec.feed(tail, c);
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(dec.counters()[DropReason::kBadLength], 1u);
}

TEST(NativeFrame, DatagramMayOmitTheLastDelimiter) {
  Bytes d = wire(frame(5));
  d.pop_back();
  NativeDecoder dec(Sync::kAligned);
  Collect c;
  dec.feed(d, c);
  EXPECT_TRUE(c.got.empty());
  dec.finish(c);
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0].sample.seq, 5u);
}

TEST(NativeFrame, RandomGarbageNeverYieldsAFrameAndNeverStopsDecoding) {
  std::mt19937 rng(1);
  NativeDecoder dec;
  Collect c;
  int sent = 0;
  for (int round = 0; round < 2000; ++round) {
    Bytes junk(rng() % 64);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    junk.push_back(0);
    dec.feed(junk, c);
    const auto w = wire(frame(static_cast<std::uint32_t>(round)));
    dec.feed(w, c);
    ++sent;
  }
  EXPECT_EQ(c.got.size(), static_cast<std::size_t>(sent));  // CRC-32C: no junk frame got through
  for (std::size_t i = 0; i < c.got.size(); ++i) ASSERT_EQ(c.got[i].sample.seq, i);
}

TEST(NativeFrame, DecodingAllocatesNothing) {
  {
    test::AllocationScope probe;  // the counter itself works
    auto p = std::make_unique<int>(1);
    EXPECT_EQ(probe.count(), 1u);
  }
  const Bytes s = stream(1000);
  NativeDecoder dec;
  std::size_t n = 0;
  auto count = [&n](const Decoded&) { ++n; };
  test::AllocationScope scope;
  for (std::size_t off = 0; off < s.size(); off += 97)
    dec.feed({s.data() + off, std::min<std::size_t>(97, s.size() - off)}, count);
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(n, 1000u);
}

}  // namespace
}  // namespace primus::adapters::codecs
