#include "src/model/fast_encoder.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "src/model/sgemm.h"

// The element-wise loops are compiled three times (AVX-512, AVX2+FMA, baseline) and the loader
// picks one for the CPU present (GCC function multi-versioning); elsewhere they compile once.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_ADDRESS__)
#define PRIMUS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PRIMUS_CLONES
#endif

namespace primus::model {

namespace {

constexpr int kIn = 6;        // input channels
constexpr int kConv = 32;     // conv channels = GRU steps
constexpr int kBins = 32;     // pooled bins = GRU input features
constexpr int kHidden = 512;  // GRU width
constexpr int kGates = 3 * kHidden;
constexpr int kK1 = 10, kK2 = 5, kK3 = 5, kDilation = 2;
constexpr float kNormEps = 1e-5f;
constexpr std::size_t kAlignFloats = 16;  // 64 bytes

std::size_t round_up(std::size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// exp(x) for the gates: Cephes' expf (range reduction by ln 2, degree-6 polynomial), relative
// error < 2e-7 on [-87, 88]; written so that the loops around it vectorise (no calls, no
// branches: rounding by the 1.5·2^23 trick, 2^n assembled from its bits).
inline float exp_poly(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp_poly(-x)); }
inline float tanh_poly(float x) { return 1.0f - 2.0f / (1.0f + exp_poly(2.0f * x)); }

// GroupNorm over `groups` groups of `channels / groups` rows of `len` values (rows `stride`
// apart), in place.
PRIMUS_CLONES void group_norm(float* x, int channels, int len, int stride, int groups,
                              const float* gamma, const float* beta) {
  const int per = channels / groups;
  const double n = static_cast<double>(per) * len;
  for (int g = 0; g < groups; ++g) {
    float* v = x + static_cast<std::size_t>(g) * per * stride;
    double sum = 0;
    for (int c = 0; c < per; ++c)
      for (int t = 0; t < len; ++t) sum += v[static_cast<std::size_t>(c) * stride + t];
    const double mean = sum / n;
    double sq = 0;
    for (int c = 0; c < per; ++c) {
      for (int t = 0; t < len; ++t) {
        const double d = v[static_cast<std::size_t>(c) * stride + t] - mean;
        sq += d * d;
      }
    }
    const double rstd = 1.0 / std::sqrt(sq / n + kNormEps);
    for (int c = 0; c < per; ++c) {
      const int ch = g * per + c;
      const auto scale = static_cast<float>(rstd * gamma[ch]);
      const auto shift = static_cast<float>(beta[ch] - mean * rstd * gamma[ch]);
      float* row = v + static_cast<std::size_t>(c) * stride;
      for (int t = 0; t < len; ++t) row[t] = row[t] * scale + shift;
    }
  }
}

// Conv1d of 32 output channels without bias, dilation 2:
//   y[o][t] = sum_{c,k} w[c][k][o] · x[c][t + 2k],  t < len_out,
// with the weights transposed to [cin][ksize][32]. Register-blocked: 8 output channels × 16 time
// steps of accumulators stay in registers over all (c, k); every row is written in whole blocks
// of 16, so rows of y are `y_stride` >= round_up(len_out, 16) apart and rows of x must hold
// readable values up to round_up(len_out, 16) + 2·(ksize − 1) (the padding feeds only outputs
// beyond len_out, which nothing reads).
PRIMUS_CLONES void conv_dilated(const float* __restrict x, int cin, int x_stride,
                                const float* __restrict wt, int ksize, float* __restrict y,
                                int y_stride, int len_out) {
  // 16 floats: one AVX-512 register (two AVX2 ones, four SSE ones in the other clones).
  using V16 = float __attribute__((vector_size(64)));
  constexpr int kO = 8, kT = 16;
  for (int t0 = 0; t0 < len_out; t0 += kT) {
    for (int o0 = 0; o0 < kConv; o0 += kO) {
      V16 acc[kO] = {};
      for (int c = 0; c < cin; ++c) {
        const float* xc = x + static_cast<std::size_t>(c) * x_stride + t0;
        const float* wc = wt + static_cast<std::size_t>(c) * ksize * kConv + o0;
        for (int k = 0; k < ksize; ++k) {
          V16 xv;
          std::memcpy(&xv, xc + kDilation * k, sizeof xv);
          const float* wk = wc + k * kConv;
          for (int o = 0; o < kO; ++o) acc[o] += wk[o] * xv;
        }
      }
      for (int o = 0; o < kO; ++o)
        std::memcpy(y + static_cast<std::size_t>(o0 + o) * y_stride + t0, &acc[o], sizeof acc[o]);
    }
  }
}

// MaxPool1d(3) (stride 3, floor): rows of len_in -> rows of len_in / 3; the rest of each output
// row up to y_stride is zeroed (the next convolution reads it).
void max_pool3(const float* x, int channels, int len_in, int x_stride, float* y, int y_stride) {
  const int len_out = len_in / 3;
  for (int c = 0; c < channels; ++c) {
    const float* xc = x + static_cast<std::size_t>(c) * x_stride;
    float* yc = y + static_cast<std::size_t>(c) * y_stride;
    for (int j = 0; j < len_out; ++j)
      yc[j] = std::max(std::max(xc[3 * j], xc[3 * j + 1]), xc[3 * j + 2]);
    std::fill(yc + len_out, yc + y_stride, 0.0f);
  }
}

// AdaptiveAvgPool1d(out_len), PyTorch's bins [floor(i·L/n), ceil((i+1)·L/n)); y contiguous.
void adaptive_avg_pool(const float* x, int channels, int len_in, int x_stride, int out_len,
                       float* y) {
  for (int c = 0; c < channels; ++c) {
    const float* xc = x + static_cast<std::size_t>(c) * x_stride;
    float* yc = y + static_cast<std::size_t>(c) * out_len;
    for (int i = 0; i < out_len; ++i) {
      const int s = (i * len_in) / out_len;
      const int e = ((i + 1) * len_in + out_len - 1) / out_len;
      float sum = 0.0f;
      for (int t = s; t < e; ++t) sum += xc[t];
      yc[i] = sum / static_cast<float>(e - s);
    }
  }
}

// One GRU step's gates for the whole batch, in place on h (LibTorch's formulation):
//   r = σ(gi_r + gh_r + b_ir + b_hr), z = σ(gi_z + gh_z + b_iz + b_hz),
//   n = tanh(gi_n + b_in + r ⊙ (gh_n + b_hn)), h' = n + z ⊙ (h − n).
// gi, gh: [batch,1536] without biases; bias: [b_r, b_z, b_in, b_hn] of 512 each.
// first: h = 0 and gh = 0 (step 1), gh is not read.
PRIMUS_CLONES void gru_gates(int batch, const float* __restrict gi, const float* __restrict gh,
                             const float* __restrict bias, float* __restrict h, bool first) {
  const float* __restrict b_r = bias;
  const float* __restrict b_z = bias + kHidden;
  const float* __restrict b_in = bias + 2 * kHidden;
  const float* __restrict b_hn = bias + 3 * kHidden;
  for (int b = 0; b < batch; ++b) {
    const float* __restrict ib = gi + static_cast<std::size_t>(b) * kGates;
    float* __restrict hb = h + static_cast<std::size_t>(b) * kHidden;
    if (first) {
      for (int j = 0; j < kHidden; ++j) {
        const float r = sigmoid(ib[j] + b_r[j]);
        const float z = sigmoid(ib[kHidden + j] + b_z[j]);
        const float n = tanh_poly(ib[2 * kHidden + j] + b_in[j] + r * b_hn[j]);
        hb[j] = n - z * n;
      }
      continue;
    }
    const float* __restrict hg = gh + static_cast<std::size_t>(b) * kGates;
    for (int j = 0; j < kHidden; ++j) {
      const float r = sigmoid(ib[j] + hg[j] + b_r[j]);
      const float z = sigmoid(ib[kHidden + j] + hg[kHidden + j] + b_z[j]);
      const float n =
          tanh_poly(ib[2 * kHidden + j] + b_in[j] + r * (hg[2 * kHidden + j] + b_hn[j]));
      hb[j] = n + z * (hb[j] - n);
    }
  }
}

// rows x cols += bias (per column), optionally ReLU.
PRIMUS_CLONES void add_bias(float* __restrict y, int rows, int cols, const float* __restrict bias,
                            bool relu) {
  for (int r = 0; r < rows; ++r) {
    float* __restrict yr = y + static_cast<std::size_t>(r) * cols;
    for (int c = 0; c < cols; ++c) {
      const float v = yr[c] + bias[c];
      yr[c] = relu ? std::max(v, 0.0f) : v;
    }
  }
}

// Each row divided by max(||row||_2, 1e-12), like F.normalize.
void l2_normalise(const float* x, int rows, int cols, float* y) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::size_t>(r) * cols;
    float* yr = y + static_cast<std::size_t>(r) * cols;
    double sq = 0;
    for (int c = 0; c < cols; ++c) sq += static_cast<double>(xr[c]) * xr[c];
    const float denom = std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
    for (int c = 0; c < cols; ++c) yr[c] = xr[c] / denom;
  }
}

