#!/usr/bin/env python3
"""CPU throughput of the PyTorch peers (zuko, nflows): MAF, RealNVP and NSF of eftrain's benchmark sizes.

    bash bench/peers/setup_venv.sh
    bench/peers/.venv/bin/python bench/peers/throughput.py [--dims 2,8,16,64] [--threads 2]
        [--libs zuko,nflows] [--flows maf,realnvp] [--seconds 1.0] [--repeats 5] [--full]
        [--json OUT.json] [--clock wall|cpu]

Mirrors bench/bench_throughput.cpp (eftrain's CPU benchmark): for each flow, dimension D, hidden
width and batch size it measures, on random N(0, 1) rows of width D, in float32:
  * train rows/s:  optimizer.zero_grad(); loss = -log_prob(x).mean(); loss.backward(); Adam step
                   (lr 1e-5, as bench_throughput, so the run does not drift);
  * score rows/s:  log_prob(x) under torch.no_grad();
  * sample rows/s: sample(batch) under torch.no_grad() (for MAF: D sequential network passes per
                   layer, the autoregressive inverse; for RealNVP: one pass per layer).
Each measurement: 3 warm-up steps, then `repeats` runs of at least `seconds` each; the JSON keeps
median/min/max of the per-run rates. torch.set_num_threads(threads) and
torch.set_num_interop_threads(1) fix the thread count (eftrain: train.threads / --threads).

Default sizes (eftrain's benchmark): D in {2, 8, 16, 64}, 5 layers, hidden [128, 128], batch
512; --full adds hidden 64 and 256 and batches 256, 1024 and 4096.

How each model is built (standard constructors of each library; sizes as eftrain's):
  zuko MAF:      zuko.flows.MAF(D, transforms=5, hidden_features=(H, H))
                 = 5 MaskedAutoregressiveTransform (MonotonicAffineTransform, MaskedMLP
                 D -> H -> H -> 2D, ReLU), orders alternating ascending/descending (the reverse
                 permutation eftrain's MAF uses), passes = D for the inverse. Diagonal normal base.
  zuko RealNVP:  zuko.flows.RealNVP(D, transforms=5, hidden_features=(H, H))
                 = 5 GeneralCouplingTransform (MonotonicAffineTransform, MLP ceil(D/2) -> H -> H ->
                 2 floor(D/2), ReLU), alternating masks arange(D) % 2 == i % 2.
  nflows MAF:    nflows.flows.MaskedAutoregressiveFlow(D, hidden_features=H, num_layers=5,
                 num_blocks_per_layer=1, use_residual_blocks=False)
                 = 5 x (ReversePermutation, MaskedAffineAutoregressiveTransform with a MADE
                 D -> H -> H -> 2D, ReLU: initial layer + 1 feed-forward block + final layer).
                 (Its default num_blocks_per_layer=2 with residual blocks would be D->H->(2 x
                 residual H->H->H)->2D, 4 hidden layers: larger than eftrain's [H, H].)
  nflows RealNVP: nflows' SimpleRealNVP cannot express hidden [H, H] (its ResidualNet conditioner
                 has 1 + 2 * num_blocks_per_layer hidden layers: [H] or [H, H, H]), so it is built
                 from the same nflows parts SimpleRealNVP uses, with nflows' plain MLP conditioner:
                 CompositeTransform of 5 AffineCouplingTransform(mask, lambda i, o:
                 nflows.nn.nets.MLP((i,), (o,), hidden_sizes=[H, H])), masks alternating as in
                 SimpleRealNVP (mask[::2] = -1, flipped each layer), base StandardNormal([D]).
                 (Affine coupling scale = sigmoid(s + 2) + 1e-3, as SimpleRealNVP.)
  zuko NSF:      zuko.flows.NSF(D, bins=8, transforms=5, hidden_features=(H, H)) = MAF's structure
                 with MonotonicRQSTransform (K = 8 bins on [-5, 5], zuko's fixed default bound; linear
                 tails); nsf-coupling: the same with passes=2 (zuko's coupling form: a half-masked MADE).
  nflows NSF:    nsf-ar: 5 x MaskedPiecewiseRationalQuadraticAutoregressiveTransform(D, H, num_bins=8,
                 tails="linear", tail_bound=3, num_blocks=1, use_residual_blocks=False) (MADE
                 D -> H -> H -> D(3K-1)) with ReversePermutation between; nsf-coupling: 5 x
                 PiecewiseRationalQuadraticCouplingTransform(mask, MLP [H, H], num_bins=8,
                 tails="linear", tail_bound=3), masks as the RealNVP above.
  eftrain (bench/bench_throughput): MAF with a reverse permutation between layers, RealNVP with
                 alternating masks, hidden [H, H] ReLU, soft clamp of the log-scales, no ActNorm.
"""
import os

