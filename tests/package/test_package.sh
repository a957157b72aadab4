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
"$T/consumer/consumer"
"$T/consumer/consumer_c"
echo "package consumer: OK"
