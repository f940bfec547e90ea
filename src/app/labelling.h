#pragma once
// Labelling: which device is recording which label (label.start .. label.stop), and the cutting of
// a labelled span (plus context) out of a device's history ring into a capture, written durably by
// the capture writer before the caller hears back. docs/capture.md, docs/training.md.
//
// Context rule (capture::context_seconds): a gesture's span is stored with a whole window of
// context on both sides, so that training can cut every window containing all of it and the
// negatives holding only part of it; the null label gets none (its windows lie inside the span).
// When the newest samples of the span are not in the ring yet, the cut is retried every 100 ms
// for up to 2 s past the span's end; context that never comes (the device stopped) is left out.
//
// Threads: every method runs on the io thread (it reads the pipelines' rings). `done` runs on the
// io thread or on the capture writer's thread.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/app/parts.h"
#include "src/service/service.h"

namespace primus::app {

class Labeller {
 public:
  explicit Labeller(Parts& parts) : p_(parts), active_(parts.devices.size()) {}

  void start(std::size_t device, const std::string& label, service::Done done);
  void stop(std::size_t device, service::Done done);
  /// Store [from_ns, to_ns] (host steady time) of `device` as `label`.
  void mark(std::size_t device, const std::string& label, std::int64_t from_ns, std::int64_t to_ns,
            service::Done done);

  /// {"label","since_host_ns"} of the device's open label, or null.
  [[nodiscard]] nlohmann::json open_label_json(std::size_t device) const;

 private:
  struct Open {
    std::string label;
    std::int64_t t_start_host_ns = 0;
  };
  struct Cut {
    std::size_t device = 0;
    std::string label;
    std::int64_t from_ns = 0, to_ns = 0;          ///< the labelled span
    std::int64_t ctx_from_ns = 0, ctx_to_ns = 0;  ///< with context
    std::int64_t give_up_ns = 0;                  ///< stop waiting for samples after this
  };
  void try_cut(Cut cut, service::Done done);
  void store(const Cut& cut, const std::vector<signal::ModelFrame>& frames, service::Done done);

  Parts& p_;
  std::vector<std::optional<Open>> active_;  ///< per device
};

}  // namespace primus::app
