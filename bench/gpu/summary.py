#!/usr/bin/env python3
"""One table of bench/gpu_check.sh's GPU benchmarks (RESULT lines of ef_gpu_train_bench,
ef_gpu_fused_bench and zuko_gpu.py): training and sampling rows/s of echoflow vs zuko (eager and
torch.compile) with FLOPs per row and achieved TFLOP/s, and the fused conditioner MLP vs cuBLAS
at batch >= 65536. Exits 1, naming them, when expected measurements are missing.

    python3 bench/gpu/summary.py RESULTS.txt [--dims 8,16,64] [--batches 512,...]
        [--compile-dims 16]
"""
import argparse
import sys


def parse(path):
    rows = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            kv = dict(p.split("=", 1) for p in line.split()[1:])
            key = (kv["kind"], kv["flow"], int(kv["D"]), int(kv["batch"]), kv["impl"])
            rows[key] = (float(kv["rows_s"]), float(kv["flop_row"]), float(kv["tflops"]))
    return rows


def fmt(v):
    return "-" if v is None else (f"{v:.3g}" if v < 1e3 else f"{v:,.0f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--dims", default="8,16,64")
    ap.add_argument("--batches", default="512,1024,2048,4096")
    ap.add_argument("--compile-dims", default="16")
    a = ap.parse_args()
    r = parse(a.results)
    dims = [int(v) for v in a.dims.split(",")]
    batches = [int(v) for v in a.batches.split(",")]
    cdims = [int(v) for v in a.compile_dims.split(",") if v]
    missing = []

    def get(key, required=True):
        if key in r:
            return r[key]
        if required:
            missing.append(" ".join(map(str, key)))
        return None

    def rate(v):
        return None if v is None else v[0]

    def ratio(x, y):
        return None if x is None or y is None else x[0] / y[0]

    print("== training rows/s (5 layers, hidden [128, 128], fp32; FLOP/row = 3 forward passes)")
    print(f"{'flow':8} {'D':>3} {'batch':>6} {'MFLOP/row':>9} {'echoflow':>11} {'ef-cublas':>11} "
          f"{'zuko':>11} {'zuko-comp':>11} {'x zuko':>7} {'x comp':>7} {'ef TF/s':>7}")
    for flow in ("maf", "realnvp"):
        for D in dims:
            for B in batches:
                ef = get(("train", flow, D, B, "echoflow"))
                efc = get(("train", flow, D, B, "echoflow-cublas"))
                ze = get(("train", flow, D, B, "zuko-eager"))
                zc = get(("train", flow, D, B, "zuko-compile"), D in cdims)
                print(f"{flow:8} {D:>3} {B:>6} {fmt(ef and ef[1] / 1e6):>9} {fmt(rate(ef)):>11} "
                      f"{fmt(rate(efc)):>11} {fmt(rate(ze)):>11} {fmt(rate(zc)):>11} "
                      f"{fmt(ratio(ef, ze)):>7} {fmt(ratio(ef, zc)):>7} {fmt(ef and ef[2]):>7}")
    print("\n== sampling rows/s (65536 rows; MAF: D conditioner passes per layer)")
    print(f"{'flow':8} {'D':>3} {'MFLOP/row':>9} {'echoflow':>11} {'zuko':>11} {'x zuko':>7} "
          f"{'ef TF/s':>7}")
    for flow in ("maf", "realnvp"):
        for D in dims:
            ef = get(("sample", flow, D, 65536, "echoflow"))
            ze = get(("sample", flow, D, 65536, "zuko-eager"))
            print(f"{flow:8} {D:>3} {fmt(ef and ef[1] / 1e6):>9} {fmt(rate(ef)):>11} "
                  f"{fmt(rate(ze)):>11} {fmt(ratio(ef, ze)):>7} {fmt(ef and ef[2]):>7}")
    print("\n== conditioner MLP at large batch, TFLOP/s (fused kernels vs cuBLAS sgemm chains)")
    print(f"{'shape':20} {'batch':>7} {'fused fwd':>9} {'cublas':>7} {'ratio':>6} "
          f"{'fused bwd':>9} {'cublas':>7} {'ratio':>6} {'sgemm HxH':>9}")
    shapes = sorted({k[1] for k in r if k[0] == "matmul"})
    if not shapes:
        missing.append("matmul (ef_gpu_fused_bench)")
    for s in shapes:
        for B in sorted({k[3] for k in r if k[0] == "matmul" and k[1] == s}):
            v = {i: get(("matmul", s, 0, B, i)) for i in
                 ("fused-fwd", "cublas-fwd", "fused-bwd-data", "cublas-bwd-data", "cublas-square")}
            t = {i: (x[2] if x else None) for i, x in v.items()}
            print(f"{s:20} {B:>7} {fmt(t['fused-fwd']):>9} {fmt(t['cublas-fwd']):>7} "
                  f"{fmt(ratio(v['fused-fwd'], v['cublas-fwd'])):>6} {fmt(t['fused-bwd-data']):>9} "
                  f"{fmt(t['cublas-bwd-data']):>7} "
                  f"{fmt(ratio(v['fused-bwd-data'], v['cublas-bwd-data'])):>6} "
                  f"{fmt(t['cublas-square']):>9}")
    if missing:
        print(f"\nsummary: {len(missing)} expected measurements MISSING:", file=sys.stderr)
        for m in missing:
            print("  " + m, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
