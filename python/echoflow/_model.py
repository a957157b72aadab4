"""EchoFlow: the pandas front end of the C++ model (echoflow._core).

Column types follow eftrain's rule for CSV files (one rule, in the C++ engine; docs/PYTHON.md):

    int / uint / float (numpy or nullable),         -> the numbers rule: at most
    object columns holding only numbers                data.categorical_max_levels (10) distinct
                                                       values, and at most half as many as
                                                       present values -> categorical; all whole
                                                       -> integer; else continuous
    object (other), string, category                -> categorical (labels: str(value))
    bool / boolean                                  -> categorical (labels "True" / "False")
    NaN / None / pd.NA / NaT                        -> missing value

A whole-valued float column is integer, like the same numbers read from a CSV file: its samples
are whole and keep the float dtype.

Settings are the eftrain config's keys by their last name (EchoFlow(layers=3, learning_rate=1e-3,
bins=8)), or a whole config as config={...}; they go through the same parser, defaults and checks
as a config file (`eftrain config` prints them all).

`fit(df, columns={...})` overrides a column's type ("continuous", "integer", "categorical") and
sets bounds / encoder ({"min": 0}, {"min": 0, "max": 1}, {"encoder": "quantile"}), as
eftrain's `data.columns` does.

`sample()` returns the training columns in their order with their dtypes. Integer columns that
held missing values are nullable (pandas Int64 etc.) -- in pandas a numpy int column cannot hold
a missing value, so such a column was nullable at fit time too; a float column with NaN is
continuous. Categorical values come back as the original Python objects when they were ints,
floats, bools or strings (object columns), as the original categories (category columns), or as
str otherwise.
"""
from __future__ import annotations

import json
import math
import numbers
import struct
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from . import _core

_Error = _core.EchoFlowError

# The config keys (host/config_keys.cpp) settable by their last name: the model, train and device
# settings, and the data settings that apply to a DataFrame.
_KEYS = {k["path"]: k for k in _core.config_keys()}
_NOT_FOR_FRAMES = ("data.path", "data.header", "data.columns", "output.model", "conditional")
_leaves: Dict[str, list] = {}
for _p in _KEYS:
    if _p not in _NOT_FOR_FRAMES and "*" not in _p:
        _leaves.setdefault(_p.rsplit(".", 1)[-1], []).append(_p)
_SETTINGS = {leaf: paths[0] for leaf, paths in _leaves.items() if len(paths) == 1}
_ALIASES = {"lr": "learning_rate"}  # the name before settings followed the config


def _default(path: str) -> Any:
    d = _KEYS[path]["default"]
    return json.loads(d) if d else None


def _plain(v: Any) -> Any:
    """v as plain JSON data (numpy scalars and tuples converted)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    return v


def _interactive() -> bool:
    """An interactive session: the Python REPL (python -i too) or IPython / Jupyter."""
    import sys
    if hasattr(sys, "ps1") or sys.flags.interactive:
        return True
    ipython = sys.modules.get("IPython")  # imported by a script is not enough: a live shell
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def _label(v: Any) -> str:
    """The label a categorical value is modelled as: the text a CSV file would hold
    (2.0 -> "2", as for numbers read by eftrain)."""
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, str):
        return v
    if isinstance(v, (float, np.floating)) and math.isfinite(float(v)) and float(v).is_integer() \
            and abs(float(v)) < 9e15:
        return str(int(v))
    return str(v)


def _jsonable(v: Any) -> Any:
    """v as a JSON value that converts back to v, or None if there is none."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) and math.isfinite(float(v)):
        return float(v)
    if isinstance(v, str):
        return v
    return None


def _where(series: pd.Series, pos: int) -> str:
    """'row 3 (index 'b')': a 1-based position and the index label."""
    return f"row {pos + 1} (index {series.index[pos]!r})"


