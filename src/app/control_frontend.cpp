#include "src/app/control_frontend.h"

#include "src/service/json_api.h"

namespace primus::app {

void serve_control(bus::ControlServer& server, service::Service& svc) {
  for (const auto& method : service::json_methods()) {
    server.on(method, [&svc, method](const nlohmann::json& params, const bus::Responder& reply) {
      service::call_json(svc, method, params, [reply](service::Result r) {
        if (r.is_ok())
          reply.ok(std::move(r.value));
        else
          reply.fail(service::to_string(r.error->code), r.error->message);
      });
    });
  }
}

}  // namespace primus::app
