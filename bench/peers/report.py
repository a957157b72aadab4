#!/usr/bin/env python3
"""Side-by-side markdown of one bench/compare.sh run: eftrain next to zuko / nflows (throughput) and
SDV / echoflow 0.0.2 (quality), with the ratio ours/peer for each workload.

    bench/peers/.venv/bin/python bench/peers/report.py RUN_DIR > bench/results/LATEST.md

RUN_DIR holds ours_r{1,2}.json (bench_throughput --json), peers_r{1,2}.json (throughput.py --json),
quality/results.json (quality.py), tabular/results.json (tabular.py: Bayesian networks and adult),
machine.txt and commands.txt (written by compare.sh), and argn.md (bench/argn/quality_rows.sh: TabularARGN
next to eftrain's defaults on issue 16's rows), appended as it is.
    bench/peers/.venv/bin/python bench/peers/report.py --tabular-only TABULAR_OUT
prints only the tabular sections of one tabular.py run (TABULAR_OUT holds its results.json).
Throughput: per round the median of `repeats` runs; the figure is the median over rounds (with 2
rounds, their mean) and the range is the smallest and largest single run of all rounds.
"""
import glob
import json
import os
import statistics
import sys

DIMS = (8, 16, 64)
KINDS = ("train", "sample", "score")
# The issue's targets: ours/zuko at D in {8, 16, 64}, hidden 128, batch 512, 2 threads.
# Issue 5 (affine flows) and issue 7 (spline flows: >= 5x zuko's NSF in training).
TARGETS = {("maf", "train"): 5, ("realnvp", "train"): 5, ("maf", "sample"): 100, ("realnvp", "sample"): 5,
           ("nsf-ar", "train"): 5, ("nsf-coupling", "train"): 5}
FLOWS = ("maf", "realnvp", "nsf-ar", "nsf-coupling")


def load_rounds(run, prefix):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(run, f"{prefix}_r*.json")))]


def pool(entries):
    """entries: list of {'median','min','max'} (one per round) -> (median of medians, min, max)."""
    return (statistics.median(e["median"] for e in entries), min(e["min"] for e in entries),
            max(e["max"] for e in entries))


def throughput(run):
    ours, peers = {}, {}
    for rnd in load_rounds(run, "ours"):
        for r in rnd:
            if r["hidden"][0] == 128 and r["batch"] == 512:
                for k in KINDS:
                    ours.setdefault((r["flow"].lower(), r["D"], k), []).append(r[f"{k}_rows_per_s"])
    meta = {}
    for rnd in load_rounds(run, "peers"):
        meta = rnd["meta"]
        for r in rnd["results"]:
            if r["hidden"][0] == 128 and r["batch"] == 512:
                for k in KINDS:
                    peers.setdefault((r["lib"], r["flow"], r["D"], k), []).append(r[f"{k}_rows_per_s"])
    return ({k: pool(v) for k, v in ours.items()}, {k: pool(v) for k, v in peers.items()}, meta,
            len(load_rounds(run, "ours")))


def f0(v):
    return f"{v:,.0f}"


def oor_cell(o):
    """tabular.py's out_of_range figure (bench/tabular/support.py): share (worst excess, column);
    n/a for runs from before the support check."""
    if not o:
        return "n/a"
    return f"{o['share']:.4f} ({o['worst']:.3f}{' ' + o['worst_column'] if o['worst_column'] else ''})"


def num(v, spec=".3f"):
    return "n/a" if v is None else format(v, spec)


