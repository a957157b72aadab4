// OpenMP waiting for command-line tools. GNU OpenMP lets an idle worker spin 300,000 iterations
// at a barrier by default: on a shared machine where another process holds a core, every barrier
// then waits for a descheduled thread and training collapses. Never spinning
// (OMP_WAIT_POLICY=passive) pays a sleep and a wake-up per barrier instead, which is slow on idle
// cores. A short bounded spin, GOMP_SPINCOUNT=10000, does neither (the measurements are in
// bench/results/omp_wait_2026-11-29.md). libgomp reads these variables when it loads, before
// main, so a tool must set them and re-execute itself. Users who set OMP_WAIT_POLICY or
// GOMP_SPINCOUNT themselves keep their choice.
#pragma once

namespace ef {
constexpr const char* kGompSpinCount = "10000";
// Call before any OpenMP work (eftrain calls it once its arguments are parsed, and only for runs
// with enough parallel work to suffer: the re-execution is a second process start, which a
// --help or a one-row sample should not pay; bench/results/startup_2026-11-29.md). Re-executes /proc/self/exe once with GOMP_SPINCOUNT=10000 when
// neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set; returns normally otherwise (or if
// re-execution fails).
void ensure_bounded_omp_wait(int argc, char** argv);
}  // namespace ef
