"""The README's Python example (every ```python block), run against the installed package so
it cannot rot. Run as written except for the number of epochs (epochs=N -> epochs=3: the
example's point is the API, not the spiral's quality), in a fresh interpreter (so imports made
by other test modules cannot hide a missing one) and a temporary folder (it saves a model)."""
import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
# Appended to the example: its results exist and have the shapes it promises.
CHECKS = """
assert len(synthetic) == 1000, len(synthetic)
assert len(logp) == len(df), len(logp)
"""


def python_blocks():
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), re.M | re.S)


def test_readme_has_a_python_example():
    assert python_blocks(), "README.md has no ```python block"


def test_readme_python_example_runs(tmp_path):
    for block in python_blocks():
        code = re.sub(r"\bepochs=\d+", "epochs=3", block) + CHECKS
        r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 0, f"README python block failed:\n{r.stdout}{r.stderr}"
    assert (tmp_path / "spiral.efm").exists()
