#pragma once
// The PRIMUS encoder plus a gesture head, behind a header that does not include LibTorch.
//
// Network (see ../shared/PRIMUS.md and docs/model.md): MW2StackRNNPoolingMultihead with weights
// named exactly as the Python state dict (backbone.*, ssl_head.*, mmcl_head.*). The head
// L2-normalises the chosen embedding (mmcl | ssl | emb) and maps it to the classes, with one
// Linear ("linear", the PRIMUS downstream head) or Linear-ReLU-Linear ("mlp").
//
// Units: inputs are float32 windows [B, 6, T], channel-major and contiguous, channels
// acc x,y,z in m/s² then gyro x,y,z in rad/s, T >= kMinLength samples at info().rate_hz.
//
// CPU inference runs the hand-written native path (src/model/fast_encoder.h, a copy of the
// weights made at load time by prepare() and kept current: a write to any parameter, e.g. by the
// trainer, is noticed and the copy remade) unless set_backend(kLibTorch); CUDA runs the modules.
//
// Thread contract: a Classifier is created, used and destroyed on one thread (the inference
// thread). It is not thread-safe; distinct Classifiers may live on distinct threads. The one
// exception: the const predict(..., Workspace&) may run on several threads at once while
// shared() is true and nothing else touches the Classifier (inference instances).
// Errors: construction and loading throw std::runtime_error (bad files, unknown devices);
// predict()/encode() throw std::invalid_argument for bad arguments. Nothing here calls exit().
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/config/config.h"
#include "src/core/window.h"
#include "src/events/calibration.h"
#include "src/model/fast_encoder.h"

namespace primus::model {

/// Shortest window the encoder accepts (src/core/window.h).
inline constexpr int kMinLength = kMinWindowLength;
/// Width of emb, ssl and mmcl.
inline constexpr int kEmbeddingDim = 512;
using primus::kChannels;

struct ModelInfo {
  std::vector<std::string> labels;                     ///< one per class, non-empty, unique
  EmbeddingChoice embedding = EmbeddingChoice::kMmcl;  ///< which output feeds the head
  int window_length = 250;      ///< samples the model was trained on, >= kMinLength
  double rate_hz = 50.0;        ///< sample rate the model was trained on, > 0
  std::string version;          ///< free text, e.g. registry version or source checkpoint
  std::string head = "linear";  ///< "linear" | "mlp"
  int mlp_hidden = 128;         ///< hidden width of the "mlp" head, >= 1 (ignored for linear)
  /// Per-class post-processing parameters chosen after the fine-tune that made this model
  /// (src/events/calibration.h); none for a base model or a file that predates them.
  std::optional<events::Calibration> calibration;
};

/// "mmcl" | "ssl" | "emb".
const char* to_string(EmbeddingChoice e) noexcept;
/// Inverse of to_string; throws std::invalid_argument naming the value.
EmbeddingChoice parse_embedding_choice(const std::string& s);
/// Throws std::invalid_argument naming the first bad field of `info`.
void validate_model_info(const ModelInfo& info);

class Classifier {
 public:
  /// Fresh weights drawn with PyTorch's default initialisation from a private generator seeded by
  /// `seed` (the global torch RNG is not touched), so equal seeds give equal models.
  /// `device`: "auto" (CUDA when available, else CPU; logs the choice), "cpu", "cuda", "cuda:N".
  static std::unique_ptr<Classifier> random(const ModelInfo& info, std::uint64_t seed,
                                            const std::string& device);
  /// A complete classifier file (encoder + head + metadata), as written by save().
  /// Throws std::runtime_error naming the file and the first problem (and tensor, if any).
  static std::unique_ptr<Classifier> load(const std::string& safetensors_path,
                                          const std::string& device);
  /// Encoder weights from a file (an encoder file from tools/convert_primus_ckpt.py, or the
  /// encoder part of a classifier file, whose head.* tensors are then ignored) and a fresh head
  /// for `info`, initialised from `seed` as in random().
  static std::unique_ptr<Classifier> from_encoder(const std::string& safetensors_path,
                                                  const ModelInfo& info, std::uint64_t seed,
                                                  const std::string& device);

  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  /// x: batch*6*length floats ([B,6,T], see above); probs: batch*num_classes() softmax outputs,
  /// row-major. batch >= 1, length >= kMinLength, every value finite (otherwise
  /// std::invalid_argument naming the window, channel and sample). Runs under InferenceMode.
  void predict(const float* x, int batch, int length, float* probs);
  /// The encoder's three outputs, batch*512 floats each, row-major; pass nullptr for outputs
  /// not wanted. Same input rules as predict().
  void encode(const float* x, int batch, int length, float* emb, float* ssl, float* mmcl);

  /// Scratch memory of one thread's shared predict() calls.
  using Workspace = FastEncoder::Workspace;
  /// predict() for several threads sharing this Classifier, each with its own `ws`: runs the
  /// native path and allocates nothing once `ws` has grown. Thread-safe while shared() holds;
  /// when it does not (CUDA, backend libtorch), this runs the modules and the callers must
  /// serialise their calls. Same input rules and errors as predict().
  void predict(const float* x, int batch, int length, float* probs, Workspace& ws) const;
  /// True when the const predict() may run concurrently: the native path applies and its copy
  /// of the weights is current (prepare() was called and no parameter changed since).
  [[nodiscard]] bool shared() const;
  /// Makes the native path's copy of the weights now (load or swap time, not during serving);
  /// nothing on CUDA or with backend libtorch. load_model()/warm_up() call it.
  void prepare();
  /// The CPU path: native (default) or libtorch (the modules, as the trainer uses them).
  void set_backend(ModelBackend backend);
  [[nodiscard]] ModelBackend backend() const;
  /// "native (onednn)", "libtorch": what predict() runs, for logs and status.
  [[nodiscard]] std::string path_name() const;

  /// Writes encoder + head + metadata as safetensors: to a temporary file in the same
  /// directory, fsynced, then renamed over `path`. Throws std::runtime_error.
  void save(const std::string& path) const;

  /// A CPU copy whose head has one class per `labels` (e.g. grown by new labels): encoder weights
  /// copied, head rows of labels this model knows copied, rows of new labels freshly initialised
  /// from `seed`. The version is kept. Throws std::runtime_error if the encoders do not match.
  [[nodiscard]] std::unique_ptr<Classifier> with_labels(const std::vector<std::string>& labels,
                                                        std::uint64_t seed) const;

  [[nodiscard]] const ModelInfo& info() const;
  /// Sets info().version (written by save(), reported in events), e.g. "v3".
  void set_version(std::string version);
  /// Sets info().calibration (written by save()); nullopt removes it.
  void set_calibration(std::optional<events::Calibration> calibration);
  /// "cpu" or "cuda:N".
  [[nodiscard]] std::string device_name() const;
  [[nodiscard]] int num_classes() const;

  /// The LibTorch modules and device, for code that already sees torch (src/inference,
  /// src/training): include src/model/classifier_impl.h. Same thread contract as above.
  struct Impl;
  Impl& impl() noexcept { return *impl_; }
  const Impl& impl() const noexcept { return *impl_; }

 private:
  explicit Classifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Intra-op CPU threads (torch::set_num_threads). OpenMP keeps this per thread: call it inside
/// the thread that runs the model, before its first predict(). n >= 1.
void set_inference_threads(int n);

}  // namespace primus::model