def _is_missing_scalar(v: Any) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _infer_type(name: str, s: pd.Series, max_levels: int) -> str:
    """The column's type by eftrain's rule (the engine's infer_numeric_type for numbers)."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dt):
        return "categorical"
    if pd.api.types.is_integer_dtype(dt) or pd.api.types.is_float_dtype(dt):
        a = np.ascontiguousarray(s.to_numpy(dtype="float64", na_value=np.nan))
        return _core.infer_type(a, max_levels)
    if dt == object:
        present = s[~s.isna()]
        if len(present) and all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
                                for v in present):
            a = np.ascontiguousarray(pd.to_numeric(s).to_numpy(dtype="float64", na_value=np.nan))
            if np.isfinite(a[~np.isnan(a)]).all():
                return _core.infer_type(a, max_levels)
        return "categorical"
    if pd.api.types.is_string_dtype(dt):
        return "categorical"
    raise TypeError(f"column {name!r}: unsupported dtype {dt} (use float, int, bool, object, "
                    f"string or category columns)")


def _dtype_kind(s: pd.Series) -> str:
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    if dt == object:
        return "object"
    return "string"


def _numeric_values(name: str, s: pd.Series, col_type: str) -> np.ndarray:
    """A 1-D numpy array of the column's numbers (NaN = missing), a view where pandas has one.
    Raises TypeError for non-numeric data and ValueError for inf or, in integer columns,
    fractions, naming the column and row."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dt) or not (
            pd.api.types.is_numeric_dtype(dt) or dt == object):
        raise TypeError(f"column {name!r} is {col_type} in the model but has dtype {dt}")
    if isinstance(dt, np.dtype) and dt.kind in "iuf":
        a = s.to_numpy(copy=False)  # a view: no copy for numpy-backed columns
    elif pd.api.types.is_numeric_dtype(dt):  # nullable Int64/Float64 (or arrow-backed)
        a = s.to_numpy(dtype="float64", na_value=np.nan)
    else:  # object: numbers stored as Python objects
        a = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        bad = np.flatnonzero(np.isnan(a) & ~s.isna().to_numpy())
        if bad.size:
            p = int(bad[0])
            raise TypeError(f"column {name!r}, {_where(s, p)}: {s.iloc[p]!r} is not a number "
                            f"(the column is {col_type})")
    if a.dtype.kind == "f":
        inf = np.flatnonzero(np.isinf(a))
        if inf.size:
            p = int(inf[0])
            raise _Error(f"column {name!r}, {_where(s, p)}: {a[p]} is not a finite number")
        if col_type == "integer":
            frac = np.flatnonzero(np.isfinite(a) & (a != np.floor(a)))
            if frac.size:
                p = int(frac[0])
                raise _Error(f"column {name!r}, {_where(s, p)}: {a[p]!r} is not a whole "
                                 f"number (the column is integer)")
    return a