# eftrain's binaries re-execute themselves with GOMP_SPINCOUNT=10000 (host/omp_env.cpp); torch
# (libgomp) gets the same bounded spin here, before its OpenMP runtime starts. (With libgomp's
# default long spin, 2-thread torch on 2 cores shared with other jobs ran small ops an order of
# magnitude slower.)
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import argparse  # noqa: E402
import json  # noqa: E402
import platform
import statistics
import sys
import time

import torch


# --clock cpu: seconds of CPU time of this process (all its threads), as bench_throughput --clock
# cpu, for A/B runs at --threads 1 on a shared machine where wall time is mostly waiting.
clock = time.perf_counter


def rates(step, units_per_step, seconds, repeats):
    """Rates (units/s) over `repeats` runs of at least `seconds` each, after 3 warm-up steps."""
    for _ in range(3):
        step()
    out = []
    for _ in range(repeats):
        n = 0
        t0 = clock()
        while True:
            step()
            n += 1
            dt = clock() - t0
            if dt >= seconds:
                break
        out.append(n * units_per_step / dt)
    return sorted(out)


def summary(r):
    return {"median": statistics.median(r), "min": r[0], "max": r[-1], "runs": r}


BINS, BOUND = 8, 3.0  # eftrain's spline defaults (model.bins, model.tail_bound)


def build(lib, flow, D, H, layers):
    """(module, log_prob(x), sample(n)) for one peer model."""
    if lib == "zuko":
        import zuko
        if flow == "maf":
            m = zuko.flows.MAF(D, transforms=layers, hidden_features=(H, H))
        elif flow == "realnvp":
            m = zuko.flows.RealNVP(D, transforms=layers, hidden_features=(H, H))
        elif flow == "nsf-ar":
            m = zuko.flows.NSF(D, bins=BINS, transforms=layers, hidden_features=(H, H))
        elif flow == "nsf-coupling":
            m = zuko.flows.NSF(D, bins=BINS, transforms=layers, hidden_features=(H, H), passes=2)
        else:
            raise ValueError(flow)
        return m, (lambda x: m().log_prob(x)), (lambda n: m().sample((n,)))
    if lib == "nflows":
        from nflows.distributions.normal import StandardNormal
        from nflows.flows import MaskedAutoregressiveFlow
        from nflows.flows.base import Flow
        from nflows.nn.nets import MLP
        from nflows.transforms.base import CompositeTransform
        from nflows.transforms.coupling import AffineCouplingTransform
        if flow == "maf":
            m = MaskedAutoregressiveFlow(D, hidden_features=H, num_layers=layers, num_blocks_per_layer=1,
                                         use_residual_blocks=False)
        elif flow == "nsf-ar":
            from nflows.transforms.autoregressive import (
                MaskedPiecewiseRationalQuadraticAutoregressiveTransform as RQAR)
            from nflows.transforms.permutations import ReversePermutation
            ts = []
            for _ in range(layers):
                ts += [RQAR(D, hidden_features=H, num_bins=BINS, tails="linear", tail_bound=BOUND,
                            num_blocks=1, use_residual_blocks=False), ReversePermutation(D)]
            m = Flow(CompositeTransform(ts[:-1]), StandardNormal([D]))
        else:
            class Net(MLP):  # nflows' MLP; coupling transforms call net(inputs, context)
                def forward(self, inputs, context=None):
                    return super().forward(inputs)

            from nflows.transforms.coupling import PiecewiseRationalQuadraticCouplingTransform as RQC
            ts = []
            mask = torch.ones(D)
            mask[::2] = -1  # as nflows.flows.realnvp.SimpleRealNVP: alternate, flip per layer
            for _ in range(layers):
                net = lambda i, o: Net((i,), (o,), hidden_sizes=[H, H])  # noqa: E731
                if flow == "realnvp":
                    ts.append(AffineCouplingTransform(mask=mask.clone(), transform_net_create_fn=net))
                elif flow == "nsf-coupling":
                    ts.append(RQC(mask=mask.clone(), transform_net_create_fn=net, num_bins=BINS,
                                  tails="linear", tail_bound=BOUND))
                else:
                    raise ValueError(flow)
                mask *= -1
            m = Flow(CompositeTransform(ts), StandardNormal([D]))
        return m, (lambda x: m.log_prob(x)), (lambda n: m.sample(n))
    raise ValueError(lib)


