#!/usr/bin/env python3
"""One end-to-end job of zuko + pandas, the peer side of bench/peers/e2e.py (what `eftrain
train|sample|score` does as one process):

    e2e_peer.py train  --flow maf|realnvp --data train.csv --epochs E --batch 512 --model m.pt
    e2e_peer.py sample --model m.pt --rows N --out rows.csv [--seed S]
    e2e_peer.py score  --model m.pt --data rows.csv --out scores.csv

train: pandas.read_csv, standardize every column (mean / std of the training rows), zuko's MAF or
RealNVP (5 transforms, hidden (128, 128), as bench/peers/throughput.py), Adam (lr 1e-3) over
shuffled batches for E epochs (no validation split, no early stopping: eftrain is run with
validation_fraction 0 and patience 0), torch.save of the weights with the standardization.
sample: rows drawn in batches of 65,536, mapped back to original units, DataFrame.to_csv.
score: read_csv, standardize, log_prob in batches of 65,536 minus sum(log std) (original units),
to_csv. Threads: torch.set_num_threads(--threads). Prints one JSON line: {"seconds": time from
after the imports to the end of the job}, so e2e.py can report the job with and without Python's
start-up and imports.
"""
import os

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # as every process of bench/compare.sh

import argparse
import json
import math
import time

import numpy as np
import pandas as pd
import torch
import zuko

CHUNK = 65536


def build(flow, D, layers, hidden):
    if flow == "maf":
        return zuko.flows.MAF(D, transforms=layers, hidden_features=(hidden, hidden))
    if flow == "realnvp":
        return zuko.flows.RealNVP(D, transforms=layers, hidden_features=(hidden, hidden))
    raise SystemExit(f"e2e_peer.py: unknown flow {flow}")


def load(path):
    ck = torch.load(path, weights_only=False)
    m = build(ck["flow"], len(ck["columns"]), ck["layers"], ck["hidden"])
    m.load_state_dict(ck["state"])
    m.eval()
    return m, ck


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("job", choices=["train", "sample", "score"])
    ap.add_argument("--flow", default="maf")
    ap.add_argument("--data")
    ap.add_argument("--model", required=True)
    ap.add_argument("--out")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    t0 = time.perf_counter()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)
    if a.job == "train":
        df = pd.read_csv(a.data)
        x = df.to_numpy(dtype=np.float64)
        mean, std = x.mean(axis=0), x.std(axis=0)
        std[std == 0] = 1.0
        u = torch.from_numpy(((x - mean) / std).astype(np.float32))
        m = build(a.flow, u.shape[1], a.layers, a.hidden)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        for _ in range(a.epochs):
            perm = torch.randperm(u.shape[0])
            for i in range(0, u.shape[0], a.batch):
                opt.zero_grad()
                loss = -m().log_prob(u[perm[i:i + a.batch]]).mean()
                loss.backward()
                opt.step()
        torch.save({"flow": a.flow, "layers": a.layers, "hidden": a.hidden,
                    "columns": list(df.columns), "mean": mean, "std": std,
                    "state": m.state_dict()}, a.model)
    elif a.job == "sample":
        m, ck = load(a.model)
        parts = []
        with torch.no_grad():
            for i in range(0, a.rows, CHUNK):
                u = m().sample((min(CHUNK, a.rows - i),)).numpy().astype(np.float64)
                parts.append(u * ck["std"] + ck["mean"])
        pd.DataFrame(np.concatenate(parts), columns=ck["columns"]).to_csv(a.out, index=False)
    else:
        m, ck = load(a.model)
        x = pd.read_csv(a.data)[ck["columns"]].to_numpy(dtype=np.float64)
        u = torch.from_numpy(((x - ck["mean"]) / ck["std"]).astype(np.float32))
        shift = float(np.log(ck["std"]).sum())
        out = []
        with torch.no_grad():
            for i in range(0, u.shape[0], CHUNK):
                out.append(m().log_prob(u[i:i + CHUNK]).numpy().astype(np.float64) - shift)
        pd.DataFrame({"log_prob": np.concatenate(out)}).to_csv(a.out, index=False)
    print(json.dumps({"seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
