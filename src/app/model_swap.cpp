#include "src/app/model_swap.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "src/model/classifier.h"
#include "src/model/model_loader.h"

namespace primus::app {

bool ModelSwap::request(const std::string& weights, Done done) {
  if (loading_.exchange(true)) return false;
  if (loader_.joinable()) loader_.join();
  Config load_cfg = p_.cfg;
  load_cfg.model.weights = weights;
  spdlog::info("model.weights: {} -> {}; loading beside the live model",
               p_.cfg.model.weights.empty() ? "(random)" : p_.cfg.model.weights,
               weights.empty() ? "(random)" : weights);
  loader_ = std::thread([this, load_cfg, done = std::move(done)] {
    pthread_setname_np(pthread_self(), "primus-load");
    std::string error;
    try {
      model::set_inference_threads(load_cfg.model.threads);
      auto m = model::load_model(load_cfg);
      p_.engine->request_swap(std::move(m)).get();
      boost::asio::post(p_.io, [this, w = load_cfg.model.weights] { p_.cfg.model.weights = w; });
    } catch (const std::exception& e) {
      error = e.what();
      spdlog::error("new model not loaded, keeping {}: {}", p_.engine->model_version(), error);
    }
    loading_.store(false);
    if (done) done(error);
  });
  return true;
}

void ModelSwap::join() {
  if (loader_.joinable()) loader_.join();
}

}  // namespace primus::app
