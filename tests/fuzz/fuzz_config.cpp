// libFuzzer target: ef::parse_config on arbitrary bytes (empty base_dir, no overrides), then
// again with one --set override: the input's first line is the override, the rest the JSON.
// A config that parses must also serialize (c.effective is dumped into every saved model).
// parse_config must succeed or throw ef::Error; any other exception, a sanitizer report or a
// hang is a bug.
//
// Known, reported bugs (reproducers in tests/fuzz/crashes/) can be skipped so a run goes on
// looking for new ones: EF_FUZZ_SKIP_KNOWN=1 swallows nlohmann out_of_range.406 (number overflow,
// escaping parse_config) and type_error.316 (invalid UTF-8 in c.effective, from a --set string).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "config.hpp"
#include "error.hpp"

namespace {

const bool skip_known = std::getenv("EF_FUZZ_SKIP_KNOWN") != nullptr;

void parse(const std::string& text, const std::vector<std::string>& overrides) {
  try {
    const ef::Config c = ef::parse_config(text, "fuzz.json", "", overrides);
    (void)c.effective.dump();  // as Model::save does with the config
  } catch (const ef::Error&) {
  }
}

void one(const std::string& text, const std::vector<std::string>& overrides) {
  if (!skip_known) return parse(text, overrides);  // no catch-and-rethrow: keeps the throw site
  try {
    parse(text, overrides);
  } catch (const nlohmann::json::exception& e) {
    if (e.id != 406 && e.id != 316) throw;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  one(text, {});
  const size_t nl = text.find('\n');
  if (nl != std::string::npos) one(text.substr(nl + 1), {text.substr(0, nl)});
  return 0;
}
