#pragma once
// The PRIMUS encoder and gesture head for inference on the CPU, written by hand over a row-major
// SGEMM (src/model/sgemm.h) instead of LibTorch operators: no autograd, no dispatcher, no tensor
// allocation, no padding rows. Same network as src/model/primus_net.h (docs/model.md):
//   GroupNorm(2,6) → Conv1d(6→32,k10,d2) → MaxPool(3) → Conv1d(32→32,k5,d2) → MaxPool(3)
//   → Conv1d(32→32,k5,d2) → AdaptiveAvgPool(32) → GroupNorm(4,32) → GRU(32→512) whose 32 time
//   steps are the 32 conv channels → emb = h_32, ssl/mmcl = Linear(512,512)(emb)
//   → head: L2-normalise the chosen embedding, Linear (or Linear-ReLU-Linear), softmax.
// How: norms, convolutions and pools run window by window in direct loops (compiled for AVX-512,
// AVX2 and baseline x86-64, picked at load time); the GRU's input projections of all 32 steps are
// one GEMM [32·B,32]×[32,1536]; each step is one GEMM [B,512]×[512,1536] followed by one pass
// that adds the biases and applies the gates (sigmoid, tanh from a polynomial exp); the first
// step needs no GEMM (h_0 = 0). Only the head's embedding is computed by predict().
// Agreement with the LibTorch modules: within 1e-5 absolute on emb, ssl, mmcl and the
// probabilities (tests/unit/model/fast_encoder_test.cpp).
//
// Ownership: the weights are copied in (FastWeights, in the modules' own layouts) and never
// change afterwards. Threads: a FastEncoder is immutable, so encode()/predict() may run on
// several threads at once, each with its own Workspace. A Workspace is used by one thread at a
// time; it grows to the largest batch and window length seen, then calls allocate nothing.
// Inputs: x is [B,6,T] float32, channel-major and contiguous, T >= kMinLength, finite (the caller,
// Classifier, checks); outputs are row-major. Torch-free header.
#include <cstddef>
#include <memory>
#include <vector>

#include "src/config/config.h"

namespace primus::model {

/// Parameters of the encoder and head, each contiguous in LibTorch's layout.
struct FastWeights {
  std::vector<float> norm_in_w, norm_in_b;    ///< [6], [6]
  std::vector<float> conv1, conv2, conv3;     ///< [32,6,10], [32,32,5], [32,32,5]
  std::vector<float> norm_mid_w, norm_mid_b;  ///< [32], [32]
  std::vector<float> w_ih, w_hh, b_ih, b_hh;  ///< [1536,32], [1536,512], [1536], [1536]; r,z,n
  std::vector<float> ssl_w, ssl_b, mmcl_w, mmcl_b;  ///< [512,512], [512]
  EmbeddingChoice embedding = EmbeddingChoice::kMmcl;
  bool mlp = false;
  int classes = 0;                  ///< C
  int hidden = 0;                   ///< H (mlp only)
  std::vector<float> fc_w, fc_b;    ///< linear: [C,512], [C]; mlp: fc1 [H,512], [H]
  std::vector<float> fc2_w, fc2_b;  ///< mlp only: [C,H], [C]
};

class FastEncoder {
 public:
  /// Scratch memory of one thread's calls.
  class Workspace {
   public:
    Workspace();
    ~Workspace();
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;
    /// Floats held now (grows, never shrinks).
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

   private:
    friend class FastEncoder;
    float* reserve(std::size_t floats);
    struct Free {
      void operator()(float* p) const noexcept;
    };
    std::unique_ptr<float, Free> data_;
    std::size_t capacity_ = 0;
  };

  /// Throws std::invalid_argument naming the first weight whose size is wrong.
  explicit FastEncoder(FastWeights w);

  /// emb, ssl, mmcl: batch*512 floats each, or nullptr when not wanted.
  void encode(const float* x, int batch, int length, float* emb, float* ssl, float* mmcl,
              Workspace& ws) const;
  /// probs: batch*classes() softmax outputs.
  void predict(const float* x, int batch, int length, float* probs, Workspace& ws) const;

  [[nodiscard]] int classes() const noexcept { return w_.classes; }

 private:
  struct Layout;
  /// Runs norms, convs, pools and the GRU; returns h_32 ([batch,512] inside ws).
  const float* run_encoder(const float* x, int batch, int length, const Layout& lay,
                           float* base) const;
  FastWeights w_;
  std::vector<float> gate_bias_;                 ///< [b_ir+b_hr, b_iz+b_hz, b_in, b_hn], 4*512
  std::vector<float> conv1t_, conv2t_, conv3t_;  ///< conv weights as [cin][ksize][32]
};

}  // namespace primus::model
