#include "src/model/sgemm.h"

#include <torch/torch.h>

#include <atomic>
#include <stdexcept>

#if defined(PRIMUS_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#endif
#if defined(PRIMUS_HAVE_CBLAS)
#include <cblas.h>
#endif

namespace primus::model {

namespace {

enum class Backend { kOneDnn, kCblas, kLibTorch };

struct Entry {
  Backend id;
  std::string name;
};

const std::vector<Entry>& built() {
  static const std::vector<Entry> list = [] {
    std::vector<Entry> v;
#if defined(PRIMUS_HAVE_ONEDNN)
    v.push_back({Backend::kOneDnn, "onednn"});
#endif
#if defined(PRIMUS_HAVE_CBLAS)
    v.push_back({Backend::kCblas, "cblas"});
#endif
    v.push_back({Backend::kLibTorch, "libtorch"});
    return v;
  }();
  return list;
}

std::atomic<std::size_t> current{0};  // index into built()

void gemm_libtorch(bool trans_b, int m, int n, int k, const float* a, int lda, const float* b,
                   int ldb, float beta, float* c, int ldc) {
  c10::InferenceMode guard;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  auto ta = torch::from_blob(const_cast<float*>(a), {m, k}, {lda, 1}, opts);
  auto tb = trans_b ? torch::from_blob(const_cast<float*>(b), {n, k}, {ldb, 1}, opts).t()
                    : torch::from_blob(const_cast<float*>(b), {k, n}, {ldb, 1}, opts);
  auto tc = torch::from_blob(c, {m, n}, {ldc, 1}, opts);
  if (beta == 0.0f) {
    at::mm_out(tc, ta, tb);
  } else {
    tc.mul_(beta).addmm_(ta, tb);
  }
}

}  // namespace

void gemm(bool trans_b, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  switch (built()[current.load(std::memory_order_relaxed)].id) {
    case Backend::kOneDnn:
#if defined(PRIMUS_HAVE_ONEDNN)
      if (dnnl_sgemm('N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc) !=
          dnnl_success) {
        throw std::runtime_error("dnnl_sgemm failed for M=" + std::to_string(m) +
                                 " N=" + std::to_string(n) + " K=" + std::to_string(k));
      }
#endif
      return;
    case Backend::kCblas:
#if defined(PRIMUS_HAVE_CBLAS)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                  a, lda, b, ldb, beta, c, ldc);
#endif
      return;
    case Backend::kLibTorch:
      break;
  }
  gemm_libtorch(trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

std::vector<std::string> gemm_backends() {
  std::vector<std::string> names;
  for (const auto& e : built()) names.push_back(e.name);
  return names;
}

const std::string& gemm_backend() { return built()[current.load()].name; }

void set_gemm_backend(const std::string& name) {
  for (std::size_t i = 0; i < built().size(); ++i) {
    if (built()[i].name == name) {
      current.store(i);
      return;
    }
  }
  std::string have;
  for (const auto& e : built()) have += (have.empty() ? "" : ", ") + e.name;
  throw std::invalid_argument("gemm backend '" + name + "': not in this build (have " + have + ")");
}

}  // namespace primus::model
