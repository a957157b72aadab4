#!/usr/bin/env python3
"""Side-by-side markdown of one bench/compare.sh run: eftrain next to zuko / nflows (throughput) and
SDV / echoflow 0.0.2 (quality), with the ratio ours/peer for each workload.

    bench/peers/.venv/bin/python bench/peers/report.py RUN_DIR > bench/results/LATEST.md

RUN_DIR holds ours_r{1,2}.json (bench_throughput --json), peers_r{1,2}.json (throughput.py --json),
quality/results.json (quality.py), machine.txt and commands.txt (written by compare.sh).
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
# The targets: ours/zuko at D in {8, 16, 64}, hidden 128, batch 512, 2 threads.
TARGETS = {("maf", "train"): 5, ("realnvp", "train"): 5, ("maf", "sample"): 100, ("realnvp", "sample"): 5}


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


def main():
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
    p(f"Peers: torch {meta.get('torch')}, zuko {meta.get('zuko')}, nflows {meta.get('nflows')}; "
      f"{meta.get('threads')} threads (torch.set_num_threads), OMP_WAIT_POLICY=passive for every "
      f"process (eftrain's binaries set it themselves). Each figure: per round the median of "
      f"{meta.get('repeats')} runs of >= {meta.get('seconds')} s after a warm-up; the median over "
      f"{rounds} rounds, [min - max] of all single runs.\n")
    p("## Throughput (rows/s): MAF and RealNVP, 5 layers, hidden [128, 128], batch 512\n")
    p("| flow | D | workload | eftrain | zuko | nflows | eftrain/zuko | eftrain/nflows | target vs zuko |")
    p("|---|---:|---|---:|---:|---:|---:|---:|---|")
    verdicts = []
    for flow in ("maf", "realnvp"):
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
          f"batch 128, patience 30) for both flows; CTGAN {b['ctgan_epochs']} epochs, TVAE "
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
            for ours_m in ("eftrain-maf", "eftrain-realnvp"):
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
    print("\n".join(out))


if __name__ == "__main__":
    main()