void softmax_rows(float* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<std::size_t>(r) * cols;
    const float mx = *std::max_element(xr, xr + cols);
    float sum = 0.0f;
    for (int c = 0; c < cols; ++c) {
      xr[c] = std::exp(xr[c] - mx);
      sum += xr[c];
    }
    for (int c = 0; c < cols; ++c) xr[c] /= sum;
  }
}

void check_size(const std::vector<float>& v, std::size_t n, const char* name) {
  if (v.size() != n) {
    throw std::invalid_argument(std::string("FastEncoder: ") + name + " has " +
                                std::to_string(v.size()) + " floats, expected " +
                                std::to_string(n));
  }
}

}  // namespace

// Offsets (floats) of every buffer inside the workspace for one (batch, length).
struct FastEncoder::Layout {
  int l1, p1, l2, p2, l3;        // lengths after conv1, pool1, conv2, pool2, conv3
  int s0, s1, sp1, s2, sp2, s3;  // their row strides (conv inputs: room for the padding reads)
  std::size_t xn, c1, q1, c2, q2, c3, feat, seq, gi, gh, h, e1, e2, hid, total;

  static int stride(int len) {
    return static_cast<int>(round_up(static_cast<std::size_t>(len) + 16));
  }

  Layout(int batch, int length, int hidden, int classes) {
    l1 = length - kDilation * (kK1 - 1);
    p1 = l1 / 3;
    l2 = p1 - kDilation * (kK2 - 1);
    p2 = l2 / 3;
    l3 = p2 - kDilation * (kK3 - 1);
    s0 = stride(length);
    s1 = stride(l1);
    sp1 = stride(p1);
    s2 = stride(l2);
    sp2 = stride(p2);
    s3 = stride(l3);
    const auto b = static_cast<std::size_t>(batch);
    std::size_t off = 0;
    auto take = [&off](std::size_t n) {
      const std::size_t at = off;
      off += round_up(n);
      return at;
    };
    xn = take(static_cast<std::size_t>(kIn) * s0);
    c1 = take(static_cast<std::size_t>(kConv) * s1);
    q1 = take(static_cast<std::size_t>(kConv) * sp1);
    c2 = take(static_cast<std::size_t>(kConv) * s2);
    q2 = take(static_cast<std::size_t>(kConv) * sp2);
    c3 = take(static_cast<std::size_t>(kConv) * s3);
    feat = take(static_cast<std::size_t>(kConv) * kBins);
    seq = take(kConv * b * kBins);  // GRU input, time-major [32][B][32]
    gi = take(kConv * b * kGates);  // input projections, time-major [32][B][1536]
    gh = take(b * kGates);          // hidden projection of one step
    h = take(b * kHidden);          // hidden state
    e1 = take(b * kHidden);         // ssl/mmcl embedding, then normalised
    e2 = take(b * kHidden);         // normalised embedding
    hid = take(b * static_cast<std::size_t>(std::max(hidden, classes)));  // mlp hidden
    total = off;
  }
};

