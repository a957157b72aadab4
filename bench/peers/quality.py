#!/usr/bin/env python3
"""Sample quality of eftrain next to SDV (GaussianCopula, CTGAN, TVAE) and the original echoflow 0.0.2.

    bash bench/peers/setup_venv.sh
    bench/peers/.venv/bin/python bench/peers/quality.py --eftrain build-peer/eftrain \
        --make-spiral build-peer/make_spiral [--out bench/peers/out/quality] [--quick]

Data and metrics are bench/quality's (imported from bench/quality/sdgym_gmm.py, not copied):
  * grid, gridr, ring: SDGym's Gaussian mixtures (sdgym_gmm.mixture: 10,000 train + 10,000 test rows);
  * spiral: the examples' generator, `make_spiral train.csv 4000 0` (the demo's table) for training
    and `make_spiral test.csv 10000 1` as held-out rows.
Every model trains on the train rows and draws 10,000 synthetic rows; then
  L_syn (true)  = mean log-density of the synthetic rows under the true distribution (the CTGAN
                  paper's definition; for the spiral the generator's density integrated numerically
                  over the arm parameter, see spiral_logpdf);
  L_syn (SDGym) = sdgym_gmm.sdgym_scores: mean log-likelihood of the synthetic rows under a diagonal
                  GMM fitted to the test rows (SDGym's code), and
  L_test        = mean log-likelihood of the test rows under a diagonal GMM fitted to the synthetic
                  rows; 30 components for grid and spiral, 10 for ring.
Higher is better for all three; the "real (train rows)" line scores the training rows as if they
were synthetic (the ceiling).

Budgets (defaults): CTGAN and TVAE 300 epochs (SDV's default; on 10,000 rows and 2 cores about 80 s
and 30 s); echoflow 0.0.2 60 epochs (its default is 1000: ~1.5 s per epoch of 10,000 rows at batch
100 on 2 cores, so 1000 epochs would take ~25 minutes per dataset).

Models and budgets (stated in results.json and the table; all on the CPU, `--threads` threads):
  eftrain maf / realnvp / nsf-ar / nsf-coupling (K = 8 bins): grid, gridr and ring use bench/quality's FULL config (sdgym_gmm.FULL: 8 layers,
      [128, 128], <= 200 epochs, batch 256, patience 30); the spiral uses examples/spiral.json's
      model and train sections (10 layers, [64, 64], <= 300 epochs, batch 128, patience 30) with
      model.flow set to the flow.
  GaussianCopula: SDV defaults (GaussianCopulaSynthesizer(metadata)).
  CTGAN, TVAE: SDV defaults (batch 500, CTGAN generator/discriminator (256, 256), TVAE (128, 128))
      except epochs (--ctgan-epochs, --tvae-epochs) and enable_gpu=False.
  echoflow 0.0.2 (the 2020 seed library): EchoFlow() defaults (3 RNVP blocks, hidden 100,
      lr 1e-4, batch 100) except nb_epochs (--echoflow-epochs).
"""
import os

# eftrain re-executes itself with GOMP_SPINCOUNT=10000 (host/omp_env.cpp); the peers get the same
# bounded spin. Must precede the first import of torch / scikit-learn (their OpenMP runtime reads
# it once). On 2 shared cores, libgomp's default long spin made a 2-thread echoflow epoch 13x slower.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import argparse  # noqa: E402
import json
import math
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.special import logsumexp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peer_echoflow  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "quality"))
import sdgym_gmm  # noqa: E402  (generator, metrics, CSV helpers and eftrain's FULL config)

sdgym_gmm.GMM_COMPONENTS.setdefault("spiral", 30)
SPIRAL_TRAIN_ROWS, SPIRAL_TEST_ROWS, SPIRAL_NOISE = 4000, 10000, 0.25


def spiral_logpdf(x, grid=8000, chunk=500):
    """True log-density of make_spiral's rows: t = sqrt(U) 4 pi (density t / (8 pi^2) on [0, 4 pi]),
    r = 10 t / (4 pi), (x, y) = r (cos t, sin t) + N(0, 0.25^2 I); integrated over t by the midpoint
    rule on `grid` points (arc step <= 0.008, far below the noise 0.25)."""
    T = 4 * math.pi
    t = (np.arange(grid) + 0.5) * (T / grid)
    logw = np.log(t / (8 * math.pi ** 2) * (T / grid))
    r = 10 * t / T
    mx, my = r * np.cos(t), r * np.sin(t)
    v = SPIRAL_NOISE ** 2
    out = np.empty(len(x))
    for i in range(0, len(x), chunk):
        xs = x[i:i + chunk]
        d2 = (xs[:, :1] - mx[None]) ** 2 + (xs[:, 1:2] - my[None]) ** 2
        out[i:i + chunk] = logsumexp(logw[None] - d2 / (2 * v), axis=1) - math.log(2 * math.pi * v)
    return out


