// Reading a weight file is bounded by what the file declares (src/model/safetensors.h): a sparse
// multi-GiB file, a header declaring a huge tensor or a header length beyond the limits is
// refused after a few syscalls, without reading the data or allocating memory for it. Each case
// checks the time taken and the growth of the process's peak RSS (VmHWM).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "src/model/model_file.h"
#include "src/model/safetensors.h"

namespace primus::model {
namespace {

constexpr std::uint64_t kGiB = 1024ull * 1024ull * 1024ull;
/// Peak RSS growth allowed for refusing one file (the old reader grew it by the file size).
constexpr std::int64_t kMaxHwmGrowthKb = 64 * 1024;
/// Time allowed for refusing one file (the old reader took ~29 s on a 4 GiB sparse file).
constexpr double kMaxSeconds = 2.0;

#define EXPECT_MSG(msg, needle) \
  EXPECT_NE((msg).find(needle), std::string::npos) << "message: '" << (msg) << "'"

/// Resets the process's peak RSS to its current RSS (Linux >= 4.0), so that a growth is seen
/// even below an earlier peak; harmless where unsupported (the check is then relative to it).
void reset_vm_hwm() { std::ofstream("/proc/self/clear_refs") << "5"; }

/// The process's peak resident set size in KiB (VmHWM of /proc/self/status), -1 if unknown.
std::int64_t vm_hwm_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

class SafetensorsReadLimits : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(testing::TempDir()) /
           ("st_limits_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// A file of `size` bytes (sparse: only the first bytes are written) that starts with the
  /// 8-byte header length `declared` and then `header`.
  std::filesystem::path sparse_file(const std::string& name, std::uint64_t declared,
                                    const std::string& header, std::uint64_t size) {
    const auto path = dir_ / name;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
    std::string head(8, '\0');
    std::memcpy(head.data(), &declared, 8);
    head += header;
    EXPECT_EQ(::write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0) << std::strerror(errno);
    ::close(fd);
    return path;
  }

  /// open_model_file(path) (what the daemon calls): the error message, "" if it loaded. Fails
  /// the test if it took longer than kMaxSeconds or grew the peak RSS by more than
  /// kMaxHwmGrowthKb.
  static std::string refuse(const std::filesystem::path& path) {
    reset_vm_hwm();
    const std::int64_t hwm_before = vm_hwm_kb();
    const auto t0 = std::chrono::steady_clock::now();
    std::string message;
    try {
      (void)open_model_file(path);
    } catch (const SafetensorsError& e) {
      message = e.what();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::int64_t hwm_after = vm_hwm_kb();
    EXPECT_LT(seconds, kMaxSeconds) << path;
    if (hwm_before > 0 && hwm_after > 0) {
      EXPECT_LT(hwm_after - hwm_before, kMaxHwmGrowthKb)
          << path << ": peak RSS grew from " << hwm_before << " to " << hwm_after << " KiB";
    }
    EXPECT_MSG(message, path.string());  // every error names the file
    return message;
  }

  std::filesystem::path dir_;
};

TEST_F(SafetensorsReadLimits, SparseFourGibFileWithHeaderLengthZero) {
  const auto path = sparse_file("zero.weights", 0, "", 4 * kGiB);
  EXPECT_MSG(refuse(path), "header length 0 is too small");
}

TEST_F(SafetensorsReadLimits, SparseFourGibFileWithAPlausibleHeaderIsOverTheFileLimit) {
  // A well-formed header whose one tensor covers the whole 4 GiB data buffer exactly: only the
  // file-size limit stops it, before the data is read.
  const std::uint64_t data = 4 * kGiB;
  std::string header = R"({"w":{"dtype":"F32","shape":[)" + std::to_string(data / 4) +
                       R"(],"data_offsets":[0,)" + std::to_string(data) + "]}}";
  header.append((8 - header.size() % 8) % 8, ' ');
  const auto path = sparse_file("huge.weights", header.size(), header, 8 + header.size() + data);
  const std::string msg = refuse(path);
  EXPECT_MSG(msg, "larger than the limit of " + std::to_string(kMaxFileBytes));
}

TEST_F(SafetensorsReadLimits, HeaderDeclaringATensorBeyondTheFileIsRefusedBeforeReadingData) {
  // A small file whose header declares a 4 GiB tensor: the extents are checked against the file
  // size, so the reader neither allocates nor reads 4 GiB.
  const std::uint64_t declared = 4 * kGiB;
  std::string header = R"({"w":{"dtype":"F32","shape":[)" + std::to_string(declared / 4) +
                       R"(],"data_offsets":[0,)" + std::to_string(declared) + "]}}";
  const auto path = sparse_file("liar.weights", header.size(), header, 8 + header.size() + 4096);
  const std::string msg = refuse(path);
  EXPECT_MSG(msg, "tensor 'w'");
  EXPECT_MSG(msg, "run past the 4096-byte data buffer");
}

TEST_F(SafetensorsReadLimits, HeaderLengthOverTheLimitInASparseFileIsNotAllocated) {
  const auto path = sparse_file("bighdr.weights", 1 * kGiB, "{", 4 * kGiB);
  EXPECT_MSG(refuse(path), "exceeds the limit of " + std::to_string(kMaxHeaderBytes));
}

TEST_F(SafetensorsReadLimits, HeaderLengthBeyondTheFileIsTruncated) {
  const auto path = sparse_file("short.weights", 1000, "{}", 64);
  EXPECT_MSG(refuse(path), "truncated: header length 1000 but only 56 bytes follow");
}

TEST_F(SafetensorsReadLimits, NotARegularFileIsNamed) {
  const auto fifo = dir_ / "model.weights.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  EXPECT_MSG(refuse(fifo), "a FIFO, not a regular file");  // and it did not wait for a writer
  EXPECT_MSG(refuse(dir_), "not a regular file");
  EXPECT_MSG(refuse(dir_ / "absent.weights"), "cannot open: No such file or directory");
}

TEST_F(SafetensorsReadLimits, AValidFileStillReadsWhole) {
  const auto path = dir_ / "ok.safetensors";
  write_safetensors(path, {{"a", {2, 2}, {1, 2, 3, 4}}, {"b", {3}, {5, 6, 7}}}, {{"k", "v"}});
  const auto f = SafetensorsFile::read(path);
  EXPECT_EQ(f.file_bytes(), std::filesystem::file_size(path));
  EXPECT_EQ(f.metadata().at("k"), "v");
  EXPECT_EQ(f.to_floats(*f.find("a")), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(f.to_floats(*f.find("b")), (std::vector<float>{5, 6, 7}));
  // Trailing bytes after the last tensor are refused, as in parse().
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "junk";
  }
  try {
    (void)SafetensorsFile::read(path);
    ADD_FAILURE() << "trailing bytes accepted";
  } catch (const SafetensorsError& e) {
    EXPECT_MSG(std::string(e.what()), "4 trailing bytes");
  }
}

}  // namespace
}  // namespace primus::model
