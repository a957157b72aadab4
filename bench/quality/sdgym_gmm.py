#!/usr/bin/env python3
"""Density-quality benchmark of eftrain's flows (MAF, RealNVP, nsf-ar, nsf-coupling) on SDGym's Gaussian mixtures.

    bash bench/quality/setup_venv.sh
    bench/.venv/bin/python bench/quality/sdgym_gmm.py [--eftrain build/eftrain] [--out DIR] [--quick]

What SDGym did (sources read in the public sdv-dev/SDGym repository, formerly DAI-Lab/SDGym):

* Data. SDGym's simulated-data generator (`create_distribution` / `make_gaussian_mixture`, a script
  of the SDGym generation that wrote data/simulated/{grid,gridr,ring}.{npz,json}; the search index
  shows its text but not its file path) seeds `np.random.seed(0)` at import, draws 2 x 10000 rows
  and splits them after one `np.random.shuffle` into train = first half, test = second half:
    - every component has covariance diag(0.05, 0.05), i.e. standard deviation sqrt(0.05) = 0.2236
      per coordinate (the variance, not the std, is 0.05);
    - equal weights: the rows are drawn in blocks of round(n / K) rows per component;
    - grid: K = 25, means {-4,-2,0,2,4}^2 (itertools.product order);
    - gridr: the same 25 means plus a uniform offset (np.random.rand(2) - 0.5) each, drawn in that
      order as the first random numbers after the seed (means stored as float32);
    - ring: K = 8, means on the unit circle: (-1,0),(1,0),(0,-1),(0,1),(-r,-r),(r,r),(-r,r),(r,-r)
      with r = sqrt(1/2).
  This script replays that recipe with np.random.RandomState(0) (the legacy stream that
  np.random.seed(0) drives), so the centers of gridr are SDGym's own.

* Metrics. sdv-dev/SDGym sdgym/evaluate.py, `default_gmm_likelihood(trainset, testset, n)` with
  BAYESIAN_PARAMETER = {'grid': 30, 'gridr': 30, 'ring': 10} (the version behind the CTGAN paper's
  table; SDGym 0.2's `_evaluate_gmm_likelihood` runs the same code for components [10, 30]):
      gmm = GaussianMixture(n, covariance_type='diag'); gmm.fit(test);  L_syn  = gmm.score(synthetic)
      gmm.fit(synthetic);                                                L_test = gmm.score(test)
  So SDGym's code scores L_syn under a GMM fitted to the real test rows; the CTGAN paper describes
  it as the likelihood of synthetic rows under the oracle (the true mixture). Both are reported:
  "L_syn (true)" uses the true mixture, "L_syn (SDGym)" the code's GMM. L_test follows the code:
  n = 30 (grid, gridr) or 10 (ring) diagonal components, fitted to 10,000 synthetic rows, mean
  log-likelihood of the 10,000 real test rows. random_state=0 makes the GMM fits repeatable
  (SDGym left it unset).
  Check of the recipe: the true mean log-density of the test rows is -3.054 (grid), -3.056 (gridr)
  and -1.692 (ring), matching the published real-data anchors -3.06 and -1.70.

Also reported: the flow's own mean held-out log-likelihood (`eftrain score` on the test rows) next
to the true mean log-density of the same rows, and a "real" row that scores the training rows as if
they were synthetic (what the anchors' real-data row measures).
"""
import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture

VARIANCE = 0.05          # SDGym's s: the diagonal of each component's covariance
N_ROWS = 20000           # SDGym drew 2 x 10000 rows: first half train, second half test
GMM_COMPONENTS = {"grid": 30, "gridr": 30, "ring": 10}  # SDGym evaluate.py BAYESIAN_PARAMETER

