#pragma once
// Row-major single-precision matrix product for the hand-written inference path
// (src/model/fast_encoder.h), on whichever BLAS the build found. Torch-free header.
//
//   C[M,N] = A[M,K] · B'[K,N] + beta · C,   B' = B (B stored [K,N], ldb >= N)
//                                           or B^T (trans_b: B stored [N,K], ldb >= K)
//
// Backends, chosen at build time by what is present (src/model/CMakeLists.txt) and at run time by
// set_gemm_backend() (benchmarks only; the default is the first of this list that was built):
//   "onednn"   dnnl_sgemm of oneDNN (libdnnl, which LibTorch already loads): JIT kernels for the
//              CPU present (AVX-512 here), OpenMP threads of the calling thread.
//   "cblas"    cblas_sgemm of the selected libblas.so.3 (OpenBLAS-OpenMP under scripts/setup).
//   "libtorch" at::mm_out on views of the buffers: always built, so the model part still compiles
//              against LibTorch alone (bench/gpu).
// Threads: gemm() is thread-safe (the backends are); it uses the intra-op threads of the calling
// thread (set_inference_threads). set_gemm_backend() is not: call it before any gemm().
// Errors: gemm() throws std::runtime_error when a backend reports a failure (bad dimensions);
// set_gemm_backend() throws std::invalid_argument naming an unknown or absent backend.
#include <string>
#include <vector>

namespace primus::model {

void gemm(bool trans_b, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          float beta, float* c, int ldc);

/// The backends this build has, best first.
[[nodiscard]] std::vector<std::string> gemm_backends();
/// The backend gemm() uses now.
[[nodiscard]] const std::string& gemm_backend();
void set_gemm_backend(const std::string& name);

}  // namespace primus::model
