"""Tests of the Python package: fit / sample / log_likelihood / save / load, dtype round trips,
conditional sampling, errors, normalization, Ctrl-C, GIL release and 1M-row scoring.
Run with tests/python/run.sh (builds the package into build-py/venv)."""
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import pytest

import echoflow
from echoflow import EchoFlow, EchoFlowError
from echoflow.demo import load_dataset

FAST = dict(layers=2, hidden=(16, 16), epochs=3, batch_size=128, threads=2)


@pytest.fixture(scope="module")
def spiral():
    return load_dataset("spiral", num_samples=2000, seed=0)


@pytest.fixture(scope="module")
def spiral_model(spiral):
    return EchoFlow(flow="realnvp", **FAST).fit(spiral)


def mixed_frame(n=600, seed=0):
    rng = np.random.default_rng(seed)
    species = rng.choice(["a", "b", "c"], n)
    x = rng.normal(0, 1, n) + (species == "b") * 3.0
    with_nan = rng.normal(5, 2, n)
    with_nan[rng.random(n) < 0.2] = np.nan
    count_na = pd.array(rng.poisson(4, n), dtype="Int64")
    count_na[rng.random(n) < 0.2] = pd.NA
    obj = np.array(rng.choice(["red", "green"], n), dtype=object)
    obj[rng.random(n) < 0.2] = None
    return pd.DataFrame({
        "species": species.astype(object),
        "x": x,
        "x32": rng.normal(0, 1, n).astype(np.float32),
        "n": rng.integers(0, 50, n).astype(np.int64),
        "n32": rng.integers(-20, 20, n).astype(np.int32),
        "with_nan": with_nan,
        "count_na": count_na,
        "color": obj,
        "size": pd.Categorical(rng.choice(["S", "M", "L"], n), categories=["S", "M", "L"],
                               ordered=True),
        "flag": rng.random(n) < 0.3,
        "flag_na": pd.array([None if r < 0.1 else bool(r < 0.5) for r in rng.random(n)],
                            dtype="boolean"),
        "code": np.array(rng.choice([10, 20, 30], n), dtype=object),  # ints in an object column
    })


@pytest.fixture(scope="module")
def mixed():
    return mixed_frame()


@pytest.fixture(scope="module")
def mixed_model(mixed):
    return EchoFlow(flow="maf", **FAST).fit(mixed, conditional=["species", "x"])


# ---------------------------------------------------------------- basics

def test_version_and_demo():
    assert echoflow.__version__.count(".") == 2
    df = load_dataset("spiral")
    assert list(df.columns) == ["x", "y"] and len(df) == 4000
    assert df.dtypes.tolist() == [np.float64, np.float64]
    r = np.hypot(df.x, df.y)
    assert r.max() < 12 and r.mean() > 3  # arms out to radius 10, noise 0.25
    assert df.equals(load_dataset("spiral"))
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("moons")


def test_fit_sample_score(spiral, spiral_model):
    s = spiral_model.sample(num_samples=10)
    assert list(s.columns) == ["x", "y"] and len(s) == 10
    assert s.dtypes.tolist() == [np.float64, np.float64]
    assert s.equals(spiral_model.sample(num_samples=10))           # seed 0 both times
    assert not s.equals(spiral_model.sample(num_samples=10, seed=1))
    lp = spiral_model.log_likelihood(spiral)
    assert isinstance(lp, np.ndarray) and lp.dtype == np.float64 and lp.shape == (len(spiral),)
    assert np.isfinite(lp).all()
    assert -8 < lp.mean() < -3  # nats per row; the spiral's spread is ~ 20 x 20
    hist = spiral_model.history_
    assert len(hist) == 3 and {"epoch", "train_nll", "val_nll"} <= set(hist[0])
    assert spiral_model.training_["epochs_run"] == 3


