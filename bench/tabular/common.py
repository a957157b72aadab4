"""Shared helpers for bench/tabular: running eftrain, reading its CSVs, markdown tables."""
import csv
import json
import os
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# EF_DATASETS overrides (a git worktree elsewhere than next to shared/).
DATASETS = os.environ.get("EF_DATASETS") or os.path.abspath(os.path.join(REPO, "..", "shared", "datasets"))


def read_csv(path, strip=True):
    """Header and rows (lists of str) of a CSV file; cells stripped of surrounding spaces."""
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = [h.strip() for h in next(r)]
        rows = [[c.strip() for c in row] if strip else row for row in r if row]
    return header, rows


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


class Eftrain:
    """Runs the eftrain CLI, logging every command and its stderr under out/logs."""

    def __init__(self, exe, log_dir):
        self.exe = os.path.abspath(exe)
        if not os.access(self.exe, os.X_OK):
            sys.exit(f"eftrain not found or not executable: {self.exe} (build it, or pass --eftrain)")
        self.log_dir = log_dir
        # The categorical model the last train kept ("made" or "table"; model.categorical_model
        # "auto" chooses after training), "" when its summary names none.
        self.categorical_model = ""
        os.makedirs(log_dir, exist_ok=True)

    def _run(self, args, log_name):
        t0 = time.time()
        p = subprocess.run([self.exe] + args, capture_output=True, text=True)
        dt = time.time() - t0
        with open(os.path.join(self.log_dir, log_name + ".log"), "w") as f:
            f.write("$ " + " ".join([self.exe] + args) + "\n" + p.stdout + p.stderr)
            f.write(f"\n# exit {p.returncode}, {dt:.1f} s\n")
        if p.returncode != 0:
            sys.exit(f"eftrain failed ({' '.join(args[:2])}): see {self.log_dir}/{log_name}.log\n"
                     + p.stderr[-2000:])
        return p, dt

    def train(self, config, config_path, log_name):
        """Writes config to config_path, trains; returns (seconds, best val NLL, epochs run)."""
        with open(config_path, "w") as f:
            json.dump(config, f, indent=1)
        p, dt = self._run(["train", config_path], log_name)
        best_val, epochs = float("nan"), 0
        self.categorical_model = ""
        for line in p.stderr.splitlines():
            if line.startswith("eftrain:") and "best epoch" in line:
                # "eftrain: N epochs in S s; best epoch E (val NLL V)[; ...][; categorical model:
                # table (why)]; model written to M"
                epochs = int(line.split()[1])
                best_val = float(line.split("val NLL")[1].split(")")[0])
                if "; categorical model: " in line:
                    self.categorical_model = line.split("; categorical model: ")[1].split()[0]
        return dt, best_val, epochs

    def sample(self, model, rows, out, seed, log_name):
        _, dt = self._run(["sample", model, "--rows", str(rows), "--out", out, "--seed", str(seed)], log_name)
        return dt

    def score(self, model, data, out, log_name):
        _, dt = self._run(["score", model, "--data", data, "--out", out], log_name)
        _, rows = read_csv(out)
        return [float(r[0]) for r in rows], dt


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines)


def write_results(out_dir, text):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text + "\n")
    print(text)
