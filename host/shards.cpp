#include "shards.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "table_stream.hpp"

namespace echoflow {
namespace {

using nlohmann::json;

// What one shard says about its columns, for the type agreement: whether a present cell is not a
// finite number ("text"), the present count, whether all numbers are whole, and up to cap
// distinct numbers.
json column_facts(const Column& c, size_t cap) {
  bool text = false, whole = true;
  size_t present = 0;
  std::set<double> distinct;
  auto number = [&](double v) {
    ++present;
    whole &= v == std::floor(v) && std::fabs(v) < 9e15;
    if (distinct.size() < cap) distinct.insert(v);
  };
  const size_t n = c.size();
  for (size_t r = 0; r < n && !text; ++r) {
    if (c.is_missing(r)) continue;
    if (c.type != ColumnType::Categorical) {
      number(c.values[r]);
      continue;
    }
    double v = 0;
    bool non_finite = false;
    if (parse_number(c.labels[r], v, &non_finite) && std::isfinite(v)) number(v);
    else text = true;
  }
  return {{"type", ef::to_string(c.type)}, {"text", text}, {"present", present}, {"whole", whole},
          {"distinct", std::vector<double>(distinct.begin(), distinct.end())}, {"token", c.missing_token},
          {"missing", !c.missing.empty()}};
}

// b appended to a (same columns, in order).
void append(Table& a, Table&& b) {
  if (a.columns.empty()) {
    a = std::move(b);
    return;
  }
  const size_t na = a.rows(), nb = b.rows();
  for (size_t c = 0; c < a.columns.size(); ++c) {
    Column& x = a.columns[c];
    Column& y = b.columns[c];
    if (!x.missing.empty() || !y.missing.empty()) {
      x.missing.resize(na, 0);
      if (y.missing.empty()) x.missing.resize(na + nb, 0);
      else x.missing.insert(x.missing.end(), y.missing.begin(), y.missing.end());
    }
    if (x.type == ColumnType::Categorical)
      x.labels.insert(x.labels.end(), std::make_move_iterator(y.labels.begin()), std::make_move_iterator(y.labels.end()));
    else
      x.values.insert(x.values.end(), y.values.begin(), y.values.end());
  }
}

}  // namespace

std::vector<std::string> shards_of_rank(const std::vector<std::string>& files, int rank, int ranks) {
  EF_CHECK(files.size() >= size_t(ranks), "data.path lists ", files.size(), " shard", files.size() == 1 ? "" : "s",
           " for ", ranks, " ranks: every rank reads at least one shard (shard i goes to rank i mod ", ranks,
           "), so give at least as many shards as ranks");
  std::vector<std::string> mine;
  for (size_t i = size_t(rank); i < files.size(); i += size_t(ranks)) mine.push_back(files[i]);
  return mine;
}

Table read_shards(ef::Communicator& comm, const std::vector<std::string>& files, const ReadOptions& ro,
                  size_t max_labels, std::vector<std::string>* dropped) {
  const int R = comm.size(), rank = comm.rank();
  std::vector<std::string> mine;
  std::vector<Table> parts;
  const size_t cap = size_t(std::max(ro.categorical_max_levels, 0)) + 1;
  json facts = json::array();
  ef::run_agreed(comm, [&] {
    mine = shards_of_rank(files, rank, R);
    for (const std::string& f : mine) {
      parts.push_back(read_table(f, ro));
      json cols = json::array(), names = json::array();
      for (const Column& c : parts.back().columns) {
        names.push_back(c.name);
        cols.push_back(column_facts(c, cap));
      }
      facts.push_back({{"file", f}, {"names", names}, {"columns", cols}});
    }
  });
  // Every shard's facts on every rank, in shard order (shard i: rank i mod R, its i / R-th).
  std::vector<json> by_rank;
  for (const std::string& s : comm.allgather(facts.dump())) by_rank.push_back(json::parse(s));
  std::vector<const json*> shard(files.size());
  for (size_t i = 0; i < files.size(); ++i) shard[i] = &by_rank[i % size_t(R)].at(i / size_t(R));
  // The agreed types (the same decision on every rank: the same facts in the same order).
  const json& names = shard[0]->at("names");
  for (const json* s : shard)
    EF_CHECK(s->at("names") == names, s->at("file").get<std::string>(), ": its columns ", s->at("names").dump(),
             " differ from ", shard[0]->at("file").get<std::string>(), "'s ", names.dump(),
             ": every shard needs the same columns in the same order");
  std::map<std::string, ColumnType> types;
  std::vector<std::string> tokens(names.size());
  for (size_t c = 0; c < names.size(); ++c) {
    const std::string name = names[c].get<std::string>();
    bool text = false, whole = true;
    size_t present = 0;
    std::set<double> distinct;
    for (const json* s : shard) {
      const json& f = s->at("columns")[c];
      text |= f.at("text").get<bool>();
      whole &= f.at("whole").get<bool>();
      present += f.at("present").get<size_t>();
      for (double v : f.at("distinct").get<std::vector<double>>())
        if (distinct.size() < cap) distinct.insert(v);
      if (tokens[c].empty() && f.at("missing").get<bool>()) tokens[c] = f.at("token").get<std::string>();
    }
    if (auto it = ro.types.find(name); it != ro.types.end()) {
      types[name] = it->second;
      continue;
    }
    const int L = ro.categorical_max_levels;
    ColumnType t = whole ? ColumnType::Integer : ColumnType::Continuous;
    if (text || present == 0 || (L > 0 && distinct.size() <= size_t(L) && 2 * distinct.size() <= present))
      t = ColumnType::Categorical;
    types[name] = t;
  }
  // Shards whose own inference differs: a numeric column widened from integer in place, any other
  // change by reading the shard again with every type declared.
  ReadOptions declared = ro;
  declared.types = types;
  Table out;
  ef::run_agreed(comm, [&] {
    for (size_t k = 0; k < parts.size(); ++k) {
      bool again = false;
      for (Column& c : parts[k].columns) {
        const ColumnType want = types.at(c.name);
        if (c.type == ColumnType::Integer && want == ColumnType::Continuous) c.type = want;
        again |= c.type != want;
      }
      if (again) parts[k] = read_table(mine[k], declared);
      for (size_t c = 0; c < parts[k].columns.size(); ++c) parts[k].columns[c].missing_token = tokens[c];
      append(out, std::move(parts[k]));
    }
    out.source = mine.size() == 1 ? mine[0] : mine[0] + " and " + std::to_string(mine.size() - 1) + " more shards";
  });
  // ID-like categorical columns, by their labels over all shards (up to max_labels + 1 a rank).
  if (max_labels > 0) {
    json labels = json::array();
    for (const Column& c : out.columns) {
      std::set<std::string> d;
      if (c.type == ColumnType::Categorical)
        for (size_t r = 0; r < c.labels.size() && d.size() <= max_labels; ++r)
          if (!c.is_missing(r)) d.insert(c.labels[r]);
      labels.push_back(d);
    }
    std::vector<std::set<std::string>> all(out.columns.size());
    for (const std::string& s : comm.allgather(labels.dump())) {
      const json j = json::parse(s);
      for (size_t c = 0; c < all.size(); ++c)
        for (const auto& l : j[c]) all[c].insert(l.get<std::string>());
    }
    std::vector<Column> kept;
    for (size_t c = 0; c < out.columns.size(); ++c) {
      if (all[c].size() > max_labels) {
        if (dropped)
          dropped->push_back(ef::detail::cat(out.columns[c].name, " (more than ", max_labels, " distinct labels)"));
        continue;
      }
      kept.push_back(std::move(out.columns[c]));
    }
    out.columns = std::move(kept);
  }
  return out;
}

}  // namespace echoflow