void FastEncoder::Workspace::Free::operator()(float* p) const noexcept { std::free(p); }

FastEncoder::Workspace::Workspace() = default;
FastEncoder::Workspace::~Workspace() = default;

float* FastEncoder::Workspace::reserve(std::size_t floats) {
  if (floats > capacity_) {
    const std::size_t bytes = round_up(floats) * sizeof(float);
    auto* p = static_cast<float*>(std::aligned_alloc(kAlignFloats * sizeof(float), bytes));
    if (p == nullptr) throw std::bad_alloc();
    data_.reset(p);
    capacity_ = round_up(floats);
  }
  return data_.get();
}

FastEncoder::FastEncoder(FastWeights w) : w_(std::move(w)) {
  check_size(w_.norm_in_w, kIn, "backbone.0.weight");
  check_size(w_.norm_in_b, kIn, "backbone.0.bias");
  check_size(w_.conv1, static_cast<std::size_t>(kConv) * kIn * kK1, "backbone.1.net.0.weight");
  check_size(w_.conv2, static_cast<std::size_t>(kConv) * kConv * kK2, "backbone.2.net.0.weight");
  check_size(w_.conv3, static_cast<std::size_t>(kConv) * kConv * kK3, "backbone.3.net.0.weight");
  check_size(w_.norm_mid_w, kConv, "backbone.4.weight");
  check_size(w_.norm_mid_b, kConv, "backbone.4.bias");
  check_size(w_.w_ih, static_cast<std::size_t>(kGates) * kBins, "backbone.5.weight_ih_l0");
  check_size(w_.w_hh, static_cast<std::size_t>(kGates) * kHidden, "backbone.5.weight_hh_l0");
  check_size(w_.b_ih, kGates, "backbone.5.bias_ih_l0");
  check_size(w_.b_hh, kGates, "backbone.5.bias_hh_l0");
  check_size(w_.ssl_w, static_cast<std::size_t>(kHidden) * kHidden, "ssl_head.weight");
  check_size(w_.ssl_b, kHidden, "ssl_head.bias");
  check_size(w_.mmcl_w, static_cast<std::size_t>(kHidden) * kHidden, "mmcl_head.weight");
  check_size(w_.mmcl_b, kHidden, "mmcl_head.bias");
  if (w_.classes < 1) throw std::invalid_argument("FastEncoder: no classes");
  if (w_.mlp) {
    if (w_.hidden < 1) throw std::invalid_argument("FastEncoder: mlp head without hidden units");
    check_size(w_.fc_w, static_cast<std::size_t>(w_.hidden) * kHidden, "head.fc1.weight");
    check_size(w_.fc_b, static_cast<std::size_t>(w_.hidden), "head.fc1.bias");
    check_size(w_.fc2_w, static_cast<std::size_t>(w_.classes) * w_.hidden, "head.fc2.weight");
    check_size(w_.fc2_b, static_cast<std::size_t>(w_.classes), "head.fc2.bias");
  } else {
    check_size(w_.fc_w, static_cast<std::size_t>(w_.classes) * kHidden, "head.fc.weight");
    check_size(w_.fc_b, static_cast<std::size_t>(w_.classes), "head.fc.bias");
  }
  auto transpose = [](const std::vector<float>& w, int cin, int ksize) {
    std::vector<float> t(w.size());
    for (int o = 0; o < kConv; ++o)
      for (int c = 0; c < cin; ++c)
        for (int k = 0; k < ksize; ++k)
          t[(static_cast<std::size_t>(c) * ksize + k) * kConv + o] =
              w[(static_cast<std::size_t>(o) * cin + c) * ksize + k];
    return t;
  };
  conv1t_ = transpose(w_.conv1, kIn, kK1);
  conv2t_ = transpose(w_.conv2, kConv, kK2);
  conv3t_ = transpose(w_.conv3, kConv, kK3);
  gate_bias_.resize(4 * kHidden);
  for (int j = 0; j < kHidden; ++j) {
    gate_bias_[j] = w_.b_ih[j] + w_.b_hh[j];
    gate_bias_[kHidden + j] = w_.b_ih[kHidden + j] + w_.b_hh[kHidden + j];
    gate_bias_[2 * kHidden + j] = w_.b_ih[2 * kHidden + j];
    gate_bias_[3 * kHidden + j] = w_.b_hh[2 * kHidden + j];
  }
}

