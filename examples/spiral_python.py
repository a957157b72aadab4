# %% [markdown]
# # EchoFlow from Python: the spiral
#
# The seed library's example, on the C++ engine: fit a flow (spline couplings; the seed used
# RealNVP, flow="realnvp" here) to a noisy two-turn
# spiral, draw 1000 synthetic rows, score rows, and plot real next to synthetic.
# Same configuration as examples/spiral.json (the `eftrain` demo, examples/demo.sh).
#
#     tests/python/run.sh -q          # once: builds build-py/venv with the package
#     build-py/venv/bin/python examples/spiral_python.py [OUT_DIR]     (default out/python)
#
# Cells are marked `# %%` (VS Code / Jupyter "percent" format).

# %%
import os
import sys
import time

import numpy as np

from echoflow import EchoFlow
from echoflow.demo import load_dataset

out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("out", "python")
os.makedirs(out_dir, exist_ok=True)

# %% The data: 4000 rows of (x, y), the table examples/make_spiral.cpp writes.
df = load_dataset("spiral", num_samples=4000, seed=0)
print(df.describe().loc[["mean", "std", "min", "max"]])

# %% Fit: nsf-coupling, 10 coupling layers of [64, 64], up to 300 epochs with early stopping.
model = EchoFlow(flow="nsf-coupling", layers=10, hidden=(64, 64), epochs=300, batch_size=128,
                 lr=1e-3, seed=0, validation_fraction=0.1, patience=30, threads=2,
                 verbose=True)
t0 = time.perf_counter()
model.fit(df)
print(f"fit: {time.perf_counter() - t0:.1f} s, best validation NLL "
      f"{model.training_['best_val_nll']:.3f} nats/row")

# %% Sample 1000 synthetic rows (same seed, same rows) and score the training rows.
synthetic = model.sample(num_samples=1000, seed=1)
print(synthetic.head())
logp = model.log_likelihood(df)
print(f"mean log-density of the training rows: {logp.mean():.3f} nats")

# %% Save, reload, and check the reloaded model agrees.
path = os.path.join(out_dir, "spiral.efm")
model.save(path)
again = EchoFlow.load(path)
assert np.array_equal(again.log_likelihood(df), logp)
synthetic.to_csv(os.path.join(out_dir, "synthetic.csv"), index=False)

# %% Plot real | synthetic, if matplotlib is installed.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
else:
    fig, axes = plt.subplots(1, 2, figsize=(10, 5), sharex=True, sharey=True)
    axes[0].scatter(df.x, df.y, s=2, color="#1f77b4")
    axes[0].set_title("real (4000 rows)")
    axes[1].scatter(synthetic.x, synthetic.y, s=2, color="#d62728")
    axes[1].set_title("EchoFlow nsf-coupling samples (1000 rows)")
    for ax in axes:
        ax.set_aspect("equal")
    png = os.path.join(out_dir, "spiral_python.png")
    fig.savefig(png, dpi=100, bbox_inches="tight")
    print(f"wrote {png}")
print(f"wrote {path} and {os.path.join(out_dir, 'synthetic.csv')}")
