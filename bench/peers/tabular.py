#!/usr/bin/env python3
"""eftrain next to SDV (GaussianCopula, CTGAN, TVAE) and echoflow 0.0.2 on the tabular workloads:
the Bayesian networks asia / alarm / child / insurance and adult.

    bash bench/peers/setup_venv.sh
    PYTHONHASHSEED=0 bench/peers/.venv/bin/python bench/peers/tabular.py --eftrain build-h5/eftrain \
        [--out bench/peers/out/tabular] [--workloads bn,adult] [--quick]
    (bench/compare.sh runs it with TABULAR=1, the default; TABULAR=0 skips it.)

Data, eftrain configs and metrics are bench/tabular's, imported (bn_quality.py, adult_efficacy.py,
bif.py, common.py), not copied, so the eftrain rows here are those scripts' runs:
  * BN: 10,000 train rows (seed 1000 + i), 10,000 test rows (seed 2000 + i) sampled from the true
    network (i = the network's index in bn_quality.NETWORKS); every model trains on the train rows
    with every column categorical and draws 10,000 rows. L_syn, L_test: SDGym's definitions
    (bn_quality.metrics: mean log(P + 1e-8); L_test refits the CPTs to the synthetic rows,
    pseudocount 0), plus L_test with pseudocount 0.1 and no floor.
  * adult: every model trains on adult.csv (32,561 rows) and draws 32,561 rows; F1 of the four
    SDGym classifiers trained on them and tested on adult_test.csv (adult_efficacy.efficacy), the
    column-shape score (adult_efficacy.shapes) and the column-pair score (adult_efficacy.pairs).

Budgets (defaults; all on the CPU, --threads threads; stated in results.json and the tables). On 2
shared cores SDV's default of 300 epochs would take over an hour for CTGAN on adult alone, so:
  eftrain: bn_quality.CONFIGS (cat-MADE, or the count tables "auto" keeps; <= 60 epochs, patience 8) and adult_efficacy.CONFIG
      (realnvp 8 layers [128, 128], <= 40 epochs, patience 6): their tuned configs, unchanged.
  GaussianCopula: SDV defaults.
  CTGAN: 100 epochs on each BN (10k rows), 30 on adult (--ctgan-bn-epochs, --ctgan-adult-epochs);
      SDV defaults otherwise (batch 500, (256, 256)), enable_gpu=False.
  TVAE: 100 epochs on each BN, 50 on adult (--tvae-bn-epochs, --tvae-adult-epochs); SDV defaults
      otherwise (batch 500, (128, 128)).
  echoflow 0.0.2: EchoFlow() defaults (3 RNVP blocks, hidden 100, lr 1e-4, batch 100) except
      nb_epochs: 30 on each BN, 20 on adult (--echoflow-bn-epochs, --echoflow-adult-epochs; its
      default is 1000). echoflow handles categorical columns itself: a column of dtype object is
      one-hot encoded with N(0, 0.1^2) noise on every entry (its OneHot layer), decoded by argmax;
      a float column is min-max scaled, decoded and clipped to the training range. It rejects
      integer dtypes, so adult's six integer columns are passed as float64 and its samples rounded
      to integers (what eftrain's "integer" type and SDV's learned rounding do). Its category order
      comes from set(), i.e. from PYTHONHASHSEED: compare.sh sets PYTHONHASHSEED=0.
Seeds: torch.manual_seed(0) and np.random.seed(0) before each peer; eftrain samples with seed 7.
"""
import os

# Before torch / scikit-learn load their OpenMP runtime (see bench/peers/quality.py).
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import argparse  # noqa: E402
import contextlib
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peer_echoflow  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "tabular"))
import adult_efficacy as AE  # noqa: E402
import bif  # noqa: E402
import bn_quality as BQ  # noqa: E402
import support  # noqa: E402  (issue 16's support check: rows outside the real [min, max])
from common import DATASETS, Eftrain, markdown_table, read_csv, write_csv  # noqa: E402