const float* FastEncoder::run_encoder(const float* x, int batch, int length, const Layout& lay,
                                      float* base) const {
  const auto per_window = static_cast<std::size_t>(kIn) * length;
  float* xn = base + lay.xn;
  float* c1 = base + lay.c1;
  float* q1 = base + lay.q1;
  float* c2 = base + lay.c2;
  float* q2 = base + lay.q2;
  float* c3 = base + lay.c3;
  float* feat = base + lay.feat;
  float* seq = base + lay.seq;
  const auto b_count = static_cast<std::size_t>(batch);
  for (int b = 0; b < batch; ++b) {
    const float* xb = x + b * per_window;
    for (int c = 0; c < kIn; ++c) {
      float* row = xn + static_cast<std::size_t>(c) * lay.s0;
      std::memcpy(row, xb + static_cast<std::size_t>(c) * length, length * sizeof(float));
      std::fill(row + length, row + lay.s0, 0.0f);
    }
    group_norm(xn, kIn, length, lay.s0, 2, w_.norm_in_w.data(), w_.norm_in_b.data());
    conv_dilated(xn, kIn, lay.s0, conv1t_.data(), kK1, c1, lay.s1, lay.l1);
    max_pool3(c1, kConv, lay.l1, lay.s1, q1, lay.sp1);
    conv_dilated(q1, kConv, lay.sp1, conv2t_.data(), kK2, c2, lay.s2, lay.l2);
    max_pool3(c2, kConv, lay.l2, lay.s2, q2, lay.sp2);
    conv_dilated(q2, kConv, lay.sp2, conv3t_.data(), kK3, c3, lay.s3, lay.l3);
    adaptive_avg_pool(c3, kConv, lay.l3, lay.s3, kBins, feat);
    group_norm(feat, kConv, kBins, kBins, 4, w_.norm_mid_w.data(), w_.norm_mid_b.data());
    // The GRU reads the [32 channels, 32 bins] map as 32 steps of 32 features: store it
    // time-major so that each step's rows are contiguous.
    for (int t = 0; t < kConv; ++t) {
      std::memcpy(seq + (t * b_count + b) * kBins, feat + static_cast<std::size_t>(t) * kBins,
                  kBins * sizeof(float));
    }
  }
  float* gi = base + lay.gi;
  float* gh = base + lay.gh;
  float* h = base + lay.h;
  // Input projections of all steps at once: [32·B, 32] × W_ih^T -> [32·B, 1536].
  gemm(true, kConv * batch, kGates, kBins, seq, kBins, w_.w_ih.data(), kBins, 0.0f, gi, kGates);
  gru_gates(batch, gi, gh, gate_bias_.data(), h, true);
  for (int t = 1; t < kConv; ++t) {
    gemm(true, batch, kGates, kHidden, h, kHidden, w_.w_hh.data(), kHidden, 0.0f, gh, kGates);
    gru_gates(batch, gi + t * b_count * kGates, gh, gate_bias_.data(), h, false);
  }
  return h;
}