def test_save_load(tmp_path, spiral, spiral_model):
    path = tmp_path / "spiral.efm"
    spiral_model.save(path)
    m2 = EchoFlow.load(path)
    assert m2.flow == "realnvp" and m2.layers == 2 and m2.hidden == (16, 16)
    np.testing.assert_array_equal(m2.log_likelihood(spiral), spiral_model.log_likelihood(spiral))
    pd.testing.assert_frame_equal(m2.sample(50, seed=3), spiral_model.sample(50, seed=3))


def test_mixed_flow_list(tmp_path, spiral):
    # A list of kinds: the layers cycle through it (spline and affine couplings alternate).
    m = EchoFlow(flow=["nsf-coupling", "realnvp"], layers=3, hidden=(16, 16), epochs=2,
                 threads=2).fit(spiral)
    lp = m.log_likelihood(spiral)
    assert np.isfinite(lp).all()
    path = tmp_path / "mixed.efm"
    m.save(path)
    m2 = EchoFlow.load(path)
    assert m2.flow == ["nsf-coupling", "realnvp"] and m2.layers == 3
    np.testing.assert_array_equal(m2.log_likelihood(spiral), lp)
    with pytest.raises(EchoFlowError, match='unknown flow "glow"'):
        EchoFlow(flow=["maf", "glow"])
    with pytest.raises(EchoFlowError, match="model.flow as an array must list 1 to 64"):
        EchoFlow(flow=[])


def test_verbose_prints_epochs(capsys, spiral):
    EchoFlow(verbose=True, **FAST).fit(spiral)
    err = capsys.readouterr().err
    assert "epoch 1/3" in err and "train NLL" in err and "rows/s" in err
    EchoFlow(verbose=False, **FAST).fit(spiral)
    assert capsys.readouterr().err == ""


def _fit_in_subprocess(code: str) -> str:
    script = textwrap.dedent("""
        from echoflow import EchoFlow
        from echoflow.demo import load_dataset
        df = load_dataset("spiral", num_samples=500)
    """) + textwrap.dedent(code) + "\nEchoFlow(layers=1, hidden=[8], epochs=2, threads=1).fit(df)\n"
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stderr


def test_progress_on_by_default_when_interactive():
    # A script prints nothing; the interactive interpreter (sys.ps1 set) prints the epochs.
    assert "epoch" not in _fit_in_subprocess("")
    err = _fit_in_subprocess("import sys; sys.ps1 = '>>> '")
    assert "epoch 1/2" in err and "epoch 2/2" in err and "best epoch" in err


# ---------------------------------------------------------------- dtypes

def test_dtype_round_trip(tmp_path, mixed, mixed_model):
    for model in (mixed_model, EchoFlow.load(_saved(mixed_model, tmp_path))):
        s = model.sample(num_samples=800, seed=2)
        assert list(s.columns) == list(mixed.columns)
        pd.testing.assert_series_equal(s.dtypes, mixed.dtypes)
        assert set(s.species) <= {"a", "b", "c"}
        assert set(s["size"].cat.categories) == {"S", "M", "L"} and s["size"].cat.ordered
        assert set(s.color.dropna()) <= {"red", "green"} and s.color.isna().any()
        assert set(s.code) <= {10, 20, 30} and isinstance(s.code.iloc[0], int)
        assert s.flag.dtype == bool and s.flag.any() and not s.flag.all()
        assert s.flag_na.isna().any() and s.flag_na.dropna().isin([True, False]).all()
        assert s.with_nan.isna().any() and s.with_nan.notna().any()
        assert 0.05 < s.with_nan.isna().mean() < 0.4  # trained on 20% missing
        assert s.count_na.isna().any() and s.count_na.notna().any()  # nullable Int64
        assert np.issubdtype(s.n.dtype, np.integer)


def _saved(model, tmp_path):
    p = tmp_path / "m.efm"
    model.save(p)
    return p


def test_types_are_inferred_from_dtypes(mixed_model):
    m = mixed_model._model
    t = m.column_types
    assert t["x"] == "continuous" and t["x32"] == "continuous" and t["with_nan"] == "continuous"
    assert t["n"] == "integer" and t["n32"] == "integer" and t["count_na"] == "integer"
    for c in ("species", "color", "size", "flag", "flag_na", "code"):
        assert t[c] == "categorical", c


