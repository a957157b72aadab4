"""The README's Python example (every ```python block), run against the installed package so
it cannot rot. Run as written except for the number of epochs (epochs=N -> epochs=3: the
example's point is the API, not the spiral's quality), in a temporary folder (it saves a model)."""
import os
import re
import pathlib

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def python_blocks():
    text = README.read_text()
    return re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)


def test_readme_has_a_python_example():
    assert python_blocks(), "README.md has no ```python block"


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for block in python_blocks():
        code = re.sub(r"\bepochs=\d+", "epochs=3", block)
        namespace = {"__name__": "__readme__"}
        exec(compile(code, str(README) + ":python", "exec"), namespace)
        # The example's results exist and have the shapes it promises.
        if "synthetic" in namespace:
            assert len(namespace["synthetic"]) == 1000
        if "logp" in namespace:
            assert len(namespace["logp"]) == len(namespace["df"])
    assert os.path.exists(tmp_path / "spiral.efm")
