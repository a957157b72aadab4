#!/usr/bin/env bash
# The CUDA backend is a module loaded on demand (engine/cuda_module.hpp): eftrain links no CUDA
# library; --help and a `device: cpu` run do not even look for the driver; without a GPU no run
# (--version, sample and score of a model, which run on "auto", train on auto) loads cudart,
# cuBLAS or the module (LD_DEBUG=files lists every object a process loads or tries to, dlopen
# included); `device: auto` without a usable GPU falls back to the CPU and says why, and
# `device: cuda` then fails with the reason. With a GPU, auto must load the module.
# NCCL (in the module, CUDA + MPI builds) is never loaded by those runs either, and --version
# says whether it was compiled.
# usage: test_cuda_module.sh EFTRAIN CSV HAVE_CUDA(ON|OFF) HAVE_NCCL(ON|OFF)
set -euo pipefail
EF=$1; CSV=$2; HAVE_CUDA=$3; HAVE_NCCL=${4:-OFF}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
CUDA_LIBS='libcudart|libcublas|libechoflow_cuda|libnccl'

if ldd "$EF" | grep -E "$CUDA_LIBS|libcuda\.so"; then fail "eftrain links a CUDA library"; fi

# loaded LOG: the objects a run loaded (LD_DEBUG=files writes one "file=NAME" per object).
loaded() { grep -o 'file=[^ ]*' "$1" | sort -u; }
cuda_free() {  # cuda_free NAME LOG [PATTERN]: no CUDA runtime, cuBLAS or module
  if loaded "$2" | grep -E "${3:-$CUDA_LIBS}"; then fail "$1 loaded CUDA (above)"; fi
  loaded "$2" | grep -q 'libopenblas' || fail "$1: LD_DEBUG=files listed nothing (check broken)"
}

VERSION=$("$EF" --version)
echo "$VERSION"
GPU=0
[[ $VERSION == *" device(s))" ]] && GPU=1
if [[ $HAVE_CUDA == ON ]]; then
  [[ $VERSION == *"CUDA: module "*libechoflow_cuda.so* ]] || fail "--version does not name the module"
else
  [[ $VERSION == *"built without CUDA"* ]] || fail "--version of a CPU-only build: $VERSION"
fi
if [[ $HAVE_NCCL == ON ]]; then
  [[ $VERSION == *"NCCL: compiled ("* ]] || fail "--version of a build with NCCL: $VERSION"
else
  [[ $VERSION == *"NCCL: not compiled"* ]] || fail "--version of a build without NCCL: $VERSION"
fi

cat > "$T/c.json" <<JSON
{"data": {"path": "$CSV"}, "model": {"layers": 2, "hidden": [16]},
 "train": {"epochs": 1, "threads": 1}, "device": "cpu", "output": {"model": "$T/m.efm"}}
JSON
LD_DEBUG=files "$EF" --help > /dev/null 2> "$T/help.log" || fail "--help"
cuda_free "--help" "$T/help.log" "$CUDA_LIBS|libcuda\.so"
LD_DEBUG=files "$EF" train "$T/c.json" 2> "$T/train.log" > /dev/null || fail "train on cpu"
cuda_free "train (device cpu)" "$T/train.log" "$CUDA_LIBS|libcuda\.so"
LD_DEBUG=files "$EF" --version > /dev/null 2> "$T/version.log" || fail "--version"
LD_DEBUG=files "$EF" sample "$T/m.efm" --rows 5 --out "$T/s.csv" 2> "$T/sample.log" \
  || fail "sample"
LD_DEBUG=files "$EF" score "$T/m.efm" --data "$T/s.csv" --out "$T/p.csv" 2> "$T/score.log" || fail "score"
if [[ $GPU == 0 ]]; then
  cuda_free "--version" "$T/version.log"
  cuda_free "sample" "$T/sample.log"
  cuda_free "score" "$T/score.log"
fi

# device auto: the GPU when the driver has one and the module loads, else the CPU with a reason.
AUTO_ARGS=(--set device='"auto"' --set output.model="\"$T/a.efm\"")
LD_DEBUG=files "$EF" train "$T/c.json" "${AUTO_ARGS[@]}" 2> "$T/auto.log" > /dev/null \
  || { cat "$T/auto.log"; fail "train on auto"; }
if [[ $GPU == 1 ]]; then
  grep -q 'device: cuda (requested "auto")' "$T/auto.log" || fail "auto did not take the GPU"
  loaded "$T/auto.log" | grep -q libechoflow_cuda || fail "auto on a GPU did not load the module"
else
  cuda_free "train (device auto, no GPU)" "$T/auto.log"
  if [[ $HAVE_CUDA == ON ]]; then
    grep -q 'device: cpu (requested "auto"; no usable GPU: ..*)' "$T/auto.log" \
      || { grep device "$T/auto.log"; fail "auto without a GPU does not say why it fell back"; }
  else
    grep -q 'device: cpu (requested "auto"; built without CUDA' "$T/auto.log" \
      || { grep device "$T/auto.log"; fail "auto in a CPU-only build does not say why"; }
  fi
  "$EF" train "$T/c.json" --set device='"cuda"' 2> "$T/cuda.log" > /dev/null \
    && fail "device cuda without a GPU succeeded"
  grep -q 'device "cuda" requested but' "$T/cuda.log" || fail "device cuda: no clear error"
fi

# A module that is not there (EF_CUDA_MODULE names the file): auto falls back, saying so.
EF_CUDA_MODULE=$T/none.so "$EF" train "$T/c.json" "${AUTO_ARGS[@]}" 2> "$T/none.log" > /dev/null \
  || fail "train on auto with no module"
grep -q "device: cpu (requested \"auto\"; the CUDA module libechoflow_cuda.so was not found (looked for $T/none.so" \
  "$T/none.log" || { grep device "$T/none.log"; fail "auto with no module: reason"; }
echo "cuda module: OK"
