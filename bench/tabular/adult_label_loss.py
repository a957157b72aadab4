#!/usr/bin/env python3
"""How noisy adult's drawn labels are given the other columns, by feature group.

A HistGradientBoostingClassifier trained on adult.csv's real rows (categorical columns as ordinal
codes, declared categorical) predicts P(income = >50K) from one group of columns; its log loss on
adult_test.csv's real rows is the reference, and on each synthetic CSV it measures how well the
drawn income follows those columns (higher = noisier labels given the features). Groups: all
columns, the numeric ones, the categorical ones, and the categorical ones plus each numeric column.

Usage: bench/.venv/bin/python bench/tabular/adult_label_loss.py SYNTHETIC.csv [...]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adult_efficacy import CONTINUOUS, LABEL, POSITIVE, load  # noqa: E402
from common import DATASETS  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("synthetic", nargs="+", help="CSV files of drawn adult rows")
    args = ap.parse_args()
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import log_loss
    header, real = load(os.path.join(DATASETS, "adult", "adult.csv"))
    _, test = load(os.path.join(DATASETS, "adult", "adult_test.csv"))
    cat = [h for h in header if h not in CONTINUOUS and h != LABEL]
    codes = {c: {s: i for i, s in enumerate(sorted(set(real[c])))} for c in cat}

    def feats(cols, use):
        return np.column_stack([cols[c].astype(float) if c in CONTINUOUS
                                else np.array([codes[c].get(v, -1) for v in cols[c]], dtype=float) for c in use])

    syn = [(p, load(p)[1]) for p in args.synthetic]
    groups = [("all", cat + CONTINUOUS), ("numeric only", CONTINUOUS), ("categorical only", cat)]
    groups += [(f"categorical + {c}", cat + [c]) for c in CONTINUOUS]
    print("| features | real test rows | " + " | ".join(p for p, _ in syn) + " |")
    print("|---|---|" + "---|" * len(syn))
    for name, use in groups:
        clf = HistGradientBoostingClassifier(random_state=0, categorical_features=[c in cat for c in use])
        clf.fit(feats(real, use), real[LABEL] == POSITIVE)
        cells = [log_loss(cols[LABEL] == POSITIVE, clf.predict_proba(feats(cols, use))[:, 1])
                 for cols in [test] + [s for _, s in syn]]
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