PEERS = ["GaussianCopula", "CTGAN", "TVAE", "echoflow"]


def fit_peer(name, df, numerical, n, epochs, threads):
    """Fits one peer on df (object columns categorical, `numerical` columns int64); returns
    (synthetic DataFrame of n rows, train seconds, sample seconds, budget text)."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    np.random.seed(0)
    if name == "echoflow":
        EchoFlow = peer_echoflow.load()  # the PyPI 0.0.2 peer, checked (not this package)
        df = df.astype({c: "float64" for c in numerical})
        m = EchoFlow(nb_epochs=epochs)
        t0 = time.time()
        with contextlib.redirect_stdout(sys.stderr):  # its "Epoch 10 | Train Loss" lines
            m.fit(df)
        secs = time.time() - t0
        t0 = time.time()
        with torch.no_grad():
            syn = m.sample(n)
        for c in numerical:
            syn[c] = np.rint(syn[c].to_numpy(dtype=float))
        return syn, secs, time.time() - t0, (f"EchoFlow(nb_epochs={epochs}); defaults: 3 RNVP blocks, "
                                             f"hidden 100, lr 1e-4, batch 100")
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer
    md = Metadata.load_from_dict({"tables": {"t": {"columns": {
        c: {"sdtype": "numerical"} if c in numerical else {"sdtype": "categorical"} for c in df.columns}}}})
    if name == "GaussianCopula":
        s, budget = GaussianCopulaSynthesizer(md), "SDV defaults"
    elif name == "CTGAN":
        s, budget = CTGANSynthesizer(md, epochs=epochs, enable_gpu=False), f"{epochs} epochs, batch 500, SDV defaults"
    elif name == "TVAE":
        s, budget = TVAESynthesizer(md, epochs=epochs, enable_gpu=False), f"{epochs} epochs, batch 500, SDV defaults"
    else:
        raise ValueError(name)
    t0 = time.time()
    s.fit({"t": df})  # SDV 2.0 takes {table name: DataFrame} also for single tables
    secs = time.time() - t0
    t0 = time.time()
    syn = s.sample(n)
    if isinstance(syn, dict):
        syn = next(iter(syn.values()))
    return syn, secs, time.time() - t0, budget


def run_bn(a, ef, out, results):
    for name in a.networks.split(","):
        i = BQ.NETWORKS.index(name)
        net = bif.parse_bif(os.path.join(DATASETS, "bn", name + ".bif"))
        d = os.path.join(out, "bn", name)
        os.makedirs(d, exist_ok=True)
        train, test = net.sample(BQ.N_TRAIN, 1000 + i), net.sample(BQ.N_TEST, 2000 + i)
        train_rows = BQ.to_rows(net, train)
        train_csv = os.path.join(d, "train.csv")
        write_csv(train_csv, net.names, train_rows)
        base = {"workload": "bn", "dataset": name, "true_test_ll": float(np.mean(net.loglik(test)))}
        l_syn, l_test, l_test_s = BQ.metrics(net, train, test)
        results.append(dict(base, model="real (train rows)", budget="", train_s=None, sample_s=None,
                            l_syn=l_syn, l_test=l_test, l_test_smooth=l_test_s))
        df = pd.DataFrame(train_rows, columns=net.names, dtype=object)
        for model in a.models.split(","):
            if model == "eftrain":
                cfg = BQ.make_config(BQ.CONFIGS.get(name, {}), train_csv, os.path.join(d, "model.efm"),
                                     net.names, a.quick)
                cfg["train"]["threads"] = a.threads
                t_train, val, ep = ef.train(cfg, os.path.join(d, "config.json"), f"bn_{name}_train")
                syn_csv = os.path.join(d, "eftrain_synthetic.csv")
                t_sample = ef.sample(cfg["output"]["model"], BQ.N_SYN, syn_csv, 7, f"bn_{name}_sample")
                budget = (f"{BQ.describe(cfg, ef.categorical_model)}, patience {cfg['train']['patience']} "
                          f"({ep} epochs run)")
            else:
                ep = getattr(a, f"{model.lower()}_bn_epochs", None)
                try:
                    syn, t_train, t_sample, budget = fit_peer(model, df, [], BQ.N_SYN, ep, a.threads)
                except Exception as e:  # report, keep going with the other models
                    print(f"bn {name} {model}: FAILED: {e!r}", file=sys.stderr, flush=True)
                    results.append(dict(base, model=model, budget=f"failed: {e!r}"[:200], train_s=None,
                                        sample_s=None, l_syn=None, l_test=None, l_test_smooth=None))
                    continue
                syn_csv = os.path.join(d, f"{model}_synthetic.csv")
                write_csv(syn_csv, net.names, syn[net.names].astype(str).to_numpy().tolist())
            header, rows = read_csv(syn_csv)
            l_syn, l_test, l_test_s = BQ.metrics(net, BQ.from_rows(net, header, rows, syn_csv), test)
            results.append(dict(base, model=model, budget=budget, train_s=t_train, sample_s=t_sample,
                                l_syn=l_syn, l_test=l_test, l_test_smooth=l_test_s))
            print(f"bn {name} {model}: train {t_train:.0f} s, L_syn {l_syn:.3f}, L_test {l_test:.3f}",
                  file=sys.stderr, flush=True)


def run_adult(a, ef, out, results):
    d = os.path.join(out, "adult")
    os.makedirs(d, exist_ok=True)
    train_csv = os.path.join(DATASETS, "adult", "adult.csv")
    header, real = AE.load(train_csv)
    _, test = AE.load(os.path.join(DATASETS, "adult", "adult_test.csv"))
    n = len(real[AE.LABEL])

    def evaluate(model, cols, budget, t_train, t_sample):
        t0 = time.time()
        f1 = AE.efficacy(cols, test, real, header)
        sh, pr = AE.shapes(cols, real, header), AE.pairs(cols, real, header)
        r = {"workload": "adult", "dataset": "adult", "model": model, "budget": budget, "train_s": t_train,
             "sample_s": t_sample, "eval_s": time.time() - t0, "f1": f1,
             "f1_mean": float(np.mean(list(f1.values()))), "shape": float(np.mean(list(sh.values()))),
             "pair": float(np.mean(list(pr.values()))), "shape_per_column": sh,
             "out_of_range": support.out_of_range(real, cols, AE.CONTINUOUS),
             "lowest_pairs": [[x, y, v] for (x, y), v in sorted(pr.items(), key=lambda kv: kv[1])[:5]]}
        results.append(r)
        print(f"adult {model}: train {t_train or 0:.0f} s, F1 {r['f1_mean']:.3f}, shape {r['shape']:.3f}, "
              f"pair {r['pair']:.3f}, {support.describe(r['out_of_range'])}", file=sys.stderr, flush=True)

    evaluate("real (adult.csv)", real, "", None, None)
    df = pd.DataFrame({c: (real[c].astype(np.int64) if c in AE.CONTINUOUS else real[c]) for c in header})
    for model in a.models.split(","):
        if model == "eftrain":
            cfg = AE.make_config({}, train_csv, os.path.join(d, "model.efm"), a.quick)
            cfg["train"]["threads"] = a.threads
            t_train, val, ep = ef.train(cfg, os.path.join(d, "config.json"), "adult_train")
            syn_csv = os.path.join(d, "eftrain_synthetic.csv")
            t_sample = ef.sample(cfg["output"]["model"], n, syn_csv, 7, "adult_sample")
            _, cols = AE.load(syn_csv)
            evaluate(model, cols, f"{AE.describe(cfg)}, patience {cfg['train']['patience']} ({ep} epochs run)",
                     t_train, t_sample)
            continue
        ep = getattr(a, f"{model.lower()}_adult_epochs", None)
        try:
            syn, t_train, t_sample, budget = fit_peer(model, df, AE.CONTINUOUS, n, ep, a.threads)
        except Exception as e:
            print(f"adult {model}: FAILED: {e!r}", file=sys.stderr, flush=True)
            results.append({"workload": "adult", "dataset": "adult", "model": model,
                            "budget": f"failed: {e!r}"[:200], "train_s": None, "f1_mean": None})
            continue
        syn_csv = os.path.join(d, f"{model}_synthetic.csv")
        syn[header].to_csv(syn_csv, index=False)
        _, cols = AE.load(syn_csv)  # the same parsing as eftrain's CSV
        evaluate(model, cols, budget, t_train, t_sample)


def fmt(v, spec=".3f"):
    return "n/a" if v is None else format(v, spec)


def oor_cell(o):
    """support.out_of_range's figure as a table cell: share (worst excess, its column)."""
    if not o:
        return "n/a"
    return f"{o['share']:.4f} ({o['worst']:.3f}{' ' + o['worst_column'] if o['worst_column'] else ''})"


