// Output files that appear only when complete and cannot be redirected by someone else.
//
// Every file eftrain writes (CSV, model, plot) goes through OutputFile:
//   - On Linux the data goes to an unnamed O_TMPFILE in the target's folder; commit() gives it a
//     fresh random name there with linkat (which never follows or replaces an existing name) and
//     renames that over the target. A process killed by any signal, or a failed write, leaves
//     nothing: the unnamed file disappears with the descriptor.
//   - Where O_TMPFILE is unavailable (file system without support, no /proc), the data goes to a
//     random-named ".NAME.tmp.XXXXXXXXXXXX" created with O_CREAT|O_EXCL|O_NOFOLLOW, so a
//     pre-created name or symlink is never opened; SIGINT, SIGTERM, SIGHUP and SIGXFSZ handlers
//     unlink such files before the process dies.
// SIGXFSZ (a `ulimit -f` file size limit) is ignored while an output is open, so the write fails
// with EFBIG and the caller reports "file too large" instead of dying with a partial file.
// EF_OUTPUT_NO_TMPFILE=1 in the environment forces the fallback (the tests exercise both).
// rename() replaces the target name itself: a symlink at the target is replaced, never followed.
#pragma once
#include <cstddef>
#include <string>

namespace ef {

class OutputFile {
 public:
  // Creates the hidden file in path's folder. durable: fsync before the file is linked in
  // (models); CSV and plots skip it (a crash loses the new file, never the old one's name).
  explicit OutputFile(const std::string& path, bool durable = false);
  ~OutputFile();  // discards the data unless commit() succeeded
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(const char* data, size_t n);
  void write(const std::string& s) { write(s.data(), s.size()); }
  // Flushes and moves the file into place (replacing an existing file atomically). Throws on
  // failure, leaving the target as it was.
  void commit();
  const std::string& path() const { return path_; }
  // True when this file uses O_TMPFILE (false: the named-temp fallback). For tests.
  bool unnamed() const { return tmp_name_.empty(); }

 private:
  void flush();
  void write_all(const char* p, size_t n);
  void discard() noexcept;
  std::string path_, dir_, tmp_name_;
  int fd_ = -1;
  bool durable_ = false, committed_ = false;
  std::string buf_;
};

// Writes `content` to path through an OutputFile.
void write_file_atomic(const std::string& path, const std::string& content, bool durable = false);

// Opens `path` for reading only if it is a regular file (not a FIFO, device or folder), without
// blocking on a FIFO. Returns the descriptor; throws ef::Error naming the file and `what`
// ("the model file", "CSV file") otherwise.
int open_regular_file(const std::string& path, const char* what);

}  // namespace ef
