#include "src/ctl/keygen_command.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "src/bus/curve.h"

namespace primus::ctl {

int run_keygen(const std::string& prefix, std::ostream& out, std::ostream& err) {
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
    std::ofstream(pub, std::ios::trunc) << kp.public_z85 << "\n";
    out << "wrote " << sec << " and " << pub << "\npublic key: " << kp.public_z85 << "\n";
    return 0;
  } catch (const std::exception& e) {
    err << "primusctl keygen: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace primus::ctl