def dataset(kind, make_spiral, d):
    """(train, test, true_logpdf) for kind; CSVs written to d."""
    if kind == "spiral":
        tr, te = os.path.join(d, "train.csv"), os.path.join(d, "test.csv")
        subprocess.run([make_spiral, tr, str(SPIRAL_TRAIN_ROWS), "0"], check=True)
        subprocess.run([make_spiral, te, str(SPIRAL_TEST_ROWS), "1"], check=True)
        return sdgym_gmm.read_csv(tr), sdgym_gmm.read_csv(te), spiral_logpdf
    train, test, mus, var = sdgym_gmm.mixture(kind)
    sdgym_gmm.write_csv(os.path.join(d, "train.csv"), train)
    sdgym_gmm.write_csv(os.path.join(d, "test.csv"), test)
    return train, test, lambda x: sdgym_gmm.true_logpdf(x, mus, var)


def eftrain_config(kind, flow, threads, quick):
    if quick:
        preset = sdgym_gmm.QUICK
    elif kind == "spiral":
        with open(os.path.join(ROOT, "examples", "spiral.json")) as f:
            preset = json.load(f)
    else:
        preset = sdgym_gmm.FULL
    return {"data": {"path": "train.csv", "columns": {"x": "continuous", "y": "continuous"}},
            "model": dict(preset["model"], flow=flow),
            "train": dict(preset["train"], threads=threads),
            "device": "cpu", "output": {"model": f"{flow}.efm"}}


def fit_eftrain(eftrain, d, kind, flow, threads, quick):
    cfg = eftrain_config(kind, flow, threads, quick)
    cpath = os.path.join(d, f"eftrain_{flow}.json")
    with open(cpath, "w") as f:
        json.dump(cfg, f, indent=2)
    log = os.path.join(d, f"eftrain_{flow}.log")
    open(log, "w").close()
    t0 = time.time()
    sdgym_gmm.run([eftrain, "train", cpath], log)
    secs = time.time() - t0
    syn_path = os.path.join(d, f"eftrain_{flow}_synthetic.csv")
    sdgym_gmm.run([eftrain, "sample", os.path.join(d, f"{flow}.efm"), "--rows", "10000", "--seed", "1",
                   "--out", syn_path], log)
    budget = (f"{cfg['model']['layers']} x {cfg['model']['hidden']}, <= {cfg['train']['epochs']} epochs, "
              f"batch {cfg['train']['batch_size']}, patience {cfg['train']['patience']}")
    return sdgym_gmm.read_csv(syn_path), secs, budget


def fit_peer(name, train, a):
    """Fits one peer on the train rows; returns (10,000 synthetic rows, seconds, budget)."""
    import torch
    torch.manual_seed(0)
    np.random.seed(0)
    df = pd.DataFrame(train, columns=["x", "y"])
    if name == "echoflow":
        EchoFlow = peer_echoflow.load()  # the PyPI 0.0.2 peer, checked (not this package)
        m = EchoFlow(nb_epochs=a.echoflow_epochs)
        t0 = time.time()
        m.fit(df)
        secs = time.time() - t0
        with torch.no_grad():
            syn = m.sample(10000)
        return syn[["x", "y"]].to_numpy(dtype=float), secs, \
            f"EchoFlow(nb_epochs={a.echoflow_epochs}); defaults: 3 RNVP blocks, hidden 100, lr 1e-4, batch 100"
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer
    md = Metadata.load_from_dict({"tables": {"t": {"columns": {
        "x": {"sdtype": "numerical"}, "y": {"sdtype": "numerical"}}}}})
    if name == "GaussianCopula":
        s, budget = GaussianCopulaSynthesizer(md), "SDV defaults"
    elif name == "CTGAN":
        s = CTGANSynthesizer(md, epochs=a.ctgan_epochs, enable_gpu=False)
        budget = f"{a.ctgan_epochs} epochs, batch 500, SDV defaults"
    elif name == "TVAE":
        s = TVAESynthesizer(md, epochs=a.tvae_epochs, enable_gpu=False)
        budget = f"{a.tvae_epochs} epochs, batch 500, SDV defaults"
    else:
        raise ValueError(name)
    t0 = time.time()
    s.fit({"t": df})  # SDV 2.0 takes {table name: DataFrame} also for single tables
    secs = time.time() - t0
    syn = s.sample(10000)
    if isinstance(syn, dict):
        syn = next(iter(syn.values()))
    return syn[["x", "y"]].to_numpy(dtype=float), secs, budget


