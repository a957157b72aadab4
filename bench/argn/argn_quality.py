"""TabularARGN (mostlyai-engine) on issue 16's quality rows, with its defaults on the CPU.

  bash bench/argn/setup_venv.sh
  bench/argn/.venv/bin/python bench/argn/argn_quality.py penguins --data tests/data/penguins.csv --seeds 0 1 2
  build-cpu/bench_bn --net alarm --write-csv OUT/alarm            # the rows efbench's BN rows use
  bench/argn/.venv/bin/python bench/argn/argn_quality.py bn --train OUT/alarm/train.csv --rows 10000 \
      --out OUT/alarm/argn_seed0.csv --seed 0
  build-cpu/bench_bn --net alarm --score-csv OUT/alarm/argn_seed0.csv   # L_syn, L_test

penguins: the share of synthetic rows (5000) whose (species, island, sex) combination, missing
included, never occurs in the data -- efbench's run_penguins figure -- and issue 16's support
check on its numeric columns (bench/tabular/support.py: the share of rows with a value outside
the real [min, max], and the worst excess); --out OUT.csv keeps each seed's rows as OUT<seed>.csv.
bn: fits on the train CSV (every column categorical), writes `rows` synthetic rows for bench_bn
to score. Prints one
`RESULT` line per run with the fit's CPU seconds (user + sys of this process; torch on
--threads threads).
"""
import argparse
import os
import random
import resource
import sys
import time


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def seed_all(seed):
    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fit_sample(df, n, seed, workspace):
    from mostlyai.engine import TabularARGN
    seed_all(seed)
    c0, t0 = cpu_s(), time.time()
    m = TabularARGN(workspace_dir=workspace, verbose=0)
    m.fit(df)
    fit_cpu, fit_wall = cpu_s() - c0, time.time() - t0
    seed_all(seed + 1000)
    syn = m.sample(n_samples=n)
    return syn, fit_cpu, fit_wall


def support_line(real, syn):
    """bench/tabular/support.py's figure on real's numeric columns (penguins: the bill, flipper,
    body-mass and year columns)."""
    import pandas as pd
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tabular"))
    import support
    numeric = [c for c in real.columns if pd.api.types.is_numeric_dtype(real[c])]
    return support.describe(support.out_of_range(real, syn, numeric))


def combos(df):
    cols = ["species", "island", "sex"]
    return [tuple("NA" if (v is None or (isinstance(v, float) and v != v)) else str(v) for v in row)
            for row in df[cols].itertuples(index=False, name=None)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["penguins", "bn"])
    ap.add_argument("--data", default="tests/data/penguins.csv")
    ap.add_argument("--train")
    ap.add_argument("--out")
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--seed", type=int)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workspace", default="bench/argn/out/ws")
    a = ap.parse_args()
    import pandas as pd
    import torch
    torch.set_num_threads(a.threads)
    if a.what == "penguins":
        real = pd.read_csv(a.data)
        seen = set(combos(real))
        for s in a.seeds:
            syn, c, w = fit_sample(real, 5000, s, f"{a.workspace}/penguins{s}")
            if a.out:  # keep the rows: OUT with the seed before the extension
                root, ext = os.path.splitext(a.out)
                os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
                syn.to_csv(f"{root}{s}{ext or '.csv'}", index=False)
            bad = sum(1 for t in combos(syn) if t not in seen)
            print(f"RESULT penguins TabularARGN seed {s}: impossible share {bad / len(syn):.4f} "
                  f"({bad} of {len(syn)}); {support_line(real, syn)}; fit {c:.1f} CPU s, {w:.1f} s wall",
                  flush=True)
    else:
        if not a.train or not a.out:
            sys.exit("argn_quality.py bn: --train and --out are required")
        df = pd.read_csv(a.train, dtype=str, keep_default_na=False)
        s = a.seed if a.seed is not None else a.seeds[0]
        syn, c, w = fit_sample(df, a.rows, s, f"{a.workspace}/{os.path.basename(os.path.dirname(a.train))}{s}")
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        syn.astype(str).to_csv(a.out, index=False)
        print(f"RESULT bn {a.train} TabularARGN seed {s}: wrote {len(syn)} rows to {a.out}; fit {c:.1f} CPU s, "
              f"{w:.1f} s wall", flush=True)


if __name__ == "__main__":
    main()
