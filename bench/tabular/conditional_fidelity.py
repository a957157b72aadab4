"""Conditional fidelity: do rows drawn `--given` a label look like that label?

Issue 16's goal: rows drawn with `eftrain sample --given LABEL=c` are classified as c by a
classifier trained on real rows at >= 90% of the real rows' own accuracy.

Procedure (one seed):
  1. The table's rows are split 70/30 (seeded shuffle): real-train and real-test.
  2. eftrain trains on real-train with a config of data.path, conditional [LABEL], the seed and
     train.threads only (everything else on defaults).
  3. For every label c, as many rows as real-test has of c are drawn `--given LABEL=c`.
  4. A classifier (scikit-learn HistGradientBoostingClassifier, categorical columns ordinal-
     encoded and declared categorical, missing cells as NaN) is trained on real-train.
  5. accuracy(real-test) and accuracy(synthetic, label = the given c); the ratio is the figure.
     Per label, the classifier's recall on real-test rows and on rows drawn --given it.

    bench/.venv/bin/python bench/tabular/conditional_fidelity.py --eftrain build/eftrain \
        --data tests/data/penguins.csv --label species --out bench/tabular/out/cf_penguins

Also reported: the best validation epoch and the held-out log-likelihood (mean `eftrain score` of
the real-test rows, nats per row). `--set train.weight_decay=0.01` (a JSON value) adds a config
key, to compare settings against the defaults.
"""
import argparse
import json
import math
import os
import random
import sys

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Eftrain, markdown_table, read_csv, write_csv  # noqa: E402

MISSING = {"", "NA", "?", "nan"}


def to_float(x):
    try:
        return float(x)
    except ValueError:
        return None


def features(header, label, rows, kinds, levels):
    """Matrix X (numeric as float, categorical as level index; missing / unseen = NaN)."""
    cols = [i for i, h in enumerate(header) if h != label]
    X = np.full((len(rows), len(cols)), np.nan)
    for j, i in enumerate(cols):
        for r, row in enumerate(rows):
            v = row[i]
            if v in MISSING:
                continue
            if kinds[i] == "num":
                f = to_float(v)
                X[r, j] = np.nan if f is None else f
            else:
                X[r, j] = levels[i].get(v, np.nan)
    return X, [kinds[i] == "cat" for i in cols]


