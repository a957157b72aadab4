// The table of every config key: dotted name, type, default, range and meaning. The config parser
// (config.cpp) validates against it, `eftrain config` prints it as a commented template, and the
// Python package reads its names and defaults from it, so the three cannot drift apart.
// To add a key: one row in config_keys.cpp, then read it where the parser fills Config.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ef {

enum class KeyType {
  Int,           // a JSON integer within `range`
  Number,        // a finite JSON number within `range`
  Bool,          // true or false
  String,        // a string, one of `choices` when it lists any
  Strings,       // an array of strings (each one of `choices` when it lists any)
  Ints,          // an array of integers, each within `range`
  StringOrList,  // a string, or an array of 1 to 64 strings (each one of `choices`)
  Object,        // a JSON object; its own rows are "<key>.*.<field>"
  IntOrAuto,     // Int, or the string "auto": a rule of the table's size picks the value
  NumberOrAuto,  // Number, or the string "auto"
};

// A numeric interval; infinite ends are open by nature.
struct Range {
  double lo = -1e308, hi = 1e308;
  bool lo_open = false, hi_open = false;
  bool contains(double v) const {
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
  std::string text() const;  // "[1, 1000]", ">= 0", "> 0", "(0, 10)"; "" for any value
};
Range any_value();
Range at_least(double lo);          // [lo, inf)
Range above(double lo);             // (lo, inf)
Range closed(double lo, double hi); // [lo, hi]
Range half_open(double lo, double hi);  // [lo, hi)
Range exclusive(double lo, double hi);  // (lo, hi)

struct ConfigKey {
  std::string path;     // dotted: "train.epochs"; "data.columns.*.min" for a field of every entry
  KeyType type;
  std::string def;      // the default as JSON text; "" = no fixed default (see meaning)
  Range range;          // Int, Number and the entries of Ints
  std::string choices;  // "relu|tanh" for strings; "" = any string
  std::string meaning;  // one line for the template and --help
  std::string section() const;  // "train" for "train.epochs", "" for "device"
  std::string leaf() const;     // "epochs"
  std::vector<std::string> choice_list() const;
};

// Every key, in the order the template prints them.
const std::vector<ConfigKey>& config_keys();
// The row of a dotted path (throws for a path the table does not have: a programming error).
const ConfigKey& config_key(const std::string& path);
// The table's default of a key as JSON (null when it has none).
nlohmann::json config_default(const std::string& path);
const char* to_string(KeyType t);  // "integer", "number", ...

// A commented template of the whole config: every key with its default, range and meaning,
// JSON with // comments (parse_config accepts them). Keys without a fixed default are shown
// commented out.
std::string config_template();

}  // namespace ef