# Published anchors (CTGAN paper, SDGym benchmark): (L_syn, L_test).
ANCHORS = {
    "grid": {"real": (-3.06, -3.06), "TVAE": (-2.86, -11.26), "CTGAN": (-5.63, -3.69)},
    "ring": {"real": (-1.70, -1.70), "TVAE": (-1.68, -1.79), "CTGAN": (-3.43, -2.19)},
}

# The training configuration used for the reported table. The columns use eftrain's default
# encoders: its "auto" rule gives grid's and ring's flat, multimodal marginals the quantile map
# (monotone piecewise-linear map to N(0,1) with exact Jacobian), which removes most of what an
# affine flow cannot express; the flow then models the remaining dependence. (Before that rule,
# grid needed 10 x [128,128] for 300 epochs to reach a held-out -3.84.)
FULL = {
    "model": {"layers": 8, "hidden": [128, 128], "activation": "relu"},
    "train": {"epochs": 200, "batch_size": 256, "learning_rate": 1e-3, "seed": 0,
              "validation_fraction": 0.1, "patience": 30},
}
QUICK = {
    "model": {"layers": 4, "hidden": [32, 32], "activation": "relu"},
    "train": {"epochs": 3, "batch_size": 256, "learning_rate": 1e-3, "seed": 0,
              "validation_fraction": 0.1, "patience": 10},
}


