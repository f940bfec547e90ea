#pragma once
// Swapping the served model for the file a reload names (SIGHUP or config.reload with a new
// model.weights): the file is loaded and warmed on a loader thread ("primus-load") beside the live
// model, which keeps serving; the engine then swaps it in between two batches. A file that does
// not load leaves the live model in place. Registry versions (models.activate) go through the
// training service instead, which loads on its own thread.
//
// Threads: request() and join() from the io thread. The loader thread runs the load; on success
// it posts the new model.weights into Parts::cfg on the io thread.
#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "src/app/parts.h"

namespace primus::app {

class ModelSwap {
 public:
  /// Called once on the loader thread: empty on success, else why the model was not loaded.
  using Done = std::function<void(const std::string& error)>;

  explicit ModelSwap(Parts& parts) : p_(parts) {}
  ~ModelSwap() { join(); }
  ModelSwap(const ModelSwap&) = delete;
  ModelSwap& operator=(const ModelSwap&) = delete;

  /// Start loading `weights` (empty: random weights). False, and `done` not called, when a load
  /// is already running.
  bool request(const std::string& weights, Done done);
  /// Wait for a load in progress (stop: after the engine stopped, which fails a pending swap).
  void join();

 private:
  Parts& p_;
  std::thread loader_;
  std::atomic<bool> loading_{false};
};

}  // namespace primus::app