def markdown(res, budgets):
    out = []
    bn = [r for r in res if r["workload"] == "bn"]
    if bn:
        out.append("## Bayesian networks: L_syn / L_test (nats per row, higher is better)\n")
        out.append(markdown_table(
            ["network", "model", "budget", "train s", "L_syn", "L_test", "L_test (a=0.1, no floor)"],
            [[r["dataset"], r["model"], r["budget"], fmt(r["train_s"], ".0f"), fmt(r["l_syn"]), fmt(r["l_test"]),
              fmt(r["l_test_smooth"])] for r in bn]))
    ad = [r for r in res if r["workload"] == "adult"]
    if ad:
        out.append("\n## adult: ML efficacy (F1 on adult_test.csv), column shapes, column pairs\n")
        out.append(markdown_table(
            ["model", "budget", "train s", "F1 mean", "F1 DT / Ada / LR / MLP", "shape", "pair",
             "out-of-range share (worst excess)"],
            [[r["model"], r["budget"], fmt(r["train_s"], ".0f"), fmt(r["f1_mean"]),
              " / ".join(f"{v:.3f}" for v in r["f1"].values()) if r.get("f1") else "n/a",
              fmt(r.get("shape")), fmt(r.get("pair")), oor_cell(r.get("out_of_range"))] for r in ad]))
    out.append(f"\nBudgets: {json.dumps(budgets)}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eftrain", default="build-h5/eftrain")
    ap.add_argument("--out", default="bench/peers/out/tabular")
    ap.add_argument("--workloads", default="bn,adult")
    ap.add_argument("--networks", default=",".join(BQ.NETWORKS))
    ap.add_argument("--models", default="eftrain," + ",".join(PEERS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctgan-bn-epochs", type=int, default=100)
    ap.add_argument("--tvae-bn-epochs", type=int, default=100)
    ap.add_argument("--echoflow-bn-epochs", type=int, default=30)
    ap.add_argument("--ctgan-adult-epochs", type=int, default=30)
    ap.add_argument("--tvae-adult-epochs", type=int, default=50)
    ap.add_argument("--echoflow-adult-epochs", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="smoke test: 1-2 epochs everywhere; figures mean nothing")
    a = ap.parse_args()
    if a.quick:
        for k in vars(a):
            if k.endswith("_epochs"):
                setattr(a, k, 1)
    warnings.filterwarnings("ignore")
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    ef = Eftrain(a.eftrain, os.path.join(out, "logs"))
    budgets = {k: v for k, v in vars(a).items() if k.endswith("_epochs")}
    budgets.update(threads=a.threads, quick=a.quick, pythonhashseed=os.environ.get("PYTHONHASHSEED"))
    results = []
    t0 = time.time()
    for w in a.workloads.split(","):
        {"bn": run_bn, "adult": run_adult}[w](a, ef, out, results)
        with open(os.path.join(out, "results.json"), "w") as f:  # after each workload: partial results survive
            json.dump({"budgets": budgets, "wall_s": time.time() - t0, "results": results}, f, indent=1)
    text = markdown(results, budgets)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
