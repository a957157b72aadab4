#include "output_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "error.hpp"

namespace ef {
namespace {

// --- named-temp fallback: files to unlink if a signal ends the process ---
// Fixed slots (no allocation, no locks): the handler may only use async-signal-safe calls.
constexpr int kSlots = 16;
constexpr size_t kNameMax = 4096;
char g_names[kSlots][kNameMax];
std::atomic<int> g_used[kSlots];

void cleanup_handler(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load()) ::unlink(g_names[i]);
  ::signal(sig, SIG_DFL);
  ::raise(sig);  // die of the same signal, with the same status as without the handler
}

// Installs cleanup_handler for the signals that end a process by default, unless the program
// has its own handler (an embedding interpreter, say): theirs is left alone.
void install_cleanup_handlers() {
  static std::atomic<bool> done{false};
  if (done.exchange(true)) return;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;
    struct sigaction sa {};
    sa.sa_handler = cleanup_handler;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
}

// A file size limit kills the process at the write that crosses it; ignored, the write fails
// with EFBIG and the error path discards the file.
void ignore_sigxfsz() {
  struct sigaction old {};
  if (::sigaction(SIGXFSZ, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::signal(SIGXFSZ, SIG_IGN);
}

int register_name(const std::string& name) {
  if (name.size() >= kNameMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    if (g_used[i].load()) continue;
    std::memcpy(g_names[i], name.c_str(), name.size() + 1);
    int expected = 0;
    if (g_used[i].compare_exchange_strong(expected, 1)) return i;
  }
  return -1;  // more than kSlots outputs open at once: still exclusive, just not signal-cleaned
}
void unregister_name(const std::string& name) {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load() && name == g_names[i]) g_used[i].store(0);
}

std::string random_suffix() {
  unsigned char b[6];
  size_t got = 0;
  while (got < sizeof b) {
    const ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) EF_THROW("cannot draw a random file name (getrandom: ", std::strerror(errno), ")");
    got += size_t(n);
  }
  static const char hex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

// Blocks the terminating signals between "the complete file has a temporary name" and "it has
// the final name", so an interrupt cannot leave the temporary name behind.
struct SignalBlock {
  sigset_t old;
  SignalBlock() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&s, sig);
    pthread_sigmask(SIG_BLOCK, &s, &old);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};

}  // namespace

OutputFile::OutputFile(const std::string& path, bool durable) : path_(path), durable_(durable) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  if (path.empty()) EF_THROW("empty output file name");
  if (p.filename().empty()) EF_THROW(path, ": cannot write (the name is a folder)");
  dir_ = p.parent_path().string();
  if (dir_.empty()) dir_ = ".";
  ignore_sigxfsz();
  const mode_t mode = 0666;  // less the umask, like any new file
#ifdef O_TMPFILE
  if (::access("/proc/self/fd", X_OK) == 0 && !std::getenv("EF_OUTPUT_NO_TMPFILE")) {
    fd_ = ::open(dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (fd_ < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOSYS)
      EF_THROW(path, ": cannot write (cannot create a file in ", dir_, ": ", std::strerror(errno), ")");
  }
#endif
  if (fd_ < 0) {
    install_cleanup_handlers();
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
      tmp_name_ = dir_ + "/." + p.filename().string() + ".tmp." + random_suffix();
      fd_ = ::open(tmp_name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd_ < 0 && errno != EEXIST)
        EF_THROW(path, ": cannot write (cannot create ", tmp_name_, ": ", std::strerror(errno), ")");
    }
    if (fd_ < 0) EF_THROW(path, ": cannot write (no free temporary name in ", dir_, ")");
    register_name(tmp_name_);
  }
  buf_.reserve(1 << 20);
}

OutputFile::~OutputFile() {
  if (!committed_) discard();
}

void OutputFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_name_.empty()) {
    ::unlink(tmp_name_.c_str());
    unregister_name(tmp_name_);
  }
}

void OutputFile::write(const char* data, size_t n) {
  EF_CHECK(fd_ >= 0 && !committed_, path_, ": write after commit");
  if (buf_.size() + n > (1u << 20)) flush();
  if (n >= (1u << 20))
    write_all(data, n);  // large blocks skip the buffer
  else
    buf_.append(data, n);
}

void OutputFile::flush() {
  write_all(buf_.data(), buf_.size());
  buf_.clear();
}

void OutputFile::write_all(const char* p, size_t left) {
  while (left > 0) {
    const ssize_t w = ::write(fd_, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int e = w < 0 ? errno : ENOSPC;
      buf_.clear();
      EF_THROW(path_, ": write failed (", e == EFBIG ? "file too large: the file size limit (ulimit -f) was reached"
                                          : e == ENOSPC ? "disk full" : std::strerror(e), ")");
    }
    p += w;
    left -= size_t(w);
  }
}

void OutputFile::commit() {
  EF_CHECK(fd_ >= 0 && !committed_, path_, ": commit twice");
  flush();
  if (durable_ && ::fsync(fd_) != 0) EF_THROW(path_, ": write failed (fsync: ", std::strerror(errno), ")");
  SignalBlock block;
  if (tmp_name_.empty()) {
    // Give the unnamed file a fresh name (linkat never replaces one), then rename it over path.
    const std::string src = "/proc/self/fd/" + std::to_string(fd_);
    const std::string base = std::filesystem::path(path_).filename().string();
    std::string name;
    for (int attempt = 0; attempt < 100; ++attempt) {
      name = dir_ + "/." + base + ".tmp." + random_suffix();
      if (::linkat(AT_FDCWD, src.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) break;
      if (errno != EEXIST) EF_THROW(path_, ": cannot write (linkat: ", std::strerror(errno), ")");
      name.clear();
    }
    if (name.empty()) EF_THROW(path_, ": cannot write (no free temporary name in ", dir_, ")");
    if (::rename(name.c_str(), path_.c_str()) != 0) {
      const int e = errno;
      ::unlink(name.c_str());
      EF_THROW(path_, ": cannot move the finished file into place (", std::strerror(e), ")");
    }
    ::close(fd_);
  } else {
    if (::close(fd_) != 0) {
      fd_ = -1;
      EF_THROW(path_, ": write failed (close: ", std::strerror(errno), ")");
    }
    fd_ = -1;
    if (::rename(tmp_name_.c_str(), path_.c_str()) != 0)
      EF_THROW(path_, ": cannot move the finished file into place (", std::strerror(errno), ")");
    unregister_name(tmp_name_);
  }
  fd_ = -1;
  committed_ = true;
}

void write_file_atomic(const std::string& path, const std::string& content, bool durable) {
  OutputFile f(path, durable);
  f.write(content);
  f.commit();
}

int open_regular_file(const std::string& path, const char* what) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) EF_THROW(path, ": no such file (cannot open ", what, ")");
    if (errno == EISDIR) EF_THROW(path, ": is a directory, not ", what);
    EF_THROW(path, ": cannot open ", what, " for reading (", std::strerror(errno), ")");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    EF_THROW(path, ": cannot open ", what, " (", std::strerror(e), ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) EF_THROW(path, ": is a directory, not ", what);
    EF_THROW(path, ": is not a regular file (a pipe, device or socket); ", what, " must be a regular file");
  }
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

}  // namespace ef
