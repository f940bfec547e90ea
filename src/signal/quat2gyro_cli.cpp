#include "src/signal/quat2gyro_cli.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <string_view>

namespace primus::signal {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '"')) {
    s.remove_suffix(1);
  }
  return s;
}

void split(std::string_view line, char sep, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t p = line.find(sep, start);
    out.push_back(trim(line.substr(start, p == std::string_view::npos ? p : p - start)));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
}

bool parse_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

void write_rate(std::ostream& out, std::string_view t, const Eigen::Vector3d& w) {
  char buf[96];
  const int n = std::snprintf(buf, sizeof buf, ",%.9g,%.9g,%.9g\n", w.x(), w.y(), w.z());
  out << t;
  out.write(buf, n);
}

}  // namespace

bool quat2gyro_stream(std::istream& in, std::ostream& out, const Quat2GyroOptions& opt,
                      Quat2GyroReport& report, std::string& error) {
  report = Quat2GyroReport{};
  std::vector<std::string> qcols = opt.quat_cols;
  if (qcols.empty()) {
    qcols = opt.order == QuatOrder::kWxyz ? std::vector<std::string>{"qw", "qx", "qy", "qz"}
                                          : std::vector<std::string>{"qx", "qy", "qz", "qw"};
  }
  if (qcols.size() != 4) {
    error = "--quat-cols needs 4 names, got " + std::to_string(qcols.size());
    return false;
  }
  std::string header;
  if (!std::getline(in, header)) {
    error = "input is empty (no header line)";
    return false;
  }
  const char sep =
      header.find(';') != std::string::npos && header.find(',') == std::string::npos ? ';' : ',';
  std::vector<std::string_view> f;
  split(header, sep, f);
  auto find = [&](const std::string& name) -> int {
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (f[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  const int tcol = find(opt.time_col);
  if (tcol < 0) {
    error = "no time column '" + opt.time_col + "' in the header";
    return false;
  }
  std::array<int, 4> qi{};  // positions of w, x, y, z
  for (std::size_t k = 0; k < 4; ++k) {
    const int c = find(qcols[k]);
    if (c < 0) {
      error = "no quaternion column '" + qcols[k] + "' in the header";
      return false;
    }
    // qcols are in `order`; store by w,x,y,z
    const std::size_t slot = opt.order == QuatOrder::kWxyz ? k : (k + 1) % 4;
    qi[slot] = c;
  }
  const std::size_t ncols = f.size();

  // Rows are kept (offline tool) so that the centred outputs, one row late, land on their row.
  std::vector<std::string> times;
  std::vector<Eigen::Vector3d> rates;
  std::vector<bool> good;
  std::vector<std::size_t> row_of;  // accepted index -> row
  QuatRate qr(opt.method);
  std::string line;
  double last_t = -std::numeric_limits<double>::infinity();
  bool have_t = false;
  auto take = [&](const QuatRateOut& o) {
    rates[row_of[o.index]] = o.w;
    good[row_of[o.index]] = true;
  };
  while (std::getline(in, line)) {
    if (trim(line).empty()) continue;
    ++report.rows;
    split(line, sep, f);
    times.emplace_back(f.size() > static_cast<std::size_t>(tcol) ? std::string(f[tcol]) : "");
    rates.emplace_back(Eigen::Vector3d::Zero());
    good.push_back(false);
    double t = 0.0;
    std::array<double, 4> q{};
    bool ok = f.size() == ncols && parse_double(f[static_cast<std::size_t>(tcol)], t);
    for (std::size_t k = 0; ok && k < 4; ++k)
      ok = parse_double(f[static_cast<std::size_t>(qi[k])], q[k]);
    if (!ok) {
      ++report.bad_parse;
      continue;
    }
    if (!std::isfinite(t) || (have_t && !(t - last_t > QuatRate::kMinDtS))) {
      ++report.bad_time;
      continue;
    }
    QuatRateOut o;
    bool has = false;
    const QuatPush r = qr.push(t, q, o, has);
    if (r == QuatPush::kBadQuat) {
      ++report.bad_quat;
      continue;
    }
    if (r == QuatPush::kBadDt) {
      ++report.bad_time;
      continue;
    }
    row_of.push_back(times.size() - 1);
    last_t = t;
    have_t = true;
    if (has) take(o);
  }
  QuatRateOut o;
  if (qr.flush(o)) take(o);
  report.renormalised = qr.counters().renormalised;

  out << "t,gx,gy,gz\n";
  const Eigen::Vector3d nan3 = Eigen::Vector3d::Constant(std::numeric_limits<double>::quiet_NaN());
  for (std::size_t i = 0; i < times.size(); ++i)
    write_rate(out, times[i], good[i] ? rates[i] : nan3);
  return true;
}

int run_quat2gyro(const Quat2GyroOptions& opt, std::ostream& err) {
  std::ifstream fin;
  std::istream* in = &std::cin;
  if (opt.in_path != "-") {
    fin.open(opt.in_path);
    if (!fin) {
      err << "quat2gyro: cannot open input '" << opt.in_path << "'\n";
      return 1;
    }
    in = &fin;
  }
  std::ofstream fout;
  std::ostream* out = &std::cout;
  if (opt.out_path != "-") {
    fout.open(opt.out_path, std::ios::trunc);
    if (!fout) {
      err << "quat2gyro: cannot open output '" << opt.out_path << "'\n";
      return 1;
    }
    out = &fout;
  }
  Quat2GyroReport rep;
  std::string error;
  if (!quat2gyro_stream(*in, *out, opt, rep, error)) {
    err << "quat2gyro: " << error << "\n";
    return 1;
  }
  out->flush();
  if (!*out) {
    err << "quat2gyro: write to '" << opt.out_path << "' failed\n";
    return 1;
  }
  err << "quat2gyro: " << rep.rows << " rows, " << rep.bad() << " bad (" << rep.bad_parse
      << " unparsable, " << rep.bad_quat << " NaN/inf/zero quaternion, " << rep.bad_time
      << " time not increasing), " << rep.renormalised << " renormalised\n";
  return 0;
}

}  // namespace primus::signal
