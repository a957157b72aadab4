"""Python package vs eftrain on the spiral demo (not part of the test run).

    cmake -S . -B build-pyref -DEF_CUDA=OFF -DEF_BUILD_TESTS=OFF
    cmake --build build-pyref -j2 --target eftrain make_spiral
    build-py/venv/bin/python tests/python/bench_spiral.py build-pyref [ROWS_TO_SCORE=1000000]

1. fit + sample(1000) with examples/spiral.json's config, from Python and with `eftrain train` +
   `eftrain sample`, on the same CSV (make_spiral 4000 rows, seed 0);
2. scoring ROWS_TO_SCORE rows: EchoFlow.log_likelihood(DataFrame) vs `eftrain score` on the same
   rows written to CSV (the CLI time includes parsing the CSV and writing the scores).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from echoflow import EchoFlow


def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    return dt, p.stderr


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build-pyref"
    n_score = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    eftrain, make_spiral = os.path.join(build, "eftrain"), os.path.join(build, "make_spiral")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cfg = json.load(open(os.path.join(root, "examples", "spiral.json")))
    work = tempfile.mkdtemp(prefix="ef-bench-")
    csv = os.path.join(work, "spiral.csv")
    subprocess.run([make_spiral, csv, "4000", "0"], check=True)
    cfg["data"]["path"] = csv
    cfg["output"]["model"] = os.path.join(work, "cli.efm")
    cfg_path = os.path.join(work, "spiral.json")
    json.dump(cfg, open(cfg_path, "w"))

    # --- eftrain train + sample
    t_train, log = run([eftrain, "train", cfg_path])
    cli_epochs = sum(1 for line in log.splitlines() if line.startswith("epoch "))
    t_sample, _ = run([eftrain, "sample", cfg["output"]["model"], "--rows", "1000", "--seed", "1",
                       "--out", os.path.join(work, "cli_synth.csv")])
    cli_val = [line for line in log.splitlines() if "best epoch" in line][0]

    # --- Python fit + sample
    df = pd.read_csv(csv)
    m, t = cfg["model"], cfg["train"]
    model = EchoFlow(flow=m["flow"], layers=m["layers"], hidden=m["hidden"], epochs=t["epochs"],
                     batch_size=t["batch_size"], lr=t["learning_rate"], seed=t["seed"],
                     validation_fraction=t["validation_fraction"], patience=t["patience"],
                     threads=t["threads"], device=cfg["device"])
    t0 = time.perf_counter()
    model.fit(df)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.sample(num_samples=1000, seed=1)
    t_psample = time.perf_counter() - t0
    tr = model.training_

    print(f"spiral, {m['flow']} {m['layers']} x {m['hidden']}, batch {t['batch_size']}, "
          f"{t['threads']} threads, up to {t['epochs']} epochs (patience {t['patience']})")
    print(f"  eftrain train : {t_train:6.2f} s process ({cli_epochs} epochs; {cli_val.split(';')[1].strip()})")
    print(f"  Python fit    : {t_fit:6.2f} s ({tr['epochs_run']} epochs; best epoch {tr['best_epoch']} "
          f"(val NLL {tr['best_val_nll']:.4f}); engine {tr['seconds']:.2f} s)")
    print(f"  per epoch     : eftrain {t_train / max(cli_epochs, 1) * 1e3:.1f} ms, "
          f"Python {t_fit / tr['epochs_run'] * 1e3:.1f} ms")
    print(f"  eftrain sample 1000 rows: {t_sample * 1e3:7.1f} ms (process: load model, draw, write CSV)")
    print(f"  Python sample(1000)     : {t_psample * 1e3:7.1f} ms")

    # --- scoring n_score rows
    rng = np.random.default_rng(1)
    big = df.sample(n=n_score, replace=True, random_state=1).reset_index(drop=True)
    big = big + rng.normal(0, 0.05, big.shape)
    big_csv = os.path.join(work, "big.csv")
    big.to_csv(big_csv, index=False, float_format="%.9g")
    model.log_likelihood(big.head(1000))  # warm up
    t0 = time.perf_counter()
    lp = model.log_likelihood(big)
    t_py = time.perf_counter() - t0
    t_cli, _ = run([eftrain, "score", cfg["output"]["model"], "--data", big_csv,
                    "--out", os.path.join(work, "scores.csv")])
    cli = EchoFlow.load(cfg["output"]["model"])
    t0 = time.perf_counter()
    lp_cli_model = cli.log_likelihood(big)
    t_py_cli = time.perf_counter() - t0
    lp_file = pd.read_csv(os.path.join(work, "scores.csv"))["log_prob"].to_numpy()
    diff = np.max(np.abs(lp_file - lp_cli_model) / np.maximum(1, np.abs(lp_cli_model)))
    print(f"scoring {n_score:,} rows (x, y):")
    print(f"  Python log_likelihood (Python-fitted model): {t_py:6.2f} s = {n_score / t_py:12,.0f} rows/s")
    print(f"  Python log_likelihood (eftrain model)      : {t_py_cli:6.2f} s = {n_score / t_py_cli:12,.0f} rows/s")
    print(f"  eftrain score (CSV in, CSV out)            : {t_cli:6.2f} s = {n_score / t_cli:12,.0f} rows/s")
    print(f"  max relative difference, eftrain vs Python on the eftrain model: {diff:.2e}")
    print(f"  finite: {np.isfinite(lp).all()}, mean log p {lp.mean():.3f}")


if __name__ == "__main__":
    main()
