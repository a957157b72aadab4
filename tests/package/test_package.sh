#!/usr/bin/env bash
# cmake --install the build tree into a temporary prefix, then build and run small C++ and C
# programs that use find_package(echoflow CONFIG REQUIRED) and echoflow::echoflow.
# usage: test_package.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$1; SRC=$2
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cmake --install "$BUILD" --prefix "$T/prefix" > "$T/install.log"
test -f "$T/prefix/include/echoflow/echoflow.hpp" && test -f "$T/prefix/include/echoflow/echoflow.h"
test -f "$T/prefix/lib/cmake/echoflow/echoflowConfig.cmake"
test -x "$T/prefix/bin/eftrain"
cmake -S "$SRC/tests/package/consumer" -B "$T/consumer" -DCMAKE_PREFIX_PATH="$T/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$T/configure.log" || { cat "$T/configure.log"; exit 1; }
cmake --build "$T/consumer" -j 2 > "$T/build.log" || { cat "$T/build.log"; exit 1; }
"$T/consumer/consumer" | tee "$T/consumer.out"
"$T/consumer/consumer_c"
# The CUDA module (engine/cuda_module.hpp): installed beside the libraries when the build has one,
# found by the consumer (the package's RPATH) and by bin/eftrain (../lib); never linked.
if ldd "$T/consumer/consumer" "$T/prefix/bin/eftrain" | grep -E 'libcudart|libcublas'; then
  echo "a program of the package links CUDA"; exit 1
fi
MOD=$T/prefix/lib/libechoflow_cuda.so
if [[ -f $BUILD/libechoflow_cuda.so ]]; then
  test -f "$MOD" || { echo "libechoflow_cuda.so not installed"; exit 1; }
  grep -q "CUDA: module $MOD" "$T/consumer.out" || { echo "consumer did not find $MOD"; exit 1; }
  "$T/prefix/bin/eftrain" --version | grep -q "CUDA: module $T/prefix/bin/../lib/libechoflow_cuda.so" \
    || { "$T/prefix/bin/eftrain" --version; echo "installed eftrain did not find the module"; exit 1; }
else
  test ! -e "$MOD" || { echo "a CPU-only build installed a CUDA module"; exit 1; }
  grep -q "built without CUDA" "$T/consumer.out" || { echo "consumer: unexpected CUDA status"; exit 1; }
fi
# The MPI module (host/mpi_module.hpp): the same, loaded under a launcher only and never linked;
# bin/eftrain finds it in ../lib for --version's MPI line.
if ldd "$T/consumer/consumer" "$T/prefix/bin/eftrain" | grep -E 'libmpi'; then
  echo "a program of the package links MPI"; exit 1
fi
if [[ -f $BUILD/libechoflow_mpi.so ]]; then
  test -f "$T/prefix/lib/libechoflow_mpi.so" || { echo "libechoflow_mpi.so not installed"; exit 1; }
  "$T/prefix/bin/eftrain" --version | grep -q "MPI: compiled (" \
    || { "$T/prefix/bin/eftrain" --version; echo "installed eftrain did not find the MPI module"; exit 1; }
else
  test ! -e "$T/prefix/lib/libechoflow_mpi.so" || { echo "a build without MPI installed an MPI module"; exit 1; }
fi
echo "package consumer: OK"
