#!/usr/bin/env python3
"""Checks an efbench output folder (standard library only; no timing assertions).

    check_efbench.py OUT_DIR [--quick]

Every figure must have its workload, device, threads, run count, median, min and max; values
finite, min <= median <= max; rows/s, GFLOP/s and FLOP/row > 0; log-likelihoods < 0. The
expected figures of `efbench --suite all --quick` must all be there: the throughput grid of
--quick (maf/realnvp/nsf-ar/nsf-coupling x D 2, 8, hidden 64, batch 256) and the quality rows
(ring: real and the four flows; asia: real, echoflow), unless asia is listed as skipped with a reason (no datasets).
results.md must hold the tables.
"""
import json
import math
import os
import sys

FIELDS = ["suite", "workload", "params", "metric", "unit", "device", "threads", "runs", "median", "min", "max"]
THROUGHPUT = ["train_rows_per_s", "score_rows_per_s", "sample_rows_per_s", "fwd_flops_per_row",
              "train_flops_per_row", "train_gflops", "score_gflops", "sgemm_gflops"]
LL = {"heldout_ll_model", "heldout_ll_true", "l_syn", "l_test"}


def fail(msg):
    sys.exit(f"check_efbench: FAIL: {msg}")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: check_efbench.py OUT_DIR [--quick]")
    out, quick = sys.argv[1], "--quick" in sys.argv[2:]
    try:
        with open(os.path.join(out, "results.json")) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"results.json: {e}")
    for k in ["tool", "version", "device", "threads", "repeats", "figures", "skipped"]:
        if k not in res:
            fail(f"results.json lacks \"{k}\"")
    figs = res["figures"]
    if not figs:
        fail("no figures")
    have = {}
    params_of = {}
    for i, g in enumerate(figs):
        where = f"figure {i} ({g.get('workload')} {g.get('metric')})"
        for k in FIELDS:
            if k not in g:
                fail(f"{where}: lacks \"{k}\"")
        for k in ["median", "min", "max"]:
            if not isinstance(g[k], (int, float)) or not math.isfinite(g[k]):
                fail(f"{where}: {k} = {g[k]!r} is not a finite number")
        if not (g["min"] <= g["median"] <= g["max"]):
            fail(f"{where}: median {g['median']} not within [{g['min']}, {g['max']}]")
        if not isinstance(g["runs"], int) or g["runs"] < 1:
            fail(f"{where}: runs = {g['runs']!r}")
        if not isinstance(g["threads"], int) or g["threads"] < 1:
            fail(f"{where}: threads = {g['threads']!r}")
        if g["device"] not in ("cpu", "cuda"):
            fail(f"{where}: device = {g['device']!r}")
        m = g["metric"]
        if g["unit"] in ("rows/s", "GFLOP/s", "FLOP/row") and g["min"] <= 0:
            fail(f"{where}: {g['unit']} must be > 0 (min {g['min']})")
        if m in LL and g["max"] >= 0:
            fail(f"{where}: a log-likelihood must be < 0 (got {g['max']})")
        if g["unit"] == "F1" and not 0 <= g["median"] <= 1:
            fail(f"{where}: F1 outside [0, 1]")
        if g["unit"] == "share" and not 0 <= g["median"] <= 1:
            fail(f"{where}: a share outside [0, 1]")
        # Issue 16's support check: the default observed support ends 0.1 of a column's range
        # beyond its smallest / largest value (docs/MATH.md), so no sample may exceed that.
        if m == "out_of_range_worst_excess" and not 0 <= g["max"] <= 0.1 + 1e-9:
            fail(f"{where}: a sample {g['max']} of its column's range beyond the observed values (support: 0.1)")
        have.setdefault((g["suite"], g["workload"]), set()).add(m)
        params_of[(g["suite"], g["workload"])] = g.get("params", {})
    skipped = {s["workload"]: s.get("reason", "") for s in res["skipped"]}
    for w, r in skipped.items():
        if not r:
            fail(f"skipped {w} without a reason")

    suite = res.get("suite", "all")
    if quick and suite in ("throughput", "all"):
        for flow in ["maf", "realnvp", "nsf-ar", "nsf-coupling"]:
            for d in [2, 8]:
                w = f"{flow} D={d} hidden=64x2 layers=5 batch=256"
                got = have.get(("throughput", w), set())
                missing = [m for m in THROUGHPUT if m not in got]
                if missing:
                    fail(f"throughput {w}: missing {missing}")
    if quick and suite in ("quality", "all"):
        need = {"ring / real (train rows)": ["heldout_ll_true", "l_syn", "l_test"],
                "ring / maf": ["heldout_ll_model", "heldout_ll_true", "l_syn", "l_test", "train_seconds"],
                "ring / realnvp": ["heldout_ll_model", "heldout_ll_true", "l_syn", "l_test", "train_seconds"],
                "ring / nsf-ar": ["heldout_ll_model", "heldout_ll_true", "l_syn", "l_test", "train_seconds"],
                "ring / nsf-coupling": ["heldout_ll_model", "heldout_ll_true", "l_syn", "l_test",
                                        "train_seconds"],
                "asia / real (train rows)": ["heldout_ll_true", "l_syn", "l_test"],
                "penguins / echoflow (defaults)": ["impossible_share", "out_of_range_share",
                                                   "out_of_range_worst_excess"]}
        for w, ms in need.items():
            if w.startswith("asia") and "asia" in skipped:
                continue
            if w.startswith("penguins") and "penguins" in skipped:
                continue
            got = have.get(("quality", w), set())
            missing = [m for m in ms if m not in got]
            if missing:
                fail(f"quality {w}: missing {missing}")
        # asia on the tuned config: its label names the categorical model that ran ("auto" keeps
        # the MADE or count tables), and results.json says which and why.
        if "asia" not in skipped:
            tuned = [(w, ms) for (su, w), ms in have.items()
                     if su == "quality" and w in ("asia / echoflow (tuned, cat-MADE)",
                                                  "asia / echoflow (tuned, count tables)")]
            if len(tuned) != 1:
                fail(f"quality: want one asia / echoflow (tuned, ...) row, got {[w for w, _ in tuned]}")
            missing = [m for m in ["heldout_ll_model", "heldout_ll_true", "l_syn", "l_test"] if m not in tuned[0][1]]
            if missing:
                fail(f"quality {tuned[0][0]}: missing {missing}")
            chosen = params_of[("quality", tuned[0][0])].get("categorical_model", "")
            want = "table (" if tuned[0][0].endswith("(tuned, count tables)") else "made ("
            if not chosen.startswith(want):
                fail(f"quality {tuned[0][0]}: params.categorical_model {chosen!r} does not start with {want!r}")
        # The default flow on ring (a config of only data.path; its name follows the default).
        if not any(w.startswith("ring / echoflow (defaults: ") and {"l_syn", "l_test"} <= ms
                   for (su, w), ms in have.items() if su == "quality"):
            fail("quality: no ring / echoflow (defaults: ...) row with l_syn and l_test")
        if "adult" not in skipped:
            fail("--quick: adult should be listed as skipped")

    try:
        md = open(os.path.join(out, "results.md")).read()
    except OSError as e:
        fail(f"results.md: {e}")
    headings = {"throughput": ["## Throughput"], "quality": ["## Quality"]}.get(
        res.get("suite"), ["## Throughput", "## Quality"])
    for heading in headings:
        if heading not in md:
            fail(f"results.md lacks \"{heading}\"")
    print(f"check_efbench: OK ({len(figs)} figures, {len(skipped)} skipped)")


if __name__ == "__main__":
    main()