def test_column_overrides():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"income": rng.exponential(1000, 500), "k": rng.integers(0, 3, 500)})
    m = EchoFlow(**FAST).fit(df, columns={"income": {"min": 0}, "k": "categorical"})
    assert m._model.column_types["k"] == "categorical"
    s = m.sample(500)
    assert (s.income >= 0).all()
    assert s.k.dtype == np.int64 and set(s.k) <= {0, 1, 2}
    assert np.isfinite(m.log_likelihood(df)).all()


def test_log_likelihood_on_mixed(mixed, mixed_model):
    lp = mixed_model.log_likelihood(mixed)
    assert lp.shape == (len(mixed),) and np.isfinite(lp).all()
    # column order does not matter, extra columns are ignored
    shuffled = mixed[list(reversed(mixed.columns))].assign(extra=1.0)
    np.testing.assert_array_equal(mixed_model.log_likelihood(shuffled), lp)
    # an unseen label scores -inf, as `eftrain score` does
    odd = mixed.head(3).copy()
    odd.loc[odd.index[1], "species"] = "zebra"
    lp3 = mixed_model.log_likelihood(odd)
    assert np.isfinite(lp3[[0, 2]]).all() and lp3[1] == -np.inf


# ---------------------------------------------------------------- conditional sampling

@pytest.fixture(scope="module")
def cond_model():
    # x depends on species strongly enough for a short training run to learn it.
    rng = np.random.default_rng(3)
    n = 3000
    species = rng.choice(["a", "b", "c"], n)
    x = rng.normal(0, 0.5, n) + (species == "b") * 3.0
    df = pd.DataFrame({"species": species, "x": x, "n": rng.integers(0, 10, n)})
    return EchoFlow(flow="maf", layers=3, hidden=(32, 32), epochs=30, threads=2).fit(
        df, conditional=["species", "x"])


def test_conditional_categorical(cond_model):
    s = cond_model.sample(300, given={"species": "b"}, seed=4)
    assert (s.species == "b").all()
    assert 2.5 < s.x.mean() < 3.5  # x is shifted by +3 for species b
    s = cond_model.sample(300, given={"species": "a"}, seed=4)
    assert (s.species == "a").all() and abs(s.x.mean()) < 0.5


def test_conditional_numeric(cond_model):
    s = cond_model.sample(300, given={"x": 3.25}, seed=5)
    assert (s.x == 3.25).all()
    assert (s.species == "b").mean() > 0.8  # x = 3.25 is almost surely a "b" row


def test_conditional_both(mixed_model):
    s = mixed_model.sample(100, given={"species": "a", "x": -0.5}, seed=6)
    assert (s.species == "a").all() and (s.x == -0.5).all()
    assert mixed_model.last_sample_info_["method"] in ("ancestral", "enumeration", "importance")


# ---------------------------------------------------------------- errors

def test_nul_byte_in_text_refused():
    """A NUL byte in a label or a column name: its CSV copy would not read back (issue 14)."""
    df = pd.DataFrame({"x": np.arange(20.0), "c": ["a", "b"] * 10})
    df.loc[7, "c"] = "b\x00c"
    with pytest.raises(EchoFlowError, match=r'column "c", row 8: the label "b\\0c" has a NUL byte'):
        EchoFlow(**FAST).fit(df)
    df = pd.DataFrame({"x\x00y": np.arange(20.0), "c": ["a", "b"] * 10})
    with pytest.raises(EchoFlowError, match=r'column name "x\\0y" has a NUL byte'):
        EchoFlow(**FAST).fit(df)


