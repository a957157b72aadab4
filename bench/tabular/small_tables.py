"""Small-table stand-ins for issue 16's "small tables overfit" item (a 1.6k-row table of integer /
categorical columns with a label), built from public data with a fixed seed:

  adult1600.csv         1,600 rows drawn at random from adult.csv (15 columns, label income)
  adult1600_intcat.csv  the same rows without fnlwgt, capital-gain and capital-loss (12 columns:
                        small-range integers and categoricals)
  kdd1600.csv           KDD Cup 99 (10% file): 200 rows drawn at random from each of its 8 largest
                        classes (42 columns, label the attack type; many integer/categorical)
  NET800.csv, NET800_test.csv  with --bif NET.bif: 800 training and 4,000 test rows drawn from a
                        Bayesian network (categorical only); prints the network's own mean
                        log-likelihood of the test rows (the best any model can score)

    bench/.venv/bin/python bench/tabular/small_tables.py --adult /work/shared/datasets/adult/adult.csv \
        --kdd /work/shared/datasets/intrusion/kddcup.data_10_percent.gz --out bench/tabular/out/small
"""
import argparse
import collections
import gzip
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bif import parse_bif  # noqa: E402
from common import read_csv, write_csv  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adult", required=True)
    ap.add_argument("--kdd", required=True, help="kddcup.data_10_percent.gz")
    ap.add_argument("--kdd-columns", help="columns.txt (default: next to --kdd)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bif", help="also rows of this Bayesian network (e.g. alarm.bif)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)

    header, rows = read_csv(args.adult)
    rows = rng.sample(rows, 1600)
    write_csv(os.path.join(args.out, "adult1600.csv"), header, rows)
    keep = [i for i, h in enumerate(header) if h not in ("fnlwgt", "capital-gain", "capital-loss")]
    write_csv(os.path.join(args.out, "adult1600_intcat.csv"), [header[i] for i in keep],
              [[r[i] for i in keep] for r in rows])

    cols_path = args.kdd_columns or os.path.join(os.path.dirname(args.kdd), "columns.txt")
    with open(cols_path) as f:
        kdd_header = f.read().strip().split(",")
    by_class = collections.defaultdict(list)
    with gzip.open(args.kdd, "rt") as f:
        for line in f:
            r = line.strip().split(",")
            r[-1] = r[-1].rstrip(".")
            by_class[r[-1]].append(r)
    classes = sorted(by_class, key=lambda c: -len(by_class[c]))[:8]
    kdd = [r for c in sorted(classes) for r in rng.sample(by_class[c], 200)]
    rng.shuffle(kdd)
    write_csv(os.path.join(args.out, "kdd1600.csv"), kdd_header, kdd)
    print("wrote", args.out, "classes", classes)

    if args.bif:
        net = parse_bif(args.bif)
        stem = os.path.join(args.out, os.path.splitext(os.path.basename(args.bif))[0] + "800")
        for path, n, seed in [(stem + ".csv", 800, 1), (stem + "_test.csv", 4000, 2)]:
            codes = net.sample(n, seed)
            write_csv(path, net.names, [[net.states[v][int(codes[v][r])] for v in net.names] for r in range(n)])
        print("wrote", stem + ".csv; the network's mean test log-likelihood", sum(net.loglik(codes)) / 4000)


if __name__ == "__main__":
    main()
