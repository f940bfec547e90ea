#include "src/training/registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace primus::training {
namespace fs = std::filesystem;

namespace {

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<int> parse_version(const std::string& s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoi(s);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + p.string() + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("fsync " + p.string() + ": " + std::strerror(err));
}

void write_file_durably(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      throw std::runtime_error("cannot create " + tmp.string() + ": " + std::strerror(errno));
    std::size_t off = 0;
    while (off < text.size()) {
      const auto n = ::write(fd, text.data() + off, text.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        throw std::runtime_error("write " + tmp.string() + ": " + std::strerror(err));
      }
      off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error("fsync " + tmp.string() + ": " + std::strerror(err));
    }
    ::close(fd);
  }
  fs::rename(tmp, path);
  fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path(), true);
}

ModelRegistry::ModelRegistry(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("model registry " + dir_.string() + ": " + ec.message());
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0 || name.find(".tmp-") != std::string::npos) {
      std::error_code rm;
      fs::remove_all(e.path(), rm);
    }
  }
  if (ec) throw std::runtime_error("model registry " + dir_.string() + ": " + ec.message());
}

fs::path ModelRegistry::model_path(int version) const {
  return dir_ / std::to_string(version) / "model.safetensors";
}

int ModelRegistry::next_locked() const {
  int hi = 0;
  if (auto v = parse_version(read_text(dir_ / "next"))) hi = *v - 1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (auto v = parse_version(e.path().filename().string())) hi = std::max(hi, *v);
  return hi + 1;
}

int ModelRegistry::add(const std::function<void(const fs::path&, int)>& write_model,
                       nlohmann::json meta) {
  std::lock_guard lk(mu_);
  const int v = next_locked();
  // Reserve the number first, so a crash after the rename cannot hand it out twice.
  write_file_durably(dir_ / "next", std::to_string(v + 1));
  const fs::path tmp = dir_ / (".tmp-" + std::to_string(v) + "-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    write_model(tmp / "model.safetensors", v);
    fsync_path(tmp / "model.safetensors", false);
    meta["version"] = v;
    meta["created_wall_ns"] = wall_ns();
    write_file_durably(tmp / "meta.json", meta.dump(2));
    fsync_path(tmp, true);
    fs::rename(tmp, dir_ / std::to_string(v));
    fsync_path(dir_, true);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  return v;
}

void ModelRegistry::set_active(int version) {
  std::lock_guard lk(mu_);
  if (version != 0) {
    const auto info = read_locked(version);
    if (!info)
      throw std::invalid_argument("model version " + std::to_string(version) + " does not exist");
    if (info->status == "broken")
      throw std::invalid_argument("model version " + std::to_string(version) + " is broken");
  }
  write_file_durably(dir_ / "active", std::to_string(version));
}

int ModelRegistry::active() const {
  std::lock_guard lk(mu_);
  const auto v = parse_version(read_text(dir_ / "active"));
  return v.value_or(0);
}

std::optional<VersionInfo> ModelRegistry::read_locked(int version) const {
  const fs::path d = dir_ / std::to_string(version);
  std::error_code ec;
  if (!fs::is_directory(d, ec)) return std::nullopt;
  VersionInfo vi;
  vi.version = version;
  const auto text = read_text(d / "meta.json");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !fs::is_regular_file(d / "model.safetensors", ec)) {
    vi.status = "broken";
    return vi;
  }
  vi.meta = std::move(j);
  vi.status = vi.meta.value("status", std::string("accepted"));
  return vi;
}

std::optional<VersionInfo> ModelRegistry::get(int version) const {
  std::lock_guard lk(mu_);
  return read_locked(version);
}

std::vector<VersionInfo> ModelRegistry::list() const {
  std::lock_guard lk(mu_);
  std::vector<int> versions;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (auto v = parse_version(e.path().filename().string()); v && e.is_directory())
      versions.push_back(*v);
  std::sort(versions.begin(), versions.end());
  std::vector<VersionInfo> out;
  for (int v : versions)
    if (auto vi = read_locked(v)) out.push_back(std::move(*vi));
  return out;
}

int ModelRegistry::prune(int keep) {
  const int act = active();
  auto all = list();
  std::lock_guard lk(mu_);
  int removed = 0;
  const auto n = static_cast<int>(all.size());
  for (int i = 0; i < n && n - removed > keep; ++i) {
    if (all[static_cast<std::size_t>(i)].version == act) continue;
    std::error_code ec;
    fs::remove_all(dir_ / std::to_string(all[static_cast<std::size_t>(i)].version), ec);
    if (!ec) ++removed;
  }
  if (removed) fsync_path(dir_, true);
  return removed;
}

}  // namespace primus::training
