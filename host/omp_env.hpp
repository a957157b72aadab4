// OpenMP wait policy for command-line tools. GNU OpenMP spins at barriers by default; on a shared
// machine where another process holds a core, every barrier then waits for a descheduled thread
// and training throughput collapses (measured: 60x slower on 2 busy cores). libgomp reads
// OMP_WAIT_POLICY when it loads, before main, so a tool that wants "passive" must set it and
// re-execute itself. Users who set OMP_WAIT_POLICY themselves keep their choice.
#pragma once

namespace ef {
// Call first thing in main(). Re-executes /proc/self/exe once with OMP_WAIT_POLICY=passive
// when the variable is unset; returns normally otherwise (or if re-execution fails).
void ensure_passive_omp_wait(int argc, char** argv);
}  // namespace ef
