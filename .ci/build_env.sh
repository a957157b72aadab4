# Sourced by examples/demo.sh and tests/run.sh: the build settings both README commands share.
#  - EF_CUDA (AUTO|ON|OFF): default ON when a GPU is usable (nvidia-smi lists one), else OFF:
#    compiling the CUDA kernels takes minutes on 2 cores and a machine without a GPU cannot run
#    them. .ci/run sets AUTO, so CI compiles them wherever nvcc exists.
#  - Ninja (ninja-build, in the package list) when found, for a new build folder: it compiles a
#    program's objects while the libraries it links are still being built (only the links wait),
#    where Unix Makefiles starts a target only after all of its dependencies; a folder configured
#    before keeps its generator (CMake refuses to switch). ef_generator BUILD sets EF_GENERATOR.
#  - ccache (in the package list) when found, for rebuilds. The Python extension is built in the
#    same tree as ctest's targets (tests/run.sh: EF_PYTHON=ON), so it needs no cache to share the
#    engine's objects.
EF_CUDA=${EF_CUDA:-}
if [ -z "$EF_CUDA" ]; then
  if command -v nvidia-smi > /dev/null && nvidia-smi -L 2> /dev/null | grep -q '^GPU'; then
    EF_CUDA=ON
  else
    EF_CUDA=OFF
  fi
fi
export EF_CUDA
# Absolute paths in the compile lines: the Python build (build-py/<tag>/) and build/ sit at
# different depths, so paths made relative to a CCACHE_BASEDIR would differ and miss the cache.
unset CCACHE_BASEDIR
EF_LAUNCHER=()
if command -v ccache > /dev/null; then
  EF_LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
               -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
ef_generator() {
  EF_GENERATOR=()
  if [ ! -f "$1/CMakeCache.txt" ] && [ -z "${CMAKE_GENERATOR:-}" ] && command -v ninja > /dev/null; then
    EF_GENERATOR=(-G Ninja)
  fi
}
