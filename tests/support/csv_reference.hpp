// The CSV rules as libcsv (Debian's libcsv-dev) implements them in strict mode: the reference the
// reader in host/csv.cpp is compared with (tests/unit/test_csv_reader.cpp, tests/fuzz/fuzz_csv.cpp).
// Test code only; the library does not use libcsv.
#pragma once
#include <string>
#include <vector>

namespace ef::test {

struct RefCsv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> cells;  // cells[c][r]
};

// libcsv with CSV_STRICT | CSV_STRICT_FINI, plus the reader's byte-level rules (UTF-8 BOM skipped,
// UTF-16 and NUL bytes refused) and table rules (header names non-empty and distinct, every row
// as wide as the header, at least one data row). Throws ef::Error when the text is refused.
RefCsv parse_csv_reference(const std::string& text);

}  // namespace ef::test