def run(args, seed):
    header, rows = read_csv(args.data)
    li = header.index(args.label)
    rows = [r for r in rows if r[li] not in MISSING]
    rng = random.Random(seed)
    rng.shuffle(rows)
    n_train = int(0.7 * len(rows))
    train, test = rows[:n_train], rows[n_train:]
    out = os.path.join(args.out, f"seed{seed}")
    os.makedirs(out, exist_ok=True)
    train_csv = os.path.join(out, "train.csv")
    write_csv(train_csv, header, train)

    ef = Eftrain(args.eftrain, os.path.join(out, "logs"))
    model = os.path.join(out, "model.efm")
    config = {"data": {"path": train_csv}, "conditional": [args.label],
              "train": {"seed": seed, "threads": args.threads}, "output": {"model": model}}
    for kv in args.set:
        key, value = kv.split("=", 1)
        *parents, leaf = key.split(".")
        node = config
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = json.loads(value)
    secs, _, epochs = ef.train(config, os.path.join(out, "config.json"), "train")
    best_epoch = 0
    with open(os.path.join(out, "logs", "train.log")) as f:
        for line in f:
            if line.startswith("eftrain:") and "best epoch" in line:
                best_epoch = int(line.split("best epoch")[1].split()[0])
    test_csv = os.path.join(out, "test.csv")
    write_csv(test_csv, header, test)
    lp, _ = ef.score(model, test_csv, os.path.join(out, "test_scores.csv"), "score")
    # Rows with a label unseen in real-train (or a value outside the observed support) score
    # -inf under every setting alike; the mean is over the rest, and their count is reported.
    finite = [v for v in lp if math.isfinite(v)]
    heldout_ll, n_inf = sum(finite) / len(finite), len(lp) - len(finite)

    labels = sorted({r[li] for r in test})
    syn_rows, syn_y = [], []
    for k, c in enumerate(labels):
        n = sum(1 for r in test if r[li] == c)
        path = os.path.join(out, f"given_{k}.csv")
        ef._run(["sample", model, "--rows", str(n), "--out", path, "--seed", str(100 + k),
                 "--given", f"{args.label}={c}"], f"sample_{k}")
        h, srows = read_csv(path)
        order = [h.index(x) for x in header]
        syn_rows += [[s[i] for i in order] for s in srows]
        syn_y += [c] * len(srows)

    kinds = ["num" if all(to_float(r[i]) is not None for r in train if r[i] not in MISSING) else "cat"
             for i in range(len(header))]
    levels = [{v: k for k, v in enumerate(sorted({r[i] for r in train if r[i] not in MISSING}))}
              for i in range(len(header))]
    Xtr, cat = features(header, args.label, train, kinds, levels)
    Xte, _ = features(header, args.label, test, kinds, levels)
    Xsy, _ = features(header, args.label, syn_rows, kinds, levels)
    clf = HistGradientBoostingClassifier(categorical_features=np.array(cat), random_state=seed)
    clf.fit(Xtr, [r[li] for r in train])
    y_te, y_sy = np.array([r[li] for r in test]), np.array(syn_y)
    p_te, p_sy = clf.predict(Xte), clf.predict(Xsy)
    acc_real = float(np.mean(p_te == y_te))
    acc_syn = float(np.mean(p_sy == y_sy))
    # Per label: recall on real test rows and on rows drawn --given it (a rare label can fall
    # short while the overall ratio, dominated by the common one, looks fine).
    per_label = {c: [float(np.mean(p_te[y_te == c] == c)), float(np.mean(p_sy[y_sy == c] == c))]
                 for c in labels}
    return {"seed": seed, "epochs": epochs, "best_epoch": best_epoch, "heldout_ll": heldout_ll,
            "heldout_inf": n_inf, "train_s": round(secs, 1), "rows_syn": len(syn_y),
            "acc_real": acc_real, "acc_syn": acc_syn, "ratio": acc_syn / acc_real,
            "per_label_recall_real_given": per_label}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eftrain", required=True)
    ap.add_argument("--data", required=True, help="CSV with a header row")
    ap.add_argument("--label", required=True, help="the label column (declared conditional)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="a config key on top of the defaults, e.g. train.weight_decay=0.01")
    args = ap.parse_args()
    res = [run(args, s) for s in args.seeds]
    table = markdown_table(["seed", "epochs", "best epoch", "held-out LL (rows at -inf)", "train s",
                            "synthetic rows", "accuracy on real test rows",
                            "accuracy on rows drawn --given", "ratio",
                            "recall per label: real test / drawn --given"],
                           [[r["seed"], r["epochs"], r["best_epoch"],
                             f"{r['heldout_ll']:.3f} ({r['heldout_inf']})", r["train_s"], r["rows_syn"],
                             f"{r['acc_real']:.4f}", f"{r['acc_syn']:.4f}", f"{r['ratio']:.3f}",
                             "; ".join(f"{c} {a:.3f} / {b:.3f}" for c, (a, b) in r["per_label_recall_real_given"].items())]
                            for r in res])
    mean = {k: sum(r[k] for r in res) / len(res) for k in ("best_epoch", "heldout_ll", "ratio")}
    setting = ", ".join(args.set) or "defaults"
    text = (f"Conditional fidelity: {args.data}, label {args.label}, {setting}\n\n{table}\n"
            f"mean: best epoch {mean['best_epoch']:.1f}, held-out LL {mean['heldout_ll']:.3f}, "
            f"ratio {mean['ratio']:.3f}\n")
    print(text)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
