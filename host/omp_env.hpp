// OpenMP waiting for command-line tools. GNU OpenMP lets an idle worker spin 300,000 iterations
// at a barrier by default; on a shared machine where another process holds a core, every
// barrier then waits for a descheduled thread and training collapsed (60x slower on 2 busy
// cores). Never spinning (OMP_WAIT_POLICY=passive) avoids that but pays a sleep and a wake-up
// per barrier, which halved training on idle cores of this VM (bench_throughput, 2 threads,
// batch 512, D = 8: MAF 83k vs 145-171k rows/s, RealNVP 102k vs 200-217k). A short bounded spin,
// GOMP_SPINCOUNT=10000, kept the idle-core speed and never collapsed with both cores busy with
// other jobs (0.4-1.4x passive there, vs 0.03-0.1x at 100,000-300,000). libgomp reads these
// variables when it loads, before main, so a tool must set them and re-execute itself. Users who
// set OMP_WAIT_POLICY or GOMP_SPINCOUNT themselves keep their choice.
#pragma once

namespace ef {
constexpr const char* kGompSpinCount = "10000";
// Call first thing in main(). Re-executes /proc/self/exe once with GOMP_SPINCOUNT=10000 when
// neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set; returns normally otherwise (or if
// re-execution fails).
void ensure_bounded_omp_wait(int argc, char** argv);
}  // namespace ef
