"""Issue 16's support check, the same for every model: how many synthetic rows leave the observed
range of the real table's numeric columns. numpy only (used from bench/peers' and bench/argn's
venvs too); tools/efbench/out_of_range.hpp is the same definition for efbench's own rows.

For each numeric column c: [lo, hi] = the smallest and largest real value (missing values
ignored on both sides). A synthetic row is out of range when any of its numeric values lies
outside its column's [lo, hi]; the excess of a value is its distance to [lo, hi] divided by
hi - lo (so 0.1 = a tenth of the column's range beyond an end). eftrain's default support
(docs/MATH.md, "Observed support") allows a continuous column 0.1 of its range on each side and
an integer column floor(0.1 (hi - lo) / 2) whole units, so its out-of-range share need not be 0,
but its worst excess stays at or below 0.1; a row beyond that means the support map leaked.
"""
import numpy as np


def _floats(values):
    out = np.empty(len(values), dtype=float)
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            out[i] = np.nan  # a missing or non-numeric cell: not a value of the column
    return out


def out_of_range(real, syn, columns):
    """real, syn: mappings column -> sequence (a DataFrame or a dict of arrays); columns: the
    numeric columns to check. Returns {"share": share of synthetic rows with any value outside
    its column's real [lo, hi], "worst": the largest excess (fraction of the range), "worst_column",
    "per_column": {c: share of synthetic values outside}}."""
    n = len(syn[columns[0]]) if columns else 0
    any_out = np.zeros(n, dtype=bool)
    worst, worst_col, per = 0.0, "", {}
    for c in columns:
        r, s = _floats(list(real[c])), _floats(list(syn[c]))
        r = r[~np.isnan(r)]
        lo, hi = float(r.min()), float(r.max())
        width = hi - lo if hi > lo else 1.0
        with np.errstate(invalid="ignore"):
            excess = np.maximum(lo - s, s - hi)  # > 0 outside; NaN for missing
            out = excess > 0
        any_out |= out
        per[c] = float(out.mean()) if n else 0.0
        if out.any():
            e = float(np.nanmax(np.where(out, excess, np.nan))) / width
            if e > worst:
                worst, worst_col = e, c
    return {"share": float(any_out.mean()) if n else 0.0, "worst": worst, "worst_column": worst_col,
            "per_column": per}


def describe(r):
    """One line: share of rows out of range, the worst excess and its column."""
    w = f"worst excess {r['worst']:.3f} of the range ({r['worst_column']})" if r["worst"] > 0 else "worst excess 0"
    return f"out-of-range share {r['share']:.4f}; {w}"
