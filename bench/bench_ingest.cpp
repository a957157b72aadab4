// Ingest speed: CSV (.gz) -> typed Table (parsing, missing tokens, type inference, numbers).
//   bench_ingest FILE [--header-file COLUMNS.txt] [--repeats 3]
// Prints rows/s and MB/s (of uncompressed text, and of the file as stored).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <echoflow/echoflow.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <zlib.h>

#include "omp_env.hpp"

int main(int argc, char** argv) {
  ef::ensure_bounded_omp_wait(argc, argv);
  CLI::App app{"EchoFlow ingest benchmark"};
  std::string file, header_file;
  int repeats = 3;
  app.add_option("file", file)->required();
  app.add_option("--header-file", header_file, "first line: comma-separated column names");
  app.add_option("--repeats", repeats);
  CLI11_PARSE(app, argc, argv);
  echoflow::ReadOptions ro;
  if (!header_file.empty()) {
    std::ifstream h(header_file);
    std::string line, f;
    std::getline(h, line);
    std::stringstream ss(line);
    while (std::getline(ss, f, ',')) ro.header.push_back(f);
  }
  // Uncompressed size, for MB/s of text.
  size_t text_bytes = 0;
  {
    gzFile g = gzopen(file.c_str(), "rb");
    if (!g) { std::fprintf(stderr, "cannot open %s\n", file.c_str()); return 1; }
    std::vector<char> buf(1 << 20);
    int n;
    while ((n = gzread(g, buf.data(), unsigned(buf.size()))) > 0) text_bytes += size_t(n);
    gzclose(g);
  }
  const double file_bytes = double(std::filesystem::file_size(file));
  std::vector<double> secs;
  size_t rows = 0, cols = 0, cats = 0;
  for (int k = 0; k < repeats; ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    echoflow::Table t = echoflow::read_table(file, ro);
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    rows = t.rows();
    cols = t.columns.size();
    cats = 0;
    for (auto& c : t.columns) cats += c.type == ef::ColumnType::Categorical;
  }
  std::sort(secs.begin(), secs.end());
  const double med = secs[secs.size() / 2];
  std::printf("| file | rows | columns (categorical) | median s (min..max, %d runs) | rows/s | MB/s text | MB/s file |\n", repeats);
  std::printf("|---|---|---|---|---|---|---|\n");
  std::printf("| %s | %zu | %zu (%zu) | %.2f (%.2f..%.2f) | %.0f | %.1f | %.1f |\n",
              std::filesystem::path(file).filename().c_str(), rows, cols, cats, med, secs.front(),
              secs.back(), rows / med, text_bytes / med / 1e6, file_bytes / med / 1e6);
  return 0;
}