def fmt(v):
    return "n/a" if v is None else f"{v:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eftrain", default="build-peer/eftrain")
    ap.add_argument("--make-spiral", default="build-peer/make_spiral")
    ap.add_argument("--out", default="bench/peers/out/quality")
    ap.add_argument("--datasets", default="grid,gridr,ring,spiral")
    ap.add_argument("--models", default="eftrain-maf,eftrain-realnvp,eftrain-nsf-ar,eftrain-nsf-coupling,"
                    "GaussianCopula,CTGAN,TVAE,echoflow")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctgan-epochs", type=int, default=300)
    ap.add_argument("--tvae-epochs", type=int, default=300)
    ap.add_argument("--echoflow-epochs", type=int, default=60)
    ap.add_argument("--quick", action="store_true", help="smoke test: eftrain QUICK preset, 2 epochs for peers")
    a = ap.parse_args()
    if a.quick:
        a.ctgan_epochs = a.tvae_epochs = a.echoflow_epochs = 2
    warnings.filterwarnings("ignore")
    import torch
    torch.set_num_threads(a.threads)
    eftrain, make_spiral = os.path.abspath(a.eftrain), os.path.abspath(a.make_spiral)
    for p in (eftrain, make_spiral):
        if not os.access(p, os.X_OK):
            sys.exit(f"{p}: not an executable (build it, or pass --eftrain / --make-spiral)")
    os.makedirs(a.out, exist_ok=True)
    results = []
    for kind in a.datasets.split(","):
        d = os.path.join(a.out, kind)
        os.makedirs(d, exist_ok=True)
        train, test, logpdf = dataset(kind, make_spiral, d)
        ls, lt = sdgym_gmm.sdgym_scores(kind, test, train)
        results.append({"dataset": kind, "model": "real (train rows)", "seconds": None, "budget": "",
                        "lsyn_true": float(logpdf(train).mean()), "lsyn_sdgym": ls, "ltest": lt,
                        "heldout_true": float(logpdf(test).mean())})
        for model in a.models.split(","):
            if model.startswith("eftrain-"):
                syn, secs, budget = fit_eftrain(eftrain, d, kind, model[len("eftrain-"):], a.threads, a.quick)
            else:
                syn, secs, budget = fit_peer(model, train, a)
                sdgym_gmm.write_csv(os.path.join(d, f"{model}_synthetic.csv"), syn)
            ok = np.isfinite(syn).all(axis=1)
            ls, lt = sdgym_gmm.sdgym_scores(kind, test, syn[ok])
            r = {"dataset": kind, "model": model, "seconds": secs, "budget": budget,
                 "lsyn_true": float(logpdf(syn[ok]).mean()), "lsyn_sdgym": ls, "ltest": lt,
                 "nonfinite_rows": int((~ok).sum())}
            results.append(r)
            print(f"{kind} {model}: {secs:.0f} s, L_syn {r['lsyn_true']:.3f} (SDGym GMM {ls:.3f}), "
                  f"L_test {lt:.3f}", file=sys.stderr, flush=True)
    budgets = {"ctgan_epochs": a.ctgan_epochs, "tvae_epochs": a.tvae_epochs,
               "echoflow_epochs": a.echoflow_epochs, "threads": a.threads, "quick": a.quick}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"budgets": budgets, "results": results}, f, indent=2)
    print("| dataset | model | budget | train s | L_syn (true) | L_syn (SDGym GMM) | L_test |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in results:
        secs = "" if r["seconds"] is None else f"{r['seconds']:.0f}"
        print(f"| {r['dataset']} | {r['model']} | {r['budget']} | {secs} | {fmt(r['lsyn_true'])} | "
              f"{fmt(r['lsyn_sdgym'])} | {fmt(r['ltest'])} |")


if __name__ == "__main__":
    main()