def mixture(kind):
    """SDGym's rows and true mixture for kind: (train, test, means, variance)."""
    rs = np.random.RandomState(0)
    grid = list(itertools.product(range(-4, 5, 2), range(-4, 5, 2)))
    if kind == "grid":
        mus = np.array(grid, dtype=np.float32)
    elif kind == "gridr":
        mus = np.array([np.array(p) + (rs.rand(2) - 0.5) for p in grid], dtype=np.float32)
    elif kind == "ring":
        r = math.sqrt(0.5)
        mus = np.array([[-1, 0], [1, 0], [0, -1], [0, 1], [-r, -r], [r, r], [-r, r], [r, -r]])
    else:
        raise ValueError(kind)
    k = len(mus)
    cov = np.eye(2) * VARIANCE
    block = int(np.round(N_ROWS / k))
    rows = np.empty((N_ROWS, 2))
    for i in range(k):
        hi = N_ROWS if (i + 1) * block >= N_ROWS else (i + 1) * block
        rows[i * block:hi] = rs.multivariate_normal(mus[i], cov, size=hi - i * block)
    rs.shuffle(rows)
    return rows[:N_ROWS // 2], rows[N_ROWS // 2:], mus.astype(np.float64), VARIANCE


def true_logpdf(x, mus, var):
    d2 = ((x[:, None, :] - mus[None, :, :]) ** 2).sum(-1)
    return logsumexp(-d2 / (2 * var) - math.log(2 * math.pi * var), axis=1) - math.log(len(mus))


def sdgym_scores(kind, test, syn):
    """(L_syn by SDGym's code, L_test) as sdgym/evaluate.py default_gmm_likelihood computes them."""
    gmm = GaussianMixture(GMM_COMPONENTS[kind], covariance_type="diag", random_state=0)
    gmm.fit(test)
    l_syn = gmm.score(syn)
    gmm.fit(syn)
    return l_syn, gmm.score(test)


def write_csv(path, x):
    np.savetxt(path, x, delimiter=",", header="x,y", comments="", fmt="%.9g")


def read_csv(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def run(cmd, log):
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}; see {log}")


def fmt(v):
    return "n/a" if v is None else f"{v:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eftrain", default="build/eftrain", help="path of the eftrain binary")
    ap.add_argument("--out", default="bench/quality/out", help="output directory")
    ap.add_argument("--datasets", default="grid,gridr,ring")
    ap.add_argument("--models", default="maf,realnvp,nsf-ar,nsf-coupling")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, help="override train.epochs")
    ap.add_argument("--quick", action="store_true", help="tiny models, 3 epochs: a smoke test")
    a = ap.parse_args()
    eftrain = os.path.abspath(a.eftrain)
    if not os.access(eftrain, os.X_OK):
        sys.exit(f"{eftrain}: not an executable (build it, or pass --eftrain)")
    preset = QUICK if a.quick else FULL
    os.makedirs(a.out, exist_ok=True)
    rows, results = [], []
    for kind in a.datasets.split(","):
        d = os.path.join(a.out, kind)
        os.makedirs(d, exist_ok=True)
        train, test, mus, var = mixture(kind)
        write_csv(os.path.join(d, "train.csv"), train)
        write_csv(os.path.join(d, "test.csv"), test)
        true_test = float(true_logpdf(test, mus, var).mean())
        anchors = ANCHORS.get(kind, {})
        anc = "; ".join(f"{k} {v[0]:.2f}/{v[1]:.2f}" for k, v in anchors.items()) or "none published here"
        # The real-data row: the training rows play the synthetic rows.
        ls_sdgym, lt = sdgym_scores(kind, test, train)
        r = {"dataset": kind, "model": "real (train rows)", "seconds": None, "heldout_model": None,
             "heldout_true": true_test, "lsyn_true": float(true_logpdf(train, mus, var).mean()),
             "lsyn_sdgym": ls_sdgym, "ltest": lt}
        results.append(r)
        rows.append((r, anc))
        for flow in a.models.split(","):
            cfg = {
                "data": {"path": "train.csv", "columns": {"x": "continuous", "y": "continuous"}},
                "model": dict(preset["model"], flow=flow),
                "train": dict(preset["train"], threads=a.threads),
                "device": "cpu",
                "output": {"model": f"{flow}.efm"},
            }
            if a.epochs:
                cfg["train"]["epochs"] = a.epochs
            cpath = os.path.join(d, f"{flow}.json")
            with open(cpath, "w") as f:
                json.dump(cfg, f, indent=2)
            log = os.path.join(d, f"{flow}.log")
            open(log, "w").close()
            t0 = time.time()
            run([eftrain, "train", cpath], log)
            secs = time.time() - t0
            model = os.path.join(d, f"{flow}.efm")
            scores = os.path.join(d, f"{flow}_test_scores.csv")
            syn_path = os.path.join(d, f"{flow}_synthetic.csv")
            run([eftrain, "score", model, "--data", os.path.join(d, "test.csv"), "--out", scores], log)
            run([eftrain, "sample", model, "--rows", "10000", "--seed", "1", "--out", syn_path], log)
            held = float(np.loadtxt(scores, skiprows=1).mean())
            syn = read_csv(syn_path)
            ls_sdgym, lt = sdgym_scores(kind, test, syn)
            r = {"dataset": kind, "model": flow, "seconds": secs, "heldout_model": held,
                 "heldout_true": true_test, "lsyn_true": float(true_logpdf(syn, mus, var).mean()),
                 "lsyn_sdgym": ls_sdgym, "ltest": lt}
            results.append(r)
            rows.append((r, anc))
            print(f"{kind} {flow}: {secs:.0f} s, held-out LL {held:.3f} (true {true_test:.3f}), "
                  f"L_syn {r['lsyn_true']:.3f}, L_test {lt:.3f}", file=sys.stderr, flush=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"preset": "quick" if a.quick else "full", "config": preset, "results": results}, f,
                  indent=2)
    print("| dataset | model | train s | held-out LL (model) | held-out LL (true) | "
          "L_syn (true mixture) | L_syn (SDGym GMM) | L_test | anchors L_syn/L_test |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r, anc in rows:
        secs = "" if r["seconds"] is None else f"{r['seconds']:.0f}"
        print(f"| {r['dataset']} | {r['model']} | {secs} | {fmt(r['heldout_model'])} | "
              f"{fmt(r['heldout_true'])} | {fmt(r['lsyn_true'])} | {fmt(r['lsyn_sdgym'])} | "
              f"{fmt(r['ltest'])} | {anc} |")


if __name__ == "__main__":
    main()
