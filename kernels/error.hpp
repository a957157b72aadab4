// Errors as exceptions that carry the source file and line where they were raised.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ef {

// Error: every failure the library reports. what() is the user-facing message;
// where() is the source location, kept separate so messages stay readable.
class Error : public std::runtime_error {
 public:
  Error(const std::string& msg, const char* file, int line)
      : std::runtime_error(msg), file_(file), line_(line) {}
  std::string where() const { return std::string(file_) + ":" + std::to_string(line_); }

 private:
  const char* file_;
  int line_;
};

namespace detail {
template <class... A>
std::string cat(const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  return os.str();
}
}  // namespace detail

}  // namespace ef

// EF_THROW("text ", value, ...) throws ef::Error with file:line attached.
#define EF_THROW(...) throw ::ef::Error(::ef::detail::cat(__VA_ARGS__), __FILE__, __LINE__)
// EF_CHECK(cond, msg...) throws when cond is false (a precondition, checked in release too).
#define EF_CHECK(cond, ...) \
  do {                      \
    if (!(cond)) EF_THROW(__VA_ARGS__); \
  } while (0)