def test_given_errors(mixed_model):
    # Errors of the same kind raise the same class: EchoFlowError, from Python or the engine.
    with pytest.raises(EchoFlowError, match="no column 'nope'"):
        mixed_model.sample(5, given={"nope": 1})
    with pytest.raises(EchoFlowError, match="not declared conditional"):
        mixed_model.sample(5, given={"n": 3})
    with pytest.raises(ValueError, match="label not seen in training") as e:
        mixed_model.sample(5, given={"species": "zebra"})
    assert isinstance(e.value, EchoFlowError) and "species" in str(e.value)
    with pytest.raises(TypeError, match="expected a number"):
        mixed_model.sample(5, given={"x": "abc"})
    with pytest.raises(EchoFlowError, match="no missing values"):
        mixed_model.sample(5, given={"x": None})
    with pytest.raises(EchoFlowError, match="positive"):
        mixed_model.sample(0)
    with pytest.raises(EchoFlowError, match="num_rows must be positive"):
        mixed_model.sample(num_rows=0)


def test_wrong_types_name_column_and_row(mixed, mixed_model):
    bad = mixed.head(5).copy()
    bad["x"] = bad["x"].astype(object)
    bad.loc[bad.index[2], "x"] = "oops"
    with pytest.raises(TypeError, match=r"column 'x', row 3 .*'oops' is not a number"):
        mixed_model.log_likelihood(bad)
    bad = mixed.head(5).copy()
    bad["n"] = bad["n"].astype(float)
    bad.loc[bad.index[1], "n"] = 2.5
    with pytest.raises(ValueError, match=r"column 'n', row 2 .*not a whole number"):
        mixed_model.log_likelihood(bad)
    bad = mixed.head(5).copy()
    bad["x"] = pd.Categorical(["u"] * 5)
    with pytest.raises(TypeError, match="column 'x' is continuous in the model"):
        mixed_model.log_likelihood(bad)
    with pytest.raises(ValueError, match="column 'species' of the model is missing"):
        mixed_model.log_likelihood(mixed.drop(columns="species"))
    with pytest.raises(TypeError, match="DataFrame"):
        mixed_model.log_likelihood(mixed.to_numpy())


def test_fit_errors():
    df = pd.DataFrame({"x": [0.0, 1.0, np.inf, 2.0], "t": pd.Timestamp("2020-01-01")})
    with pytest.raises(TypeError, match="column 't': unsupported dtype"):
        EchoFlow(**FAST).fit(df[["t"]])
    with pytest.raises(ValueError, match=r"column 'x', row 3 .*not a finite number"):
        EchoFlow(**FAST).fit(df[["x"]])
    with pytest.raises(ValueError, match="conditional column 'z'"):
        EchoFlow(**FAST).fit(df[["x"]].iloc[:2], conditional=["z"])
    with pytest.raises(EchoFlowError, match='unknown flow "glow"'):
        EchoFlow(flow="glow")
    with pytest.raises(EchoFlowError, match=r"train.epochs must be in \[1, "):  # eftrain's check
        EchoFlow(epochs=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        EchoFlow().sample(3)
    with pytest.raises(ValueError, match="not an EchoFlow model file"):
        EchoFlow.load(__file__)


# ---------------------------------------------------------------- exactness

def test_density_integrates_to_one_1d():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 0.5, 1500), rng.normal(1.5, 1.0, 1500)])
    m = EchoFlow(flow="maf", layers=3, hidden=(32, 32), epochs=20, threads=2)
    m.fit(pd.DataFrame({"x": x}))
    grid = np.linspace(-12, 12, 24001)
    lp = m.log_likelihood(pd.DataFrame({"x": grid}))
    # The default observed support: finite on the data's range, zero density (-inf) beyond the
    # range widened by 10% on each side.
    lo, hi = x.min(), x.max()
    assert np.isfinite(lp[(grid >= lo) & (grid <= hi)]).all()
    w = 0.1 * (hi - lo)
    assert (lp[(grid < lo - 1.001 * w) | (grid > hi + 1.001 * w)] == -np.inf).all()
    mass = np.trapezoid(np.exp(lp), grid) if hasattr(np, "trapezoid") else np.trapz(np.exp(lp), grid)
    assert abs(mass - 1.0) < 0.02, mass


# ---------------------------------------------------------------- threads and signals

