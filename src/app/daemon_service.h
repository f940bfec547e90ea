#pragma once
// The daemon's implementation of the service API (src/service/service.h): what each call does
// with the parts. Front ends (the control socket today) call it through service::call_json.
//
// Threads: every method may be called from any thread and returns at once. Work on device state
// is posted to the io thread; captures go through the capture writer; fine-tuning and model
// activation through the training service. `done` runs on whichever of those threads finishes.
// Device ids are fixed after start, so looking one up needs no thread hop.
#include <functional>

#include "src/app/labelling.h"
#include "src/app/parts.h"
#include "src/app/status_report.h"
#include "src/service/service.h"

namespace primus::app {

class DaemonService final : public service::Service {
 public:
  /// `reload` applies the configuration file again (io thread) and answers `done`.
  using ReloadFn = std::function<void(service::Done done)>;

  DaemonService(Parts& parts, StatusReport& status, Labeller& labeller, ReloadFn reload)
      : p_(parts), status_(status), labeller_(labeller), reload_(std::move(reload)) {}

  void status(service::Done done) override;
  void devices(service::Done done) override;
  void reload(service::Done done) override;
  void label_start(const std::string& device, const std::string& label,
                   service::Done done) override;
  void label_stop(const std::string& device, service::Done done) override;
  void label_mark(const std::string& device, const std::string& label, service::MarkSpan span,
                  service::Done done) override;
  void labels(service::Done done) override;
  void capture_stats(service::Done done) override;
  void captures_list(service::CaptureSelector which, std::int64_t limit,
                     service::Done done) override;
  void captures_delete(service::CaptureSelector which, service::Done done) override;
  void finetune_run(std::optional<FinetuneMode> mode, bool wait, service::Done done) override;
  void finetune_status(service::Done done) override;
  void models_list(service::Done done) override;
  void models_activate(std::int64_t version, bool force, service::Done done) override;
  void models_rollback(std::optional<std::int64_t> version, service::Done done) override;

 private:
  /// Run fn on the io thread; its return value (or exception) answers done.
  void on_io(service::Done done, std::function<service::Result()> fn);
  /// Run fn on the capture writer's thread with the store.
  void on_store(service::Done done, std::function<nlohmann::json(capture::CaptureStore&)> fn);
  /// Index of device `id`; throws ServiceError(kNotFound) listing the devices.
  [[nodiscard]] std::size_t device_index(const std::string& id) const;
  /// Throws ServiceError(kUnavailable) when fine-tuning is disabled.
  void need_training() const;

  Parts& p_;
  StatusReport& status_;
  Labeller& labeller_;
  ReloadFn reload_;
};

}  // namespace primus::app
