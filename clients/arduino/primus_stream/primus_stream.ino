// primus_stream: stream an Arduino Nano 33 BLE (Sense)'s IMU to primusd as native frames over
// USB serial (docs/protocol.md). Library: Arduino_LSM9DS1 (Library Manager).
//
// primusd config for this board (acc in g, gyro in deg/s, the LSM9DS1 runs at 119 Hz):
//   [[devices]]
//   id = "nano"
//   adapter = "serial"
//   path = "/dev/serial/by-id/usb-Arduino_Nano_33_BLE_XXXXXXXX-if00"
//   baud = 115200
//   rate_hz = 119
//   acc_unit = "g"
//   gyro_unit = "deg/s"
//   device_id = 1
#include <Arduino_LSM9DS1.h>

static const uint16_t kDeviceId = 1;

// CRC-32C (Castagnoli), bitwise: small and fast enough for 119 frames/s.
static uint32_t crc32c(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) {
    c ^= *p++;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

// COBS: rewrites n bytes so that none is 0x00; returns the encoded length (n + 1 here).
static size_t cobs_encode(const uint8_t* in, size_t n, uint8_t* out) {
  size_t code_pos = 0, o = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < n; ++i) {
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

static void put_u32(uint8_t* p, uint32_t v) {
  p[0] = v;
  p[1] = v >> 8;
  p[2] = v >> 16;
  p[3] = v >> 24;
}

static void put_f32(uint8_t* p, float f) {
  uint32_t v;
  memcpy(&v, &f, 4);  // the nRF52840 is little-endian; put_u32 keeps it portable anyway
  put_u32(p, v);
}

static uint32_t seq = 0;

void setup() {
  Serial.begin(115200);
  while (!Serial) {
  }
  if (!IMU.begin()) {
    while (true) delay(1000);  // no IMU: nothing to stream
  }
  Serial.write((uint8_t)0x00);  // a delimiter first, so the receiver is in sync from frame 0
}

void loop() {
  if (!IMU.accelerationAvailable() || !IMU.gyroscopeAvailable()) return;
  float ax, ay, az, gx, gy, gz;
  IMU.readAcceleration(ax, ay, az);  // g
  IMU.readGyroscope(gx, gy, gz);     // deg/s
  const uint64_t t_us = micros();    // 32-bit, wraps after 71 min: extend it (see below)
  static uint32_t last = 0, high = 0;
  if ((uint32_t)t_us < last) ++high;
  last = (uint32_t)t_us;

  uint8_t payload[16 + 24 + 4];
  payload[0] = 1;                 // version
  payload[1] = 0x01 | 0x02;       // fields: acc, gyro
  payload[2] = kDeviceId & 0xFF;  // device id, little-endian
  payload[3] = kDeviceId >> 8;
  put_u32(payload + 4, seq++);
  put_u32(payload + 8, last);     // timestamp µs, low 32 bits
  put_u32(payload + 12, high);    // high 32 bits
  const float v[6] = {ax, ay, az, gx, gy, gz};
  for (int i = 0; i < 6; ++i) put_f32(payload + 16 + 4 * i, v[i]);
  put_u32(payload + 40, crc32c(payload, 40));

  uint8_t wire[sizeof payload + 2];
  const size_t n = cobs_encode(payload, sizeof payload, wire);
  wire[n] = 0x00;                 // frame delimiter
  Serial.write(wire, n + 1);
}