def _categorical_codes(s: pd.Series):
    """(codes int64, labels list[str], uniques): pandas.factorize, missing = -1."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    uniq = list(uniques.categories[uniques.codes] if isinstance(uniques, pd.Categorical)
                else uniques)
    return np.asarray(codes), [_label(u) for u in uniq], uniq


def _header(path: str) -> dict:
    """The JSON header of an .efm model file (README: Model file format)."""
    with open(path, "rb") as f:
        head = f.read(16)
        if len(head) < 16 or head[:8] != b"EFMODEL\0":
            raise _Error(f"{path}: not an EchoFlow model file")
        (hlen,) = struct.unpack("<I", head[12:16])
        return json.loads(f.read(hlen).decode("utf-8"))


class EchoFlow:
    """A normalizing flow fitted to a DataFrame.

    Settings are the eftrain config keys, by their last name and with the same defaults:
    flow ("maf", "realnvp", "nsf-ar", "nsf-coupling", or a list the layers cycle through),
    layers, hidden, activation, degrees, permutation, masks, actnorm, clamp, bins, tail_bound
    (model.*); epochs, batch_size, learning_rate, weight_decay, seed, validation_fraction,
    patience, threads, loss_every, max_resident_mb (train.*); device; missing and
    categorical_max_levels (data.*). `config` takes a whole config dict (eftrain's sections,
    without the file keys data.path, data.header and output); keyword settings override it.
    `eftrain config` (or echoflow.config_keys()) lists every key with its default, range and
    meaning. Bad settings raise EchoFlowError here, from the same checks as eftrain's.

    verbose: one line per epoch on stderr like `eftrain train`; None (default) = on in an
    interactive session (the REPL, IPython, Jupyter), off in scripts.

    Ctrl-C during fit() stops training at the end of the current epoch and raises
    KeyboardInterrupt; the estimator is left unfitted.
    """

    def __init__(self, *, config: Optional[Mapping[str, Any]] = None,
                 verbose: Optional[bool] = None, **settings: Any):
        cfg = _plain(dict(config or {}))
        if not isinstance(cfg, dict):
            raise TypeError("config must be a dict of eftrain config sections")
        self._explicit: Dict[str, Any] = {}
        for name, value in settings.items():
            leaf = _ALIASES.get(name, name)
            if leaf not in _SETTINGS:
                raise TypeError(f"EchoFlow: unknown setting {name!r} (settings: "
                                f"{', '.join(sorted(_SETTINGS))}; or config={{...}})")
            path = _SETTINGS[leaf]
            value = _plain(value)
            node = cfg
            parts = path.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise TypeError(f"config[{part!r}] must be a dict")
            node[parts[-1]] = value
            self._explicit[leaf] = value
        self._config = cfg
        # The parser's checks now, not at fit time (raises EchoFlowError).
        _core.check_config(json.dumps(cfg))
        self.verbose = verbose
        self._model = None
        self._meta: Optional[dict] = None

    def _setting(self, path: str) -> Any:
        node: Any = self._config
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return _default(path)
            node = node[part]
        return node

    def __getattr__(self, name: str) -> Any:
        # Settings read back by name: the value given, else the config's default.
        leaf = _ALIASES.get(name, name)
        if name.startswith("_") or leaf not in _SETTINGS:
            raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")
        v = self._setting(_SETTINGS[leaf])
        return tuple(v) if leaf == "hidden" and isinstance(v, list) else v

    @property
    def config(self) -> dict:
        """The settings as an eftrain config dict (only what was set; the rest is default)."""
        return json.loads(json.dumps(self._config))

    # ------------------------------------------------------------------ properties
    def _params(self) -> dict:
        return dict(self._explicit)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"EchoFlow({args}){'' if self._model is None else ' [fitted]'}"

    def _check_fitted(self):
        if self._model is None:
            raise RuntimeError("the model is not fitted: call fit(df) or EchoFlow.load(path)")

    @property
    def columns(self) -> list:
        """The training columns, in order."""
        self._check_fitted()
        return [c["name"] for c in self._meta["columns"]]

    @property
    def conditional(self) -> list:
        """The columns sample(given=...) may fix."""
        self._check_fitted()
        return list(self._model.conditional)

    @property
    def history_(self) -> list:
        """Per-epoch dicts: epoch, train_nll, val_nll (nats per row), rows_per_s, improved.
        Empty after load() (the model file keeps only the training summary)."""
        self._check_fitted()
        return self._model.training["history"]

    @property
    def training_(self) -> dict:
        """Training summary: epochs_run, best_epoch, best_val_nll, seconds, ..."""
        self._check_fitted()
        t = dict(self._model.training)
        t.pop("history", None)
        return t

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame, conditional: Optional[Iterable[str]] = None,
            columns: Optional[Mapping[str, Any]] = None) -> "EchoFlow":
        """Fits the model to df (all its columns) and returns self.

        conditional: columns that sample(given=...) may fix. columns: per-column overrides, a
        type string or a dict with "type", "min", "max", "encoder"."""
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"fit expects a pandas DataFrame, got {type(df).__name__}")
        names = [str(c) for c in df.columns]
        if len(set(names)) != len(names):
            raise _Error("fit: duplicate column names")
        if df.shape[1] == 0:
            raise _Error("fit: the DataFrame has no columns")
        if len(df) < 2:
            raise _Error(f"fit: at least 2 rows are needed to train (got {len(df)})")
        if isinstance(conditional, str):
            conditional = [conditional]
        conditional = [str(c) for c in (conditional or [])]
        for c in conditional:
            if c not in names:
                raise _Error(f"conditional column {c!r} is not a column of the DataFrame")
        config = json.loads(json.dumps(self._config))
        data = config.setdefault("data", {})
        col_cfg = dict(data.get("columns") or {})
        for k, v in (columns or {}).items():
            col_cfg[str(k)] = _plain(v)
        if col_cfg:
            data["columns"] = col_cfg
        config["conditional"] = conditional
        # The parser checks the columns' settings (keys, types, bounds) before the table is built.
        _core.check_config(json.dumps(config))
        overrides: Dict[str, dict] = {}
        for k, v in col_cfg.items():
            if k not in names:
                raise _Error(f"columns: {k!r} is not a column of the DataFrame")
            overrides[k] = {"type": v} if isinstance(v, str) else dict(v)
        max_levels = int(self._setting("data.categorical_max_levels"))

        table = _core.Table()
        table.source = "DataFrame"
        meta_cols = []
        for name, (_, s) in zip(names, df.items()):
            o = overrides.get(name, {})
            col_type = o.get("type") or _infer_type(name, s, max_levels)
            kind = _dtype_kind(s)
            info = {"name": name, "type": col_type, "kind": kind, "dtype": str(s.dtype)}
            if col_type == "categorical":
                if "min" in o or "max" in o:
                    raise _Error(f"columns[{name!r}]: bounds on a categorical column")
                codes, labels, uniques = _categorical_codes(s)
                if len(labels) == 0 and not (codes < 0).any():
                    raise _Error(f"column {name!r}: no values")
                token = next(t for t in ("", "NA", "<NA>", "__missing__") if t not in labels)
                info["missing_token"] = token
                info["has_missing"] = bool((codes < 0).any())
                # How labels map back to values: only where str() does not round-trip.
                vmap = {}
                for lab, u in zip(labels, uniques):
                    j = _jsonable(u)
                    if j is not None and not isinstance(j, str):
                        vmap[lab] = j
                info["values"] = vmap
                if kind == "category":
                    cats = s.cat.categories
                    info["categories"] = [_jsonable(c) if _jsonable(c) is not None else _label(c)
                                          for c in cats]
                    info["ordered"] = bool(s.cat.ordered)
                table.add_categorical(name, codes, labels, token)
            else:
                if kind in ("category", "bool", "string"):
                    raise TypeError(f"column {name!r}: a {s.dtype} column cannot be {col_type}")
                a = _numeric_values(name, s, col_type)
                info["missing_token"] = ""
                info["has_missing"] = bool(np.isnan(a).any()) if a.dtype.kind == "f" else False
                if info["has_missing"] and np.isnan(a).all():
                    raise _Error(f"column {name!r}: every value is missing")
                table.add_numeric(name, col_type, a)
            meta_cols.append(info)

        meta = {"version": 1, "columns": meta_cols}
        provenance = {"echoflow": _core.__version__, "settings": self._config, "meta": meta}
        verbose = _interactive() if self.verbose is None else bool(self.verbose)
        self._model = _core.Model.fit(table, json.dumps(config), json.dumps(provenance), verbose)
        self._meta = meta
        if verbose:
            import sys
            print(f"echoflow: {_core.training_summary(self._model)}", file=sys.stderr)
        return self

    # ------------------------------------------------------------------ score
    def _table_for(self, df: pd.DataFrame):
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
        cols = {str(c): i for i, c in enumerate(df.columns)}
        table = _core.Table()
        table.source = "DataFrame"
        for info in self._meta["columns"]:
            name = info["name"]
            if name not in cols:
                raise _Error(f"column {name!r} of the model is missing from the DataFrame")
            s = df.iloc[:, cols[name]]
            if info["type"] == "categorical":
                codes, labels, _ = _categorical_codes(s)
                table.add_categorical(name, codes, labels, info["missing_token"])
            else:
                table.add_numeric(name, info["type"], _numeric_values(name, s, info["type"]))
        return table

    def log_likelihood(self, df: pd.DataFrame) -> np.ndarray:
        """log p(row) for every row of df: a float64 array, natural log, original units
        (probability mass of categorical values times density of numeric ones). Columns are
        matched by name; extra columns are ignored. Rows the model gives no probability (an
        unseen label, a value outside declared bounds, a missing value in a column that had
        none in training) score -inf. Integer columns and missing / point-mass cells make the
        score a lower bound estimated with 8 fixed draws (docs/MATH.md), as `eftrain score`."""
        self._check_fitted()
        if len(df) == 0:
            return np.zeros(0)
        return self._model.score(self._table_for(df), self.threads)

    # ------------------------------------------------------------------ sample
    def _given_text(self, given: Mapping[str, Any]) -> Dict[str, str]:
        out = {}
        by_name = {c["name"]: c for c in self._meta["columns"]}
        cond = set(self._model.conditional)
        for k, v in given.items():
            k = str(k)
            if k not in by_name:
                raise _Error(f"given: no column {k!r} in the model "
                                 f"(columns: {', '.join(by_name)})")
            if k not in cond:
                raise _Error(f"given: column {k!r} was not declared conditional at fit time "
                                 f"(conditional columns: {', '.join(self._model.conditional) or 'none'})")
            info = by_name[k]
            if _is_missing_scalar(v):
                if not info["has_missing"]:
                    raise _Error(f"given: {k}=missing, but column {k!r} had no missing "
                                     f"values in training")
                out[k] = info["missing_token"]
            elif info["type"] == "categorical":
                out[k] = _label(v)
            else:
                if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
                    raise TypeError(f"given: column {k!r} is {info['type']}: expected a number, "
                                    f"got {type(v).__name__} {v!r}")
                if isinstance(v, numbers.Integral):
                    out[k] = str(int(v))
                else:
                    out[k] = repr(float(v))
        return out

    def sample(self, num_samples: Optional[int] = None, given: Optional[Mapping[str, Any]] = None,
               seed: int = 0, *, num_rows: Optional[int] = None) -> pd.DataFrame:
        """num_samples (or num_rows, as SDV names it; default 1) synthetic rows as a DataFrame
        with the training columns, order and dtypes. given: {column: value} fixes conditional
        columns (a label, a number, or None for a missing value); the rest are drawn from the
        model's conditional. Same seed, same rows."""
        self._check_fitted()
        if num_samples is not None and num_rows is not None:
            raise TypeError("sample: give num_samples or num_rows, not both")
        count = num_rows if num_rows is not None else (1 if num_samples is None else num_samples)
        n = int(count)
        if n < 1:
            raise _Error(f"{'num_rows' if num_rows is not None else 'num_samples'} must be "
                         f"positive (got {count})")
        gtext = self._given_text(given or {})
        try:
            cols, info = self._model.sample(n, gtext, int(seed), self.threads)
        except _core.EchoFlowError as e:
            msg = str(e)
            raise _core.EchoFlowError(msg.replace("--given ", "given: ", 1)) from None
        self.last_sample_info_ = info
        metas = {c["name"]: c for c in self._meta["columns"]}
        data = {}
        for name, ctype, values, labels, missing in cols:
            data[name] = _to_series(metas[name], values, labels, missing, n)
        return pd.DataFrame(data, columns=[c["name"] for c in self._meta["columns"]])

    # ------------------------------------------------------------------ save / load
    def save(self, path) -> None:
        """Writes the model file (.efm, readable by `eftrain sample/score` too)."""
        self._check_fitted()
        self._model.save(str(path))

    @classmethod
    def load(cls, path) -> "EchoFlow":
        """Reads a model file written by save() or by `eftrain train`."""
        path = str(path)
        model = _core.Model.load(path)
        header = _header(path)
        config = dict(header.get("config") or {})
        py = config.pop("python", None) or {}
        meta = py.get("meta")
        if "settings" in py:  # saved by this package
            kwargs = {"config": py["settings"]}
        elif py:  # saved by an older version: keyword arguments
            kwargs = {k: v for k, v in (py.get("params") or {}).items()
                      if _ALIASES.get(k, k) in _SETTINGS}
        else:  # an eftrain model: its config, less the file keys
            data = dict(config.get("data") or {})
            for k in ("path", "header", "columns"):
                data.pop(k, None)
            config.pop("output", None)
            config.pop("conditional", None)
            config["data"] = data
            kwargs = {"config": config}
        if not meta:  # an eftrain model: dtypes from the column types
            meta = {"version": 1, "columns": []}
            for c in header["columns"]:
                t = c["type"]
                meta["columns"].append({
                    "name": c["name"], "type": t,
                    "kind": {"continuous": "float", "integer": "int"}.get(t, "object"),
                    "dtype": {"continuous": "float64",
                              "integer": "Int64" if c["has_missing"] else "int64"}.get(t, "object"),
                    "missing_token": c["missing_token"], "has_missing": c["has_missing"],
                    "values": {}})
        else:
            # has_missing / tokens as the engine stored them.
            hcols = {c["name"]: c for c in header["columns"]}
            for c in meta["columns"]:
                if c["name"] in hcols:
                    c["has_missing"] = hcols[c["name"]]["has_missing"]
                    c["missing_token"] = hcols[c["name"]]["missing_token"]
        self = cls(**kwargs)
        self._model = model
        self._meta = meta
        return self


