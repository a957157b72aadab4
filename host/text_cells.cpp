#include "text_cells.hpp"

#include <cstring>

#include "error.hpp"

namespace ef {

namespace {
bool has_nul(const std::string& s) { return std::memchr(s.data(), '\0', s.size()) != nullptr; }
// A printable copy of a name for the message: each NUL byte shown as \0.
std::string shown(const std::string& s) {
  std::string out;
  for (char ch : s) out += ch == '\0' ? std::string("\\0") : std::string(1, ch);
  return out;
}
}  // namespace

void check_text_cells(const echoflow::Column& c, const std::string& source) {
  const char* why = " a NUL byte, which CSV text cannot hold (the CSV reader refuses it)";
  EF_CHECK(!has_nul(c.name), source, ": column name \"", shown(c.name), "\" has", why);
  EF_CHECK(!has_nul(c.missing_token), source, ": column \"", c.name, "\": the missing token has", why);
  for (size_t r = 0; r < c.labels.size(); ++r)
    EF_CHECK(c.is_missing(r) || !has_nul(c.labels[r]), source, ": column \"", c.name, "\", row ", r + 1,
             ": the label \"", shown(c.labels[r]), "\" has", why);
}

}  // namespace ef
