// Time of the training step's one collective: the sum over the ranks of a flat float buffer of
// --floats values (a model's parameter count), through the Communicator eftrain uses
// (host/communicator.hpp). Run under mpirun; rank 0 prints bytes, median and mean seconds.
//   mpirun -np 2 bench_allreduce --floats 140000 --repeats 200
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "communicator.hpp"

int main(int argc, char** argv) {
  ef::Communicator& comm = ef::world(&argc, &argv);
  CLI::App app{"bench_allreduce: time of the gradient sum over the ranks"};
  size_t floats = 100000;
  int repeats = 200;
  app.add_option("--floats", floats, "buffer length (the model's parameter count)");
  app.add_option("--repeats", repeats, "timed sums (after 10 warm-up sums)");
  CLI11_PARSE(app, argc, argv);
  std::vector<float> buf(floats, 1.0f);
  std::vector<double> t;
  for (int i = 0; i < repeats + 10; ++i) {
    std::fill(buf.begin(), buf.end(), 1.0f);
    const auto a = std::chrono::steady_clock::now();
    comm.sum(buf.data(), buf.size());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    if (i >= 10) t.push_back(s);
  }
  double mean = 0;
  for (double s : t) mean += s / double(t.size());
  std::sort(t.begin(), t.end());
  const double v = mean;
  if (comm.rank() == 0)
    std::printf("ranks %d  floats %zu  bytes %zu  median %.3e s  mean %.3e s  (sum %s)\n", comm.size(), floats,
                floats * sizeof(float), t[t.size() / 2], v, buf[0] == float(comm.size()) ? "ok" : "WRONG");
  return 0;
}