def test_gil_released_during_fit(spiral):
    big = pd.concat([spiral] * 10, ignore_index=True)
    started, done = threading.Event(), threading.Event()

    def work():
        m = EchoFlow(layers=4, hidden=(64, 64), epochs=3, threads=1, verbose=False)
        started.set()
        m.fit(big)
        done.set()

    th = threading.Thread(target=work)
    th.start()
    started.wait()
    t0 = time.perf_counter()
    ticks = 0
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    th.join()
    # The fit must last long enough to tell: 3 epochs over 20k rows take well over 0.1 s.
    assert elapsed > 0.1, f"the fit took {elapsed:.3f} s: too short to test the GIL"
    # With the GIL held for the whole fit this loop would run about once per epoch (when the
    # progress callback takes the GIL); released, it ticks every few milliseconds.
    assert ticks > max(20, elapsed / 0.02), (ticks, elapsed)


def test_ctrl_c_stops_fit_cleanly(tmp_path):
    script = tmp_path / "interrupt.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        from echoflow import EchoFlow
        from echoflow.demo import load_dataset
        df = load_dataset("spiral", num_samples=20000)
        m = EchoFlow(epochs=100000, patience=0, threads=1)
        print("fitting", flush=True)
        t0 = time.time()
        try:
            m.fit(df)
        except KeyboardInterrupt:
            print(f"interrupted after {time.time() - t0:.1f}s fitted={m._model is not None}",
                  flush=True)
            sys.exit(3)
        print("finished?", flush=True)
    """))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "fitting"
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 3, (out, err)
    assert "interrupted after" in out and "fitted=False" in out


# ---------------------------------------------------------------- scale

def test_score_one_million_rows(spiral, spiral_model):
    rng = np.random.default_rng(7)
    n = 1_000_000
    # Inside the observed range of each column (outside it the density is 0: -inf).
    df = pd.DataFrame({c: rng.uniform(spiral[c].min(), spiral[c].max(), n) for c in ["x", "y"]})
    t0 = time.perf_counter()
    lp = spiral_model.log_likelihood(df)
    dt = time.perf_counter() - t0
    assert lp.shape == (n,) and np.isfinite(lp).all()
    print(f"scored {n} rows in {dt:.2f} s ({n / dt:,.0f} rows/s)")
    assert dt < 120


# ---------------------------------------------------------------- one front door for settings

def _core_keys():
    return {k["path"]: k for k in echoflow.config_keys()}


def test_every_setting_has_the_config_name_and_default():
    keys = _core_keys()
    m = EchoFlow()
    skipped = {"data.path", "data.header", "data.columns", "output.model", "conditional"}
    names = 0
    for path, k in keys.items():
        if path in skipped or "*" in path:
            continue
        leaf = path.rsplit(".", 1)[-1]
        default = None if k["default"] == "" else __import__("json").loads(k["default"])
        got = getattr(m, leaf)
        assert (list(got) if isinstance(got, tuple) else got) == default, path
        names += 1
    assert names >= 24
    # Every key of the table reaches the engine: a value set by name lands in the config.
    m = EchoFlow(bins=5, tail_bound=2.5, degrees="random", masks="random", loss_every=4,
                 max_resident_mb=10, categorical_max_levels=3, missing=["-"], learning_rate=0.01)
    cfg = m.config
    assert cfg["model"]["bins"] == 5 and cfg["model"]["tail_bound"] == 2.5
    assert cfg["train"]["learning_rate"] == 0.01 and cfg["data"]["categorical_max_levels"] == 3
    assert m.bins == 5 and m.lr == 0.01  # lr: the older name, an alias


def test_settings_reach_the_model_file(tmp_path, spiral):
    m = EchoFlow(flow="nsf-coupling", bins=5, tail_bound=4.0, **FAST).fit(spiral)
    p = tmp_path / "b.efm"
    m.save(p)
    from echoflow._model import _header
    model = _header(str(p))["model"]
    assert model["bins"] == 5 and model["tail_bound"] == 4.0
    m2 = EchoFlow.load(p)
    assert m2.bins == 5 and m2.flow == "nsf-coupling"
    np.testing.assert_array_equal(m2.log_likelihood(spiral), m.log_likelihood(spiral))


def test_settings_checked_by_the_config_parser():
    for bad, msg in ((dict(learning_rate=0), r"train.learning_rate must be in \(0, 10\)"),
                     (dict(lr=-1e-3), r"train.learning_rate must be in \(0, 10\)"),
                     (dict(bins=1), r"model.bins must be in \[2, 64\]"),
                     (dict(tail_bound=0), "model.tail_bound must be > 0"),
                     (dict(layers=0), r"model.layers must be in \[1, 1000\]"),
                     (dict(hidden=[0]), "model.hidden entries must be in"),
                     (dict(epochs=2.5), "train.epochs must be an integer"),
                     (dict(device="tpu"), 'unknown device "tpu"'),
                     (dict(config={"train": {"nope": 1}}), 'unknown key "train.nope"'),
                     (dict(config={"data": {"path": "x.csv"}}), "data.path does not apply")):
        with pytest.raises(EchoFlowError, match=msg):
            EchoFlow(**bad)
    with pytest.raises(TypeError, match="unknown setting 'nosuch'"):
        EchoFlow(nosuch=1)
    df = pd.DataFrame({"x": np.arange(10.0)})
    with pytest.raises(EchoFlowError, match='data.columns.x: unknown type "text"'):
        EchoFlow(**FAST).fit(df, columns={"x": "text"})
    with pytest.raises(EchoFlowError, match='unknown key "data.columns.x.mn"'):
        EchoFlow(**FAST).fit(df, columns={"x": {"mn": 0}})
    # A whole config dict, as eftrain reads it, with a keyword on top.
    m = EchoFlow(config={"model": {"layers": 2, "hidden": [8]}, "train": {"epochs": 2}}, epochs=1)
    assert m.layers == 2 and m.hidden == (8,) and m.epochs == 1


# ---------------------------------------------------------------- one type-inference rule

PENGUINS = os.path.join(os.path.dirname(__file__), "..", "data", "penguins.csv")


def test_csv_and_dataframe_infer_the_same_types():
    df = pd.read_csv(PENGUINS)
    from_csv = echoflow.schema(PENGUINS)
    from_frame = echoflow.schema(df)
    assert from_frame == from_csv
    assert from_csv["year"] == "categorical"          # int64 in pandas, 3 distinct values
    assert from_csv["body_mass_g"] == "integer"       # float64 in pandas (NaN), whole values
    assert from_csv["flipper_length_mm"] == "integer"
    assert from_csv["bill_length_mm"] == "continuous"
    assert from_csv["species"] == "categorical"
    assert echoflow.schema(df, categorical_max_levels=0)["year"] == "integer"
    assert echoflow.schema(df, 0) == echoflow.schema(PENGUINS, 0)


def test_fit_uses_the_shared_rule_and_whole_floats_stay_whole():
    df = pd.read_csv(PENGUINS)
    m = EchoFlow(layers=2, hidden=[16], epochs=2, threads=2).fit(df)
    assert m._model.column_types == echoflow.schema(PENGUINS)
    s = m.sample(num_rows=400, seed=1)
    pd.testing.assert_series_equal(s.dtypes, df.dtypes)
    mass = s.body_mass_g.dropna()
    assert len(mass) > 300 and (mass == np.floor(mass)).all()  # float64, whole grams
    assert set(s.year) <= {2007, 2008, 2009}
    assert np.isfinite(m.log_likelihood(df.dropna())).all()


# ---------------------------------------------------------------- README

def test_readme_python_example_runs_as_written(tmp_path):
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    section = readme[readme.index("\n## Python"):]
    code = section[section.index("```python\n") + 10:]
    code = code[:code.index("```")]
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr


def test_demo_reachable_after_import_echoflow():
    r = subprocess.run([sys.executable, "-c", "import echoflow; "
                        "print(len(echoflow.demo.load_dataset('spiral', num_samples=7)))"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "7", r.stderr
