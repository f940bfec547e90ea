#pragma once
// The control socket as a front end of the service API: every method of service::json_methods()
// is registered on the ControlServer and answered through its Responder. No logic of its own:
// names, validation and error codes are the service's (src/service/json_api.h).
//
// Threads: handlers run on the control server's thread and return at once (the service never
// blocks); replies go out from whichever thread finishes the call.
#include "src/bus/control_server.h"
#include "src/service/service.h"

namespace primus::app {

/// Register every service method on `server` (before server.start()). `svc` must outlive it.
void serve_control(bus::ControlServer& server, service::Service& svc);

}  // namespace primus::app
