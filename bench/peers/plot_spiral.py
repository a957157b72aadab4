#!/usr/bin/env python3
"""The seed's figure (a): the spiral beside 1000 samples from each model, one panel each.

    bench/peers/.venv/bin/python bench/peers/plot_spiral.py QUALITY_OUT/spiral OUT.png

Reads the CSVs bench/peers/quality.py left in QUALITY_OUT/spiral: train.csv (make_spiral's rows),
eftrain_<flow>_synthetic.csv (exported by `eftrain sample`; <flow> = examples/spiral.json's flow),
echoflow_synthetic.csv, GaussianCopula_synthetic.csv, CTGAN_synthetic.csv (TVAE too when present);
the first 1000 rows of each. Plotting only.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# The EchoFlow panel shows the demo's flow (examples/spiral.json's model.flow).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                       "spiral.json")) as _f:
    DEMO_FLOW = json.load(_f)["model"]["flow"]
PANELS = [("train.csv", "spiral (training rows)"),
          (f"eftrain_{DEMO_FLOW}_synthetic.csv", f"EchoFlow (eftrain, {DEMO_FLOW})"),
          ("echoflow_synthetic.csv", "original echoflow 0.0.2"),
          ("GaussianCopula_synthetic.csv", "GaussianCopula (SDV)"),
          ("CTGAN_synthetic.csv", "CTGAN (SDV)"),
          ("TVAE_synthetic.csv", "TVAE (SDV)")]


def main():
    d, out = sys.argv[1], sys.argv[2]
    panels = [(f, t) for f, t in PANELS if os.path.exists(os.path.join(d, f))]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, (f, title) in zip(axes[0], panels):
        x = np.loadtxt(os.path.join(d, f), delimiter=",", skiprows=1, ndmin=2)[:1000]
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.6, color="C0" if f == "train.csv" else "C1")
        ax.set_title(title, fontsize=9)
        ax.set_xlim(-13, 13)
        ax.set_ylim(-13, 13)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    fig.suptitle("1000 rows each: the spiral and samples from each model", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out + ".tmp.png", dpi=110)
    os.replace(out + ".tmp.png", out)


if __name__ == "__main__":
    main()
