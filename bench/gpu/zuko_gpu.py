#!/usr/bin/env python3
"""GPU throughput of zuko (PyTorch) on the workloads of bench/gpu/bench_training.cpp.

    python3 bench/gpu/zuko_gpu.py [--dims 8,16,64] [--batches 512,1024,2048,4096]
        [--compile-dims 16] [--seconds 0.3]

zuko is the PyPI package zuko==1.6.0, installed by bench/gpu_check.sh from a wheel fetched
beforehand into .whl/ (the GPU machine can download nothing); run by hand, any zuko 1.6.0 on
sys.path does. Models as bench/peers/throughput.py builds them:
zuko.flows.MAF / RealNVP(D, transforms=5, hidden_features=(128, 128)), float32, on cuda.
  train    per step: a batch gathered from a resident random dataset by a per-epoch shuffle,
           zero_grad, loss = -log_prob(x).mean(), backward, Adam (fused=True), as eager code and
           with the loss compiled by torch.compile (dynamic shapes: one compile per flow and D;
           --compile-dims picks the D values, since each compile costs tens of seconds);
  sample   flow().sample((65536,)) under no_grad (MAF: zuko's D-pass inverse).
FLOPs per row: the dense count of one forward pass (2 x multiply-adds of every conditioner
layer), the convention of the C++ benchmark, 3x for a training step; MAF sampling D x.
Prints one "RESULT ..." line per measurement; exits non-zero if anything failed (a missing
GPU, torch or zuko, a failed compile), after measuring what it could.
"""
import argparse
import sys
import time
import types

try:
    import torch  # before any numpy stub: torch copes with a missing numpy itself
except ImportError:
    sys.exit(f"zuko_gpu: torch is not installed for {sys.executable}; nothing measured")

try:
    import numpy  # noqa: F401  (zuko.utils imports it)
except ImportError:
    # zuko uses numpy only for Gauss-Legendre nodes (continuous / neural flows), never for MAF
    # or RealNVP: a stub keeps the import working on a machine without numpy, and says so.
    print("# zuko_gpu: numpy is missing; stubbed (MAF/RealNVP do not use it)", flush=True)
    sys.modules["numpy"] = types.ModuleType("numpy")

import zuko  # noqa: E402

if zuko.__version__ != "1.6.0":
    print(f"# zuko_gpu: zuko {zuko.__version__} from {zuko.__file__} (the pinned peer is 1.6.0)",
          flush=True)

H, LAYERS, SAMPLE_N = 128, 5, 65536


def flops_per_row(flow, D):
    """Dense FLOPs (2 x multiply-adds) of one forward pass, as ef's flops_per_row()."""
    if flow == "maf":
        sizes = [D, H, H, 2 * D]
        return LAYERS * sum(2 * a * b for a, b in zip(sizes, sizes[1:]))
    f = 0
    for i in range(LAYERS):  # alternating masks: ceil/floor halves
        a = (D + 1) // 2 if i % 2 == 0 else D // 2
        t = D - a
        sizes = [a, H, H, 2 * t]
        f += sum(2 * x * y for x, y in zip(sizes, sizes[1:]))
    return f


def build(flow, D):
    torch.manual_seed(0)
    if flow == "maf":
        return zuko.flows.MAF(D, transforms=LAYERS, hidden_features=(H, H)).cuda()
    return zuko.flows.RealNVP(D, transforms=LAYERS, hidden_features=(H, H)).cuda()


def timed(step, seconds):
    """Steps/s of step() for at least `seconds`, after 3 warm-up steps, synchronized."""
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        if n % 8 == 0:
            torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            if dt >= seconds:
                return n / dt


def result(kind, flow, D, B, impl, rows_s, flop_row):
    print(f"RESULT kind={kind} flow={flow} D={D} batch={B} impl={impl} rows_s={rows_s:.6g} "
          f"flop_row={flop_row:.6g} tflops={rows_s * flop_row * 1e-12:.4g}", flush=True)


def train_rate(model, loss_fn, D, B, seconds):
    data = torch.randn(32 * B, D, device="cuda")
    opt = torch.optim.Adam(model.parameters(), lr=1e-5, fused=True)
    state = {"perm": torch.randperm(32 * B, device="cuda"), "k": 0}

    def step():
        k = state["k"]
        if k == 32:
            state["perm"], k = torch.randperm(32 * B, device="cuda"), 0
        x = data[state["perm"][k * B:(k + 1) * B]]
        state["k"] = k + 1
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(x)
        loss.backward()
        opt.step()

    return B * timed(step, seconds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", default="8,16,64")
    ap.add_argument("--batches", default="512,1024,2048,4096")
    ap.add_argument("--compile-dims", default="16")
    ap.add_argument("--seconds", type=float, default=0.3)
    a = ap.parse_args()
    dims = [int(v) for v in a.dims.split(",")]
    batches = [int(v) for v in a.batches.split(",")]
    cdims = [int(v) for v in a.compile_dims.split(",") if v]
    if not torch.cuda.is_available():
        print("zuko_gpu: torch sees no CUDA device", file=sys.stderr)
        return 2
    print(f"# zuko_gpu: torch {torch.__version__}, zuko {getattr(zuko, '__version__', '?')} "
          f"from {os.path.dirname(zuko.__file__)}, {torch.cuda.get_device_name(0)}", flush=True)
    failed = []
    for flow in ("maf", "realnvp"):
        for D in dims:
            f = flops_per_row(flow, D)
            model = build(flow, D)
            eager = lambda x, m=model: -m().log_prob(x).mean()  # noqa: E731
            for B in batches:
                result("train", flow, D, B, "zuko-eager", train_rate(model, eager, D, B, a.seconds),
                       3 * f)
            if D in cdims:
                try:
                    t0 = time.perf_counter()
                    comp = torch.compile(eager, dynamic=True)
                    comp(torch.randn(batches[0], D, device="cuda")).backward()
                    print(f"# zuko_gpu: torch.compile {flow} D={D}: "
                          f"{time.perf_counter() - t0:.1f} s", flush=True)
                    for B in batches:
                        result("train", flow, D, B, "zuko-compile",
                               train_rate(model, comp, D, B, a.seconds), 3 * f)
                except Exception as e:  # reported, and the exit status says so
                    failed.append(f"torch.compile {flow} D={D}: {type(e).__name__}: {e}")
                    print(f"# zuko_gpu: FAILED {failed[-1]}", flush=True)
            with torch.no_grad():
                rate = SAMPLE_N * timed(lambda m=model: m().sample((SAMPLE_N,)), a.seconds)
            result("sample", flow, D, SAMPLE_N, "zuko-eager", rate, f * D if flow == "maf" else f)
    for msg in failed:
        print("zuko_gpu: FAILED", msg, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
