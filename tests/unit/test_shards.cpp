// Sharded data (host/shards.hpp, docs/SCALE.md): the shard -> rank rule, and shards whose own type
// inference disagrees read with the types of their concatenation.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "shards.hpp"

namespace {
struct Dir {
  std::filesystem::path p = std::filesystem::temp_directory_path() / ("ef_test_shards_" + std::to_string(::getpid()));
  Dir() { std::filesystem::create_directories(p); }
  ~Dir() { std::filesystem::remove_all(p); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(p / name) << text;
    return (p / name).string();
  }
};
}  // namespace

TEST_CASE("shards: shard i goes to rank i mod R, fewer shards than ranks is an error") {
  const std::vector<std::string> f = {"s0", "s1", "s2", "s3", "s4"};
  CHECK(echoflow::shards_of_rank(f, 0, 2) == std::vector<std::string>{"s0", "s2", "s4"});
  CHECK(echoflow::shards_of_rank(f, 1, 2) == std::vector<std::string>{"s1", "s3"});
  CHECK(echoflow::shards_of_rank(f, 4, 5) == std::vector<std::string>{"s4"});
  CHECK_THROWS_WITH_AS(echoflow::shards_of_rank(f, 0, 6),
                       doctest::Contains("data.path lists 5 shards for 6 ranks"), ef::Error);
}

TEST_CASE("shards: one process reads a shard list as its concatenation, types agreed over all shards") {
  Dir d;
  // Shard a alone: k integer, c numeric with 2 levels (categorical by levels), z a number.
  // Shard b alone: k has a decimal (continuous), c has text, z a label. The concatenation:
  // k continuous, c categorical, z categorical; w is integer everywhere.
  const std::string a = d.write("a.csv", "k,c,z,w\n1,0,5,1\n2,1,6,2\n3,0,7,3\n4,1,8,4\n5,0,,5\n");
  const std::string b = d.write("b.csv", "k,c,z,w\n1.5,x,q,6\n2,0,NA,7\n");
  const std::string cat = d.write("cat.csv", "k,c,z,w\n1,0,5,1\n2,1,6,2\n3,0,7,3\n4,1,8,4\n5,0,,5\n1.5,x,q,6\n2,0,NA,7\n");
  echoflow::ReadOptions ro;
  std::vector<std::string> dropped;
  const echoflow::Table t = echoflow::read_shards(ef::single_process(), {a, b}, ro, 1000, &dropped);
  const echoflow::Table ref = echoflow::read_table(cat, ro);
  REQUIRE(t.rows() == 7);
  REQUIRE(t.columns.size() == ref.columns.size());
  for (size_t c = 0; c < t.columns.size(); ++c) {
    CAPTURE(t.columns[c].name);
    CHECK(t.columns[c].type == ref.columns[c].type);
    CHECK(t.columns[c].values == ref.columns[c].values);
    CHECK(t.columns[c].labels == ref.columns[c].labels);
    CHECK(t.columns[c].missing == ref.columns[c].missing);
  }
  CHECK(t.columns[0].type == ef::ColumnType::Continuous);
  CHECK(t.columns[1].type == ef::ColumnType::Categorical);
  CHECK(t.columns[3].type == ef::ColumnType::Integer);
  CHECK(dropped.empty());
  // ID-like columns are counted over all shards: 3 + 2 labels of z (plus 2 of c) > 4.
  std::vector<std::string> d2;
  const echoflow::Table t2 = echoflow::read_shards(ef::single_process(), {a, b}, ro, 4, &d2);
  CHECK(t2.find("z") < 0);
  CHECK(t2.find("c") >= 0);
  REQUIRE(d2.size() == 1);
  CHECK(d2[0] == "z (more than 4 distinct labels)");
  // Different columns in a shard: named, with the first shard's.
  const std::string bad = d.write("bad.csv", "k,c,w\n1,0,1\n");
  CHECK_THROWS_WITH_AS(echoflow::read_shards(ef::single_process(), {a, bad}, ro, 0, nullptr),
                       doctest::Contains("bad.csv: its columns [\"k\",\"c\",\"w\"] differ from"), ef::Error);
}
