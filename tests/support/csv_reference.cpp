#include "csv_reference.hpp"

#include <csv.h>

#include <cstring>
#include <set>

#include "error.hpp"

namespace ef::test {
namespace {

struct State {
  std::vector<std::string> row;
  RefCsv* out = nullptr;
  size_t record = 0;  // 0 = header
  std::string error;
};

void on_field(void* s, size_t len, void* data) {
  static_cast<State*>(data)->row.emplace_back(static_cast<const char*>(s), len);
}

void on_row(int, void* data) {
  auto* st = static_cast<State*>(data);
  if (st->error.empty()) {
    if (st->record == 0) {
      std::set<std::string> seen;
      for (auto& h : st->row)
        if (h.empty() || !seen.insert(h).second) st->error = "bad header";
      st->out->header = st->row;
      st->out->cells.assign(st->row.size(), {});
    } else if (st->row.size() != st->out->header.size()) {
      st->error = "ragged row";
    } else {
      for (size_t c = 0; c < st->row.size(); ++c) st->out->cells[c].push_back(std::move(st->row[c]));
    }
  }
  ++st->record;
  st->row.clear();
}

}  // namespace

RefCsv parse_csv_reference(const std::string& text) {
  const auto* u = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  if (n >= 2 && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff) || (u[0] != 0 && u[1] == 0) ||
                 (u[0] == 0 && u[1] != 0)))
    EF_THROW("reference: UTF-16");
  if (std::memchr(text.data(), 0, n)) EF_THROW("reference: NUL byte");
  const size_t skip = n >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf ? 3 : 0;
  RefCsv out;
  State st;
  st.out = &out;
  csv_parser p{};
  if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) EF_THROW("reference: csv_init");
  const bool ok = csv_parse(&p, text.data() + skip, n - skip, on_field, on_row, &st) == n - skip &&
                  csv_fini(&p, on_field, on_row, &st) == 0;
  csv_free(&p);
  if (!ok) EF_THROW("reference: malformed CSV");
  if (!st.error.empty()) EF_THROW("reference: ", st.error);
  if (st.record < 2) EF_THROW("reference: no header or no data rows");
  return out;
}

}  // namespace ef::test
