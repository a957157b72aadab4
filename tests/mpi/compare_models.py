#!/usr/bin/env python3
"""Compares two .efm model files (host/model_file.cpp) trained by 1 and by R ranks, and the
per-epoch NLLs of their eftrain progress logs.

usage: compare_models.py A.efm B.efm A.log B.log [--param-tol T] [--nll-tol T]

Parameters must agree to |a - b| <= T * max(1, |a|) each, the progress lines' train and
validation NLLs (printed to 4 decimals) to --nll-tol, and the encoders (the header's "columns")
must be equal. Exit 0 when they do, 1 with the worst differences otherwise.
"""
import argparse
import json
import re
import struct
import sys


def read_model(path):
    b = open(path, "rb").read()
    assert b[:8] == b"EFMODEL\0", path + ": not a model file"
    h = struct.unpack("<I", b[12:16])[0]
    header = json.loads(b[16:16 + h])
    p = struct.unpack("<Q", b[16 + h:24 + h])[0]
    params = struct.unpack("<%df" % p, b[24 + h:24 + h + 4 * p])
    return header, params


LINE = re.compile(r"epoch\s+(\d+)/\d+\s+train NLL\s+(\S+)\s+val NLL\s+(\S+)")


def read_log(path):
    return [(int(m.group(1)), float(m.group(2)), float(m.group(3)))
            for m in map(LINE.search, open(path, errors="replace")) if m]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("log_a")
    ap.add_argument("log_b")
    ap.add_argument("--param-tol", type=float, default=1e-3)
    ap.add_argument("--nll-tol", type=float, default=2e-3)
    o = ap.parse_args()
    ha, pa = read_model(o.a)
    hb, pb = read_model(o.b)
    bad = []
    if ha["columns"] != hb["columns"]:
        bad.append("encoders differ")
    if len(pa) != len(pb):
        bad.append("parameter counts differ: %d vs %d" % (len(pa), len(pb)))
    worst = max((abs(x - y) / max(1.0, abs(x)) for x, y in zip(pa, pb)), default=0.0)
    la, lb = read_log(o.log_a), read_log(o.log_b)
    if not la or len(la) != len(lb):
        bad.append("progress lines: %d vs %d epochs" % (len(la), len(lb)))
    worst_nll = max((max(abs(x[1] - y[1]), abs(x[2] - y[2])) for x, y in zip(la, lb)), default=0.0)
    ta, tb = ha["training"], hb["training"]
    for k in ("epochs_run", "best_epoch", "n_train", "n_val", "batch_size"):
        if ta[k] != tb[k]:
            bad.append("training.%s: %s vs %s" % (k, ta[k], tb[k]))
    print("%s vs %s: %d parameters, worst relative difference %.3g (tol %g); %d epochs, worst NLL "
          "difference %.4g (tol %g)" % (o.a, o.b, len(pa), worst, o.param_tol, len(la), worst_nll, o.nll_tol))
    if worst > o.param_tol:
        bad.append("parameters differ by %.3g > %g" % (worst, o.param_tol))
    if worst_nll > o.nll_tol:
        bad.append("per-epoch NLL differs by %.4g > %g" % (worst_nll, o.nll_tol))
    for b in bad:
        print("FAIL: " + b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