void FastEncoder::encode(const float* x, int batch, int length, float* emb, float* ssl, float* mmcl,
                         Workspace& ws) const {
  const Layout lay(batch, length, w_.hidden, w_.classes);
  float* base = ws.reserve(lay.total);
  const float* h = run_encoder(x, batch, length, lay, base);
  if (emb != nullptr)
    std::memcpy(emb, h, static_cast<std::size_t>(batch) * kHidden * sizeof(float));
  if (ssl != nullptr) {
    gemm(true, batch, kHidden, kHidden, h, kHidden, w_.ssl_w.data(), kHidden, 0.0f, ssl, kHidden);
    add_bias(ssl, batch, kHidden, w_.ssl_b.data(), false);
  }
  if (mmcl != nullptr) {
    gemm(true, batch, kHidden, kHidden, h, kHidden, w_.mmcl_w.data(), kHidden, 0.0f, mmcl, kHidden);
    add_bias(mmcl, batch, kHidden, w_.mmcl_b.data(), false);
  }
}

void FastEncoder::predict(const float* x, int batch, int length, float* probs,
                          Workspace& ws) const {
  const Layout lay(batch, length, w_.hidden, w_.classes);
  float* base = ws.reserve(lay.total);
  const float* h = run_encoder(x, batch, length, lay, base);
  const float* e = h;
  if (w_.embedding != EmbeddingChoice::kEmb) {
    const bool ssl = w_.embedding == EmbeddingChoice::kSsl;
    float* e1 = base + lay.e1;
    gemm(true, batch, kHidden, kHidden, h, kHidden, ssl ? w_.ssl_w.data() : w_.mmcl_w.data(),
         kHidden, 0.0f, e1, kHidden);
    add_bias(e1, batch, kHidden, ssl ? w_.ssl_b.data() : w_.mmcl_b.data(), false);
    e = e1;
  }
  float* z = base + lay.e2;
  l2_normalise(e, batch, kHidden, z);
  const int C = w_.classes;
  if (w_.mlp) {
    float* hid = base + lay.hid;
    gemm(true, batch, w_.hidden, kHidden, z, kHidden, w_.fc_w.data(), kHidden, 0.0f, hid,
         w_.hidden);
    add_bias(hid, batch, w_.hidden, w_.fc_b.data(), true);
    gemm(true, batch, C, w_.hidden, hid, w_.hidden, w_.fc2_w.data(), w_.hidden, 0.0f, probs, C);
    add_bias(probs, batch, C, w_.fc2_b.data(), false);
  } else {
    gemm(true, batch, C, kHidden, z, kHidden, w_.fc_w.data(), kHidden, 0.0f, probs, C);
    add_bias(probs, batch, C, w_.fc_b.data(), false);
  }
  softmax_rows(probs, batch, C);
}

}  // namespace primus::model
