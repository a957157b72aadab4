"""Runs the README's examples so they cannot rot (ctest `readme_examples`):
  - the config block (```json) trains with eftrain on a generated table with its columns
    (2 epochs), and the model then samples with the declared conditional column given;
  - the eftrain synopsis (the block of `eftrain ...` lines): every subcommand exists and every
    --option it shows is in that subcommand's --help;
  - the C++ API block, compiled by tests/CMakeLists.txt into readme_cpp_example, runs in a
    folder holding the train.csv it reads;
  - the ```sh blocks: every ./script they run exists and is executable, `pip install .` has a
    pyproject.toml, `cmake --install build` names the README's install layout.
The ```python block runs in the Python suite (tests/python/test_readme.py), with the package.
usage: check_readme.py README.md EFTRAIN README_CPP_EXAMPLE"""
import json
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile

BLOCK = re.compile(r"^```([A-Za-z0-9+]*)\n(.*?)^```", re.M | re.S)


def blocks(readme):
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(open(readme).read())]


def fail(msg):
    print("check_readme: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def write_table(path, columns, rows=300, seed=0):
    rng = random.Random(seed)
    gen = {"x": lambda: f"{rng.gauss(0, 1):.6f}", "n": lambda: str(rng.randint(0, 40)),
           "income": lambda: f"{rng.lognormvariate(10, 1):.2f}"}
    with open(path, "w") as f:
        f.write(",".join(columns) + "\n")
        for _ in range(rows):
            f.write(",".join(gen.get(c, lambda: f"{rng.uniform(0, 1):.6f}")() for c in columns) + "\n")


def check_config(block, eftrain, tmp):
    cfg = json.loads(block)
    cols = list(cfg["data"]["columns"])
    write_table(os.path.join(tmp, cfg["data"]["path"]), cols)
    with open(os.path.join(tmp, "c.json"), "w") as f:
        f.write(block)
    log = run([eftrain, "train", os.path.join(tmp, "c.json"), "--set", "train.epochs=2",
               "--set", "train.threads=1"])
    model = os.path.join(tmp, cfg["output"]["model"])
    if not os.path.exists(model):
        fail("the README config trained no model:\n" + log)
    given = [f"--given={c}=0.5" for c in cfg.get("conditional", [])]
    run([eftrain, "sample", model, "--rows", "10", "--out", os.path.join(tmp, "s.csv")] + given)
    info = run([eftrain, "info", model])
    for c in cols:
        if not re.search(rf"^ +{re.escape(c)} ", info, re.M):
            fail(f"eftrain info lists no column {c}:\n{info}")


def check_synopsis(block, eftrain):
    for line in block.splitlines():
        words = line.split()
        if not words or words[0] != "eftrain":
            continue
        sub = words[1]
        help_text = run([eftrain, "--help"] if sub.startswith("--") else [eftrain, sub, "--help"])
        for w in words[1:]:
            opt = re.match(r"^\[?(--[a-z-]+)", w)
            if opt and opt.group(1) not in help_text:
                fail(f"README synopsis `{line.strip()}`: {opt.group(1)} is not in eftrain {sub} --help")


def check_sh(block, root):
    venv = False  # a virtualenv made and activated before `pip install`
    for line in block.splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        words = shlex.split(line)
        if words[:3] == ["python3", "-m", "venv"]:
            # Debian 12's python3 refuses `pip install` outside a venv (PEP 668) and has no pip
            # of its own: the README makes one (python3-venv is in .ci/deps.sh) and activates it.
            if words[4:6] != ["&&", "."] or words[6:] != [words[3] + "/bin/activate"]:
                fail(f"README sh block: `{line}` does not activate the venv it makes")
            venv = True
        elif words[0].startswith("./"):
            path = os.path.join(root, words[0])
            if not (os.path.isfile(path) and os.access(path, os.X_OK)):
                fail(f"README runs {words[0]}, which is not an executable file")
        elif words[:2] == ["pip", "install"]:
            if not venv:
                fail("README says pip install without making a venv first (Debian 12 refuses it)")
            if not os.path.isfile(os.path.join(root, "pyproject.toml")):
                fail("README says pip install . but there is no pyproject.toml")
        elif words[:2] == ["cmake", "--install"]:
            pass  # the package test (tests/package) installs and uses the result
        else:
            fail(f"README sh block: no check for `{line}` (add one to {__file__})")


def main():
    readme, eftrain, cpp_example = (os.path.abspath(a) for a in sys.argv[1:4])
    root = os.path.dirname(os.path.abspath(readme))
    bs = blocks(readme)
    kinds = [k for k, _ in bs]
    for need in ("json", "sh", "cpp", "python"):
        if need not in kinds:
            fail(f"README has no ```{need} block (found {kinds})")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, text in bs:
            if kind == "json" and '"data"' in text:
                check_config(text, eftrain, tmp)
            elif kind == "" and text.lstrip().startswith("eftrain"):
                check_synopsis(text, eftrain)
            elif kind == "sh":
                check_sh(text, root)
        # The C++ example reads train.csv with a column x (its conditional column).
        write_table(os.path.join(tmp, "train.csv"), ["x", "y"])
        run([cpp_example], cwd=tmp)
        if not os.path.exists(os.path.join(tmp, "model.efm")):
            fail("the README C++ example saved no model.efm")
    print("README examples: OK")


if __name__ == "__main__":
    main()
