#pragma once
// primusctl's exit statuses, the same for every command (docs/control.md, primusctl(1)).
// primus-model, which primusctl runs for `embed` and `model info`, uses the first three.

namespace primus::ctl {

/// The command did what was asked (also --help and --version).
inline constexpr int kExitOk = 0;
/// It ran but failed: the daemon answered with an error, or a local operation (export, keygen,
/// quat2gyro, model info, embed) failed on its input or output files.
inline constexpr int kExitFailed = 1;
/// A usage error: a bad option, argument or PARAMS, an invalid endpoint, or a config or key file
/// named on the command line that cannot be read.
inline constexpr int kExitUsage = 2;
/// The daemon was not reached: no reply within --timeout (not running, wrong endpoint, CURVE
/// key mismatch), a malformed reply, or `events --timeout` elapsed without a message.
inline constexpr int kExitNoDaemon = 3;

}  // namespace primus::ctl
