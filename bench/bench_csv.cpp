// CSV write and read speed of echoflow's table I/O, on a synthetic table (or the one pandas
// wrote, for the same-file comparison in bench/csv_pandas.py):
//   bench_csv --rows 1000000 --cols 8 --dir /tmp [--threads 2] [--repeats 3]
// Writes DIR/bench_csv.csv with write_table (shortest round-trip numbers, rows formatted in
// parallel pieces), reads it back with read_table (declared continuous columns), checks the
// values are bit-identical, and prints MB/s of CSV text for both (best of --repeats), and the CPU
// seconds of all threads (MB per CPU second does not depend on how loaded the machine is).
#include <CLI/CLI.hpp>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <echoflow/echoflow.hpp>
#include <filesystem>

#include "flow_math.hpp"
#include "omp_env.hpp"

namespace {
double cpu_seconds() {  // every thread of the process
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
  ef::ensure_bounded_omp_wait(argc, argv);
  CLI::App app{"EchoFlow CSV write/read benchmark"};
  size_t rows = 1000000;
  int cols = 8, threads = 2, repeats = 3;
  std::string dir = "/tmp";
  bool keep = false;
  app.add_option("--rows", rows);
  app.add_option("--cols", cols);
  app.add_option("--dir", dir, "folder for the CSV file");
  app.add_option("--threads", threads);
  app.add_option("--repeats", repeats);
  app.add_flag("--keep", keep, "keep DIR/bench_csv.csv (for bench/csv_pandas.py)");
  CLI11_PARSE(app, argc, argv);
  omp_set_num_threads(threads);

  echoflow::Table t;
  echoflow::ReadOptions ro;
  for (int c = 0; c < cols; ++c) {
    std::vector<double> v(rows);
    for (size_t r = 0; r < rows; ++r) v[r] = ef::math::rand_normal(7, uint64_t(c), r) * std::pow(10.0, c % 4);
    const std::string name = "c" + std::to_string(c);
    t.columns.push_back(echoflow::Column::numeric(name, std::move(v)));
    ro.types[name] = ef::ColumnType::Continuous;
  }
  const std::string path = dir + "/bench_csv.csv";
  using clock = std::chrono::steady_clock;
  double best_w = 1e30, best_r = 1e30, cpu_w = 1e30, cpu_r = 1e30;
  for (int k = 0; k < repeats; ++k) {
    auto t0 = clock::now();
    double c0 = cpu_seconds();
    echoflow::write_table(t, path);
    best_w = std::min(best_w, std::chrono::duration<double>(clock::now() - t0).count());
    cpu_w = std::min(cpu_w, cpu_seconds() - c0);
    t0 = clock::now();
    c0 = cpu_seconds();
    echoflow::Table back = echoflow::read_table(path, ro);
    best_r = std::min(best_r, std::chrono::duration<double>(clock::now() - t0).count());
    cpu_r = std::min(cpu_r, cpu_seconds() - c0);
    for (int c = 0; c < cols; ++c)
      if (std::memcmp(back.columns[c].values.data(), t.columns[c].values.data(), rows * sizeof(double)) != 0) {
        std::fprintf(stderr, "bench_csv: column %d did not read back bit-identical\n", c);
        return 1;
      }
  }
  const double mb = double(std::filesystem::file_size(path)) / 1e6;
  std::printf("echoflow  rows %zu cols %d threads %d  file %.1f MB  write %.3f s = %.0f MB/s  read %.3f s = %.0f MB/s"
              "  (values read back bit-identical)  CPU s: write %.3f, read %.3f\n",
              rows, cols, threads, mb, best_w, mb / best_w, best_r, mb / best_r, cpu_w, cpu_r);
  if (!keep) std::filesystem::remove(path);
  return 0;
}
