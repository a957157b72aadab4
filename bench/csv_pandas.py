"""pandas to_csv / read_csv on the same table bench_csv writes (bench/bench_csv.cpp):
    bench_csv --rows 1000000 --cols 8 --dir /tmp --keep
    python3 bench/csv_pandas.py /tmp/bench_csv.csv [--repeats 3]
Reads the file (read_csv, default C engine, float_precision="round_trip" so values are exact),
writes it back with to_csv (shortest repr floats), and prints MB/s of CSV text, best of repeats.
pandas itself is single-threaded for both."""
import argparse
import os
import time

import pandas as pd

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("--repeats", type=int, default=3)
a = ap.parse_args()
mb = os.path.getsize(a.file) / 1e6
best_r = best_w = 1e30
out = a.file + ".pandas.csv"
for _ in range(a.repeats):
    t0 = time.perf_counter()
    df = pd.read_csv(a.file, float_precision="round_trip")
    best_r = min(best_r, time.perf_counter() - t0)
    t0 = time.perf_counter()
    df.to_csv(out, index=False)
    best_w = min(best_w, time.perf_counter() - t0)
wmb = os.path.getsize(out) / 1e6
os.remove(out)
print(f"pandas {pd.__version__}  rows {len(df)} cols {df.shape[1]}  file {mb:.1f} MB  "
      f"write {best_w:.3f} s = {wmb / best_w:.0f} MB/s  read {best_r:.3f} s = {mb / best_r:.0f} MB/s")