def measure(lib, flow, D, H, layers, batch, seconds, repeats):
    torch.manual_seed(0)
    m, log_prob, sample = build(lib, flow, D, H, layers)
    x = torch.randn(batch, D)
    opt = torch.optim.Adam(m.parameters(), lr=1e-5)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = -log_prob(x).mean()
        loss.backward()
        opt.step()

    def score_step():
        with torch.no_grad():
            log_prob(x)

    def sample_step():
        with torch.no_grad():
            sample(batch)

    nparams = sum(p.numel() for p in m.parameters())
    return {"lib": lib, "flow": flow, "D": D, "hidden": [H, H], "layers": layers, "batch": batch,
            "params": nparams,
            "train_rows_per_s": summary(rates(train_step, batch, seconds, repeats)),
            "score_rows_per_s": summary(rates(score_step, batch, seconds, repeats)),
            "sample_rows_per_s": summary(rates(sample_step, batch, seconds, repeats))}


def ints(s):
    return [int(v) for v in s.split(",") if v]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--libs", default="zuko,nflows")
    ap.add_argument("--flows", default="maf,realnvp", help="maf,realnvp,nsf-ar,nsf-coupling")
    ap.add_argument("--dims", type=ints, default=[2, 8, 16, 64])
    ap.add_argument("--hidden", type=ints, default=None, help="default 128 (64,128,256 with --full)")
    ap.add_argument("--batch", type=ints, default=None, help="default 512 (256,512,1024,4096 with --full)")
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="also hidden 64/256 and batch 256/1024/4096")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall (default) or cpu: process CPU time, as bench_throughput --clock cpu")
    a = ap.parse_args()
    global clock
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    hidden = a.hidden or ([64, 128, 256] if a.full else [128])
    batches = a.batch or ([256, 512, 1024, 4096] if a.full else [512])
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    import nflows  # noqa: F401  (versions for the record)
    import zuko
    meta = {"torch": torch.__version__, "zuko": zuko.__version__,
            "nflows": getattr(nflows, "__version__", "0.14"), "threads": torch.get_num_threads(),
            "python": platform.python_version(), "seconds": a.seconds, "repeats": a.repeats, "clock": a.clock}
    print(f"# torch {meta['torch']}, zuko {meta['zuko']}, nflows {meta['nflows']}, "
          f"{meta['threads']} threads", flush=True)
    print("| lib | flow | D | hidden | layers | batch | train rows/s | score rows/s | sample rows/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    results = []
    for lib in a.libs.split(","):
        for flow in a.flows.split(","):
            for H in hidden:
                for batch in batches:
                    for D in a.dims:
                        r = measure(lib, flow, D, H, a.layers, batch, a.seconds, a.repeats)
                        results.append(r)
                        print(f"| {lib} | {flow} | {D} | {H} | {a.layers} | {batch} | "
                              f"{r['train_rows_per_s']['median']:.0f} | {r['score_rows_per_s']['median']:.0f} | "
                              f"{r['sample_rows_per_s']['median']:.0f} |", flush=True)
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json + ".tmp", "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=2)
        os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    sys.exit(main())