def tabular(path):
    """Markdown lines for tabular.py's results.json: the BN and adult tables, eftrain vs each peer."""
    q = json.load(open(path))
    b, res = q["budgets"], q["results"]
    out = []
    p = out.append
    peers = ("GaussianCopula", "CTGAN", "TVAE", "echoflow")
    p(f"## Tabular quality: Bayesian networks and adult (bench/peers/tabular.py, {q.get('wall_s', 0) / 60:.0f} min)\n")
    if b.get("quick"):
        p("**QUICK smoke run: 1-2 epochs everywhere; these figures mean nothing.**\n")
    p("Same data, same row counts for every model; data, eftrain configs and metrics are "
      "bench/tabular's (bn_quality.py, adult_efficacy.py, imported). Budgets: eftrain = bench/tabular's "
      "tuned configs (BN: categorical MADE, <= 60 epochs, patience 8; adult: realnvp 8 layers [128, 128], "
      f"<= 40 epochs, patience 6); CTGAN {b['ctgan_bn_epochs']} epochs on each BN and "
      f"{b['ctgan_adult_epochs']} on adult, TVAE {b['tvae_bn_epochs']} / {b['tvae_adult_epochs']}, "
      f"echoflow 0.0.2 {b['echoflow_bn_epochs']} / {b['echoflow_adult_epochs']} (SDV's default is 300 "
      "epochs, echoflow's 1000: cut to fit the 2 shared cores; the peers' figures may improve with "
      "more); GaussianCopula SDV defaults; all on the CPU, "
      f"{b['threads']} threads. echoflow encodes categorical columns itself (one-hot plus N(0, 0.1^2) "
      "noise, argmax to decode); adult's integer columns are given to it as floats and its samples "
      "rounded. Train seconds are wall time on shared cores (noisy).\n")
    bn = [r for r in res if r["workload"] == "bn"]
    if bn:
        p("### Bayesian networks: L_syn / L_test (nats per row, higher is better)\n")
        p("10,000 train / 10,000 test / 10,000 synthetic rows sampled from asia, alarm, child, "
          "insurance (../shared/datasets/bn). L_syn: the synthetic rows under the true network; L_test: "
          "the test rows under the network's structure with CPTs refit to the synthetic rows; both SDGym's "
          "definitions (mean log(P + 1e-8), pseudocount 0). d = eftrain minus model (> 0: eftrain ahead; "
          "a difference of mean log-likelihoods is the log of a ratio of geometric-mean likelihoods). An "
          "L_syn above the real row's means samples piled onto the likeliest rows (mode collapse), which "
          "L_test then penalizes.\n")
        p("| network | model | budget | train s | L_syn | L_test | d L_syn | d L_test |")
        p("|---|---|---|---:|---:|---:|---:|---:|")
        verdict = []
        for ds in dict.fromkeys(r["dataset"] for r in bn):
            rows = [r for r in bn if r["dataset"] == ds]
            ef = next((r for r in rows if r["model"] == "eftrain"), None)
            for r in rows:
                dl = dt = None
                if ef and r is not ef and r["l_syn"] is not None and ef["l_syn"] is not None:
                    dl, dt = ef["l_syn"] - r["l_syn"], ef["l_test"] - r["l_test"]
                    if r["model"] in peers:
                        verdict.append((ds, r["model"], dl, dt))
                p(f"| {ds} | {r['model']} | {r['budget']} | {num(r['train_s'], '.0f')} | {num(r['l_syn'])} | "
                  f"{num(r['l_test'])} | {num(dl, '+.3f')} | {num(dt, '+.3f')} |")
        ahead_t = sum(v[3] > 0 for v in verdict)
        p(f"\neftrain's L_test is above the peer's in {ahead_t} of {len(verdict)} (network, peer) pairs"
          + ("" if ahead_t == len(verdict) else "; below: " + ", ".join(
              f"{ds} {m} ({dt:+.3f})" for ds, m, dl, dt in verdict if dt <= 0)) + ". ")
        hi = [f"{ds} {m} ({dl:+.3f})" for ds, m, dl, dt in verdict if dl < 0]
        p("Peers with a higher L_syn than eftrain: " + (", ".join(hi) if hi else "none") + ".\n")
    ad = [r for r in res if r["workload"] == "adult"]
    if ad:
        p("### adult: ML efficacy, column shapes, column pairs (higher is better)\n")
        p("Each model trains on adult.csv (32,561 rows) and draws 32,561 rows. F1: SDGym's four "
          "classifiers (decision tree, AdaBoost, logistic regression, MLP) trained on the synthetic rows, "
          "binary F1 on adult_test.csv (>50K positive), and their mean; shape: mean over the 15 columns of "
          "1 - KS (continuous) or 1 - TV distance (categorical); pair: mean over the 105 column pairs of "
          "1 - |corr diff| / 2 (continuous pairs) or 1 - TV distance of the joint contingency tables "
          "(10 quantile bins for a continuous column). Ratio columns: eftrain / model. Out of range "
          "(issue 16's support check, bench/tabular/support.py): the share of synthetic rows with a value "
          "of a continuous column outside the real [min, max], and the worst excess as a fraction of "
          "that column's range.\n")
        p("| model | budget | train s | F1 mean | F1 DT / Ada / LR / MLP | shape | pair | "
          "F1 ratio | shape ratio | pair ratio | out of range (worst excess) |")
        p("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
        ef = next((r for r in ad if r["model"] == "eftrain"), None)
        behind = []
        for r in ad:
            rat = ["", "", ""]
            if ef and r is not ef and r.get("f1_mean") is not None:
                rat = [f"{ef[k] / r[k]:.2f}x" if r[k] else "n/a" for k in ("f1_mean", "shape", "pair")]
                if r["model"] in peers:
                    behind += [f"{r['model']} {k} ({r[k]:.3f} vs {ef[k]:.3f})"
                               for k in ("f1_mean", "shape", "pair") if r[k] >= ef[k]]
            f1 = " / ".join(f"{v:.3f}" for v in r["f1"].values()) if r.get("f1") else "n/a"
            p(f"| {r['model']} | {r['budget']} | {num(r['train_s'], '.0f')} | {num(r.get('f1_mean'))} | {f1} | "
              f"{num(r.get('shape'))} | {num(r.get('pair'))} | {rat[0]} | {rat[1]} | {rat[2]} | "
              f"{oor_cell(r.get('out_of_range'))} |")
        p("\nPeers at or above eftrain on adult: " + (", ".join(behind) if behind else "none") + ".\n")
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--tabular-only":
        print("\n".join(tabular(os.path.join(sys.argv[2], "results.json"))))
        return
    run = sys.argv[1]
    ours, peers, meta, rounds = throughput(run)
    out = []
    p = out.append
    machine = open(os.path.join(run, "machine.txt")).read().strip()
    commands = open(os.path.join(run, "commands.txt")).read().strip()
    p("# eftrain next to its peers: latest run of bench/compare.sh\n")
    p(machine + "\n")
    p("Commands (in the order run; ours and the peers alternate, A B A B):\n")
    p("```\n" + commands + "\n```\n")
    p("End to end (whole `eftrain train|sample|score` processes against zuko + pandas doing the same "
      "job, `E2E=1 bash bench/compare.sh`): bench/results/E2E.md, from its own run.\n")
    if rounds:  # ROUNDS=0: no throughput part
        p(f"Peers: torch {meta.get('torch')}, zuko {meta.get('zuko')}, nflows {meta.get('nflows')}; "
          f"{meta.get('threads')} threads (torch.set_num_threads), GOMP_SPINCOUNT=10000 for every "
          f"process (eftrain's binaries set it themselves). Each figure: per round the median of "
          f"{meta.get('repeats')} runs of >= {meta.get('seconds')} s after a warm-up; the median over "
          f"{rounds} rounds, [min - max] of all single runs.\n")
        p("## Throughput (rows/s): MAF, RealNVP and the spline flows (K = 8 bins), 5 layers, hidden [128, 128], batch 512\n")
        p("| flow | D | workload | eftrain | zuko | nflows | eftrain/zuko | eftrain/nflows | target vs zuko |")
        p("|---|---:|---|---:|---:|---:|---:|---:|---|")
        verdicts = []
        for flow in FLOWS:
            for D in DIMS:
                for k in KINDS:
                    o = ours.get((flow, D, k))
                    z = peers.get(("zuko", flow, D, k))
                    n = peers.get(("nflows", flow, D, k))
                    if not o:
                        continue
                    rz = o[0] / z[0] if z else None
                    rn = o[0] / n[0] if n else None
                    tgt = TARGETS.get((flow, k))
                    tcell = ""
                    if tgt and rz is not None:
                        ok = rz >= tgt
                        tcell = f">= {tgt}x: {'met' if ok else 'NOT met'}"
                        verdicts.append((flow, D, k, tgt, rz, ok))

                    def cell(v):
                        return "n/a" if v is None else f"{f0(v[0])} [{f0(v[1])} - {f0(v[2])}]"
                    p(f"| {flow} | {D} | {k} | {cell(o)} | {cell(z)} | {cell(n)} | "
                      f"{'n/a' if rz is None else f'{rz:.2f}x'} | {'n/a' if rn is None else f'{rn:.2f}x'} | {tcell} |")
        met = sum(v[5] for v in verdicts)
        p(f"\nThroughput targets met: {met} of {len(verdicts)}"
          + ("" if met == len(verdicts) else "; not met: " + ", ".join(
              f"{fl} {k} D={D} ({r:.2f}x < {t}x)" for fl, D, k, t, r, ok in verdicts if not ok)) + ".\n")

    qpath = os.path.join(run, "quality", "results.json")
    if os.path.exists(qpath):
        q = json.load(open(qpath))
        b = q["budgets"]
        p("## Quality: L_syn and L_test (mean log-likelihood, nats per row; higher is better)\n")
        p("Data and metrics as bench/quality (sdgym_gmm.py): grid and ring are SDGym's mixtures "
          "(10,000 train / 10,000 test rows); spiral is `make_spiral` (4,000 train rows, seed 0, "
          "the demo's table; 10,000 test rows, seed 1). Each model draws 10,000 rows. L_syn (true): "
          "the synthetic rows under the true density (spiral: numerically integrated); L_syn (SDGym "
          "GMM): under a diagonal GMM fitted to the test rows; L_test: the test rows under a GMM "
          "fitted to the synthetic rows (30 components; ring 10). The real row scores the training "
          "rows as if synthetic: the ceiling. An L_syn above it means samples piled onto the modes "
          "(mode collapse), which L_test then penalizes.\n")
        if b.get("quick"):
            p("**QUICK smoke run: eftrain used sdgym_gmm's QUICK preset and the peers 2 epochs; "
              "these quality figures mean nothing.**\n")
        p(f"Budgets: eftrain grid/ring = bench/quality FULL (8 layers, [128, 128], <= 200 epochs, "
          f"patience 30); eftrain spiral = examples/spiral.json (10 layers, [64, 64], <= 300 epochs, "
          f"batch 128, patience 30; model.flow set per row); CTGAN {b['ctgan_epochs']} epochs, TVAE "
          f"{b['tvae_epochs']} epochs (SDV defaults otherwise, CPU); GaussianCopula SDV defaults; "
          f"echoflow 0.0.2 {b['echoflow_epochs']} epochs (its defaults otherwise: 3 RNVP blocks, "
          f"hidden 100, lr 1e-4, batch 100; its default of 1000 epochs would take ~25 min per dataset "
          f"here); {b['threads']} threads.\n")
        p("| dataset | model | train s | L_syn (true) | L_syn (SDGym GMM) | L_test |")
        p("|---|---|---:|---:|---:|---:|")
        res = q["results"]
        for r in res:
            s = "" if r["seconds"] is None else f"{r['seconds']:.0f}"
            p(f"| {r['dataset']} | {r['model']} | {s} | {r['lsyn_true']:.3f} | {r['lsyn_sdgym']:.3f} | "
              f"{r['ltest']:.3f} |")
        p("\nOurs minus peer (nats; > 0: eftrain ahead). Log-likelihoods can be negative or positive, "
          "so a ratio is meaningless here; the difference of mean log-likelihoods is the log of the "
          "ratio of geometric-mean likelihoods.\n")
        p("| dataset | eftrain | peer | d L_syn (true) | d L_test | ahead on both |")
        p("|---|---|---|---:|---:|---|")
        ahead, total = 0, 0
        for ds in dict.fromkeys(r["dataset"] for r in res):
            rows = {r["model"]: r for r in res if r["dataset"] == ds}
            for ours_m in ("eftrain-maf", "eftrain-realnvp", "eftrain-nsf-ar", "eftrain-nsf-coupling"):
                if ours_m not in rows:
                    continue
                o = rows[ours_m]
                for peer in ("GaussianCopula", "CTGAN", "TVAE", "echoflow"):
                    if peer not in rows:
                        continue
                    pr = rows[peer]
                    ds_, dt = o["lsyn_true"] - pr["lsyn_true"], o["ltest"] - pr["ltest"]
                    ok = ds_ > 0 and dt > 0
                    ahead += ok
                    total += 1
                    p(f"| {ds} | {ours_m[8:]} | {peer} | {ds_:+.3f} | {dt:+.3f} | {'yes' if ok else 'no'} |")
        p(f"\neftrain ahead on both metrics in {ahead} of {total} (dataset, flow, peer) pairs.\n")
    p("Figure (a), the spiral beside 1000 samples from each model: "
      "[spiral_peers.png](spiral_peers.png).\n")
    tpath = os.path.join(run, "tabular", "results.json")
    if os.path.exists(tpath):
        out.extend(tabular(tpath))
    apath = os.path.join(run, "argn.md")  # bench/argn/quality_rows.sh's output (compare.sh step argn.md)
    if os.path.exists(apath):
        out.append("")
        out.extend(line.rstrip("\n") for line in open(apath))
    print("\n".join(out))


if __name__ == "__main__":
    main()