def _to_series(info: dict, values: np.ndarray, labels, missing, n: int) -> pd.Series:
    """One sampled column, back in the training column's dtype."""
    kind, dtype = info["kind"], info["dtype"]
    if info["type"] != "categorical":
        if info["type"] == "integer" and kind == "float":  # whole-valued floats stay float
            if missing is not None:
                values[missing] = np.nan
            return pd.Series(values).astype(dtype)
        if info["type"] == "integer":
            if missing is not None and missing.any():
                return pd.Series(pd.arrays.IntegerArray(np.where(missing, 0, values).astype("int64"),
                                                        missing.copy()), dtype=_nullable_int(dtype))
            if kind == "int":
                try:
                    np_dt = np.dtype(dtype)
                except TypeError:
                    return pd.Series(values.astype("int64")).astype(dtype)
                info_i = np.iinfo(np_dt)
                return pd.Series(np.clip(values, info_i.min, info_i.max).astype(np_dt))
            return pd.Series(values).astype(dtype if kind == "float" else "float64")
        if missing is not None:
            values[missing] = np.nan  # the array is ours (handed over by the engine)
        if kind == "float" and dtype != "float64":
            return pd.Series(values).astype(dtype)
        return pd.Series(values)
    # categorical: codes into labels (missing = -1)
    vmap = info.get("values") or {}
    lab_vals = np.empty(len(labels) + 1, dtype=object)
    for i, lab in enumerate(labels):
        lab_vals[i] = vmap.get(lab, lab)
    lab_vals[-1] = None  # code -1
    objs = lab_vals[values]
    if kind == "bool":
        if missing is None or not missing.any():
            return pd.Series(objs == "True") if not vmap else pd.Series(objs.astype(bool))
        return pd.Series(pd.array([None if o is None else (o is True or o == "True") for o in objs],
                                  dtype="boolean"))
    if kind == "category":
        cats = info.get("categories") or sorted({o for o in objs if o is not None}, key=str)
        return pd.Series(pd.Categorical(objs, categories=cats, ordered=info.get("ordered", False)))
    if kind == "string":
        return pd.Series(objs, dtype=dtype)
    if kind in ("int", "float"):  # a numeric column with few distinct values (or declared so)
        if kind == "float":
            objs = np.array([np.nan if o is None else o for o in objs], dtype=object)
        try:
            return pd.Series(objs).astype(dtype)
        except (TypeError, ValueError):
            return pd.Series(objs)
    return pd.Series(objs, dtype=object)


def _nullable_int(dtype: str) -> str:
    if dtype[:1] in "IU":  # already nullable: Int64, UInt8, ...
        return dtype
    try:
        d = np.dtype(dtype)
    except TypeError:
        return "Int64"
    return ("UInt" if d.kind == "u" else "Int") + str(d.itemsize * 8)


def config_keys() -> list:
    """Every config key: dicts with path ("train.epochs"), type, default (JSON text, "" when it
    has none), range, choices and meaning -- the table eftrain's parser validates against."""
    return [dict(k) for k in _core.config_keys()]


def schema(data, categorical_max_levels: int = 10) -> Dict[str, str]:
    """{column: type} as fit() would infer it: for a DataFrame by its dtypes and values, for a
    CSV path by eftrain's reader. Both follow one rule, so a CSV file and pandas.read_csv of it
    agree."""
    if isinstance(data, pd.DataFrame):
        return {str(name): _infer_type(str(name), s, int(categorical_max_levels))
                for name, s in data.items()}
    return dict(_core.csv_types(str(data), int(categorical_max_levels)))
