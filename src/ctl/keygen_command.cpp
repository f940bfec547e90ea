#include "src/ctl/keygen_command.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "src/bus/curve.h"
#include "src/ctl/exit_status.h"
#include "src/ctl/json_fields.h"

namespace primus::ctl {

int run_keygen(const std::string& prefix, bool json, std::ostream& out, std::ostream& err) {
  try {
    const auto kp = bus::curve_keypair();
    const std::string sec = prefix + ".secret", pub = prefix + ".public";
    {
      std::ofstream f(sec, std::ios::trunc);
      if (!f) throw std::runtime_error("cannot write " + sec);
      std::filesystem::permissions(
          sec, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
      f << "# primusd CURVE secret key (keep private)\n" << kp.secret_z85 << "\n";
    }
    std::ofstream p(pub, std::ios::trunc);
    p << kp.public_z85 << "\n";
    p.close();
    if (!p) throw std::runtime_error("cannot write " + pub);
    if (json) {
      out << dump(nlohmann::json{
                 {"secret_file", sec}, {"public_file", pub}, {"public_key", kp.public_z85}})
          << "\n";
    } else {
      out << "wrote " << sec << " and " << pub << "\npublic key: " << kp.public_z85 << "\n";
    }
    return kExitOk;
  } catch (const std::exception& e) {
    err << "primusctl keygen: " << e.what() << "\n";
    return kExitFailed;
  }
}

}  // namespace primus::ctl
