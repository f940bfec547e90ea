// primusctl: talk to a running primusd (events) and work offline on files.
#include <CLI/CLI.hpp>

#include <iostream>

#include "src/app/ctl_events.h"
#include "src/core/version.h"

int main(int argc, char** argv) {
  CLI::App app{"primusctl: client and offline tools for primusd"};
  app.set_version_flag("-V,--version", std::string("primusctl ") + std::string(primus::version()));
  app.require_subcommand(1);

  primus::app::EventsOptions ev;
  auto* events = app.add_subcommand("events", "print the messages primusd publishes");
  events->add_option("-e,--endpoint", ev.endpoints, "ZeroMQ endpoint(s) to connect to");
  events->add_option("-c,--config", ev.config, "take the endpoints from this config file");
  events->add_option("-d,--device", ev.devices, "only this device (repeatable)");
  events->add_option("-t,--topic", ev.topics, "topic prefix: gesture, score, status, device (repeatable)");
  events->add_flag("--json", ev.json, "print the raw JSON, one message per line");
  events->add_option("-n,--count", ev.count, "exit after this many messages (0 = never)");
  events->add_option("--timeout", ev.timeout_s, "exit with status 2 after this many seconds without a message (0 = never)");

  CLI11_PARSE(app, argc, argv);
  if (events->parsed()) return primus::app::run_events(ev, std::cout, std::cerr);
  return 0;
}
