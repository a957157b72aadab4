"""EchoFlow: the pandas front end of the C++ model (echoflow._core).

Column types come from pandas dtypes:

    float (float16/32/64, Float32/Float64)          -> continuous
    int / uint (numpy, or nullable Int*/UInt*)      -> integer
    object, string, category                        -> categorical (labels: str(value))
    bool / boolean                                  -> categorical (labels "True" / "False")
    NaN / None / pd.NA / NaT                        -> missing value

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

_TYPES = ("continuous", "integer", "categorical")
_FLOWS = tuple(_core.flow_kinds())  # the engine's registry (engine/flow_kinds.hpp)


def _label(v: Any) -> str:
    """The label a categorical value is modelled as."""
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, str):
        return v
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


def _infer_type(name: str, s: pd.Series) -> str:
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dt):
        return "categorical"
    if pd.api.types.is_integer_dtype(dt):
        return "integer"
    if pd.api.types.is_float_dtype(dt):
        return "continuous"
    if pd.api.types.is_string_dtype(dt) or dt == object:
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
            raise ValueError(f"column {name!r}, {_where(s, p)}: {a[p]} is not a finite number")
        if col_type == "integer":
            frac = np.flatnonzero(np.isfinite(a) & (a != np.floor(a)))
            if frac.size:
                p = int(frac[0])
                raise ValueError(f"column {name!r}, {_where(s, p)}: {a[p]!r} is not a whole "
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
            raise ValueError(f"{path}: not an EchoFlow model file")
        (hlen,) = struct.unpack("<I", head[12:16])
        return json.loads(f.read(hlen).decode("utf-8"))


class EchoFlow:
    """A normalizing flow fitted to a DataFrame.

    flow: "maf" (default, as eftrain), "realnvp", "nsf-ar" or "nsf-coupling", or a list of them
    that the layers cycle through (["nsf-coupling", "realnvp"] alternates spline and affine
    couplings); layers, hidden: flow steps and conditioner
    widths; epochs, batch_size, lr, validation_fraction, patience: training (early stopping on
    the validation NLL, best parameters restored); device: "auto" | "cpu" | "cuda" ("auto" uses
    a GPU when one is usable, else the CPU); seed: masks, weights, split,
    shuffling; threads: OpenMP threads (0 = all cores); verbose: print one line per epoch to
    stderr like `eftrain train`. activation ("relu" | "tanh"), actnorm, clamp and weight_decay
    are the eftrain config's model.activation, model.actnorm, model.clamp, train.weight_decay.

    Ctrl-C during fit() stops training at the end of the current epoch and raises
    KeyboardInterrupt; the estimator is left unfitted.
    """

    def __init__(self, flow: str = "maf", layers: int = 5, hidden: Sequence[int] = (128, 128),
                 epochs: int = 50, batch_size: int = 256, lr: float = 1e-3, device: str = "auto",
                 seed: int = 0, validation_fraction: float = 0.1, patience: int = 10,
                 threads: int = 0, verbose: bool = False, activation: str = "relu",
                 actnorm: bool = False, clamp: float = 3.0, weight_decay: float = 0.0):
        kinds = [flow] if isinstance(flow, str) else list(flow)
        if not kinds or any(not isinstance(k, str) or k not in _FLOWS for k in kinds):
            raise ValueError(f"flow must be one of {_FLOWS} or a list of them (got {flow!r})")
        self.flow = flow if isinstance(flow, str) else kinds
        self.layers = int(layers)
        self.hidden = tuple(int(h) for h in hidden)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.lr = float(lr)
        self.device = device
        self.seed = int(seed)
        self.validation_fraction = float(validation_fraction)
        self.patience = int(patience)
        self.threads = int(threads)
        self.verbose = bool(verbose)
        self.activation = activation
        self.actnorm = bool(actnorm)
        self.clamp = float(clamp)
        self.weight_decay = float(weight_decay)
        if self.layers < 1:
            raise ValueError(f"layers must be positive (got {layers})")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden must be a non-empty list of positive widths (got {hidden})")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (got {threads})")
        self._model = None
        self._meta: Optional[dict] = None

    # ------------------------------------------------------------------ properties
    def _params(self) -> dict:
        return {k: getattr(self, k) for k in (
            "flow", "layers", "hidden", "epochs", "batch_size", "lr", "device", "seed",
            "validation_fraction", "patience", "threads", "verbose", "activation", "actnorm",
            "clamp", "weight_decay")}

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
            raise ValueError("fit: duplicate column names")
        if df.shape[1] == 0:
            raise ValueError("fit: the DataFrame has no columns")
        if len(df) < 2:
            raise ValueError(f"fit: at least 2 rows are needed to train (got {len(df)})")
        if isinstance(conditional, str):
            conditional = [conditional]
        conditional = [str(c) for c in (conditional or [])]
        for c in conditional:
            if c not in names:
                raise ValueError(f"conditional column {c!r} is not a column of the DataFrame")
        overrides: Dict[str, dict] = {}
        for k, v in (columns or {}).items():
            if str(k) not in names:
                raise ValueError(f"columns: {k!r} is not a column of the DataFrame")
            o = {"type": v} if isinstance(v, str) else dict(v)
            unknown = set(o) - {"type", "min", "max", "encoder"}
            if unknown:
                raise ValueError(f"columns[{k!r}]: unknown keys {sorted(unknown)} "
                                 f"(allowed: type, min, max, encoder)")
            if "type" in o and o["type"] not in _TYPES:
                raise ValueError(f"columns[{k!r}]: type must be one of {_TYPES} (got {o['type']!r})")
            overrides[str(k)] = o

        table = _core.Table()
        table.source = "DataFrame"
        meta_cols = []
        for name, (_, s) in zip(names, df.items()):
            o = overrides.get(name, {})
            col_type = o.get("type") or _infer_type(name, s)
            kind = _dtype_kind(s)
            info = {"name": name, "type": col_type, "kind": kind, "dtype": str(s.dtype)}
            if col_type == "categorical":
                if "min" in o or "max" in o:
                    raise ValueError(f"columns[{name!r}]: bounds on a categorical column")
                codes, labels, uniques = _categorical_codes(s)
                if len(labels) == 0 and not (codes < 0).any():
                    raise ValueError(f"column {name!r}: no values")
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
                    raise ValueError(f"column {name!r}: every value is missing")
                table.add_numeric(name, col_type, a)
            meta_cols.append(info)

        col_opts = {}
        for name, o in overrides.items():
            d = {k: o[k] for k in ("min", "max", "encoder") if k in o}
            if d:
                col_opts[name] = d
        meta = {"version": 1, "columns": meta_cols}
        config = {
            "model": {"flow": self.flow, "layers": self.layers, "hidden": list(self.hidden),
                      "activation": self.activation, "actnorm": self.actnorm,
                      "clamp": self.clamp},
            "train": {"epochs": self.epochs, "batch_size": self.batch_size,
                      "learning_rate": self.lr, "weight_decay": self.weight_decay,
                      "seed": self.seed, "validation_fraction": self.validation_fraction,
                      "patience": self.patience, "threads": self.threads},
            "conditional": conditional,
            "device": self.device,
            "python": {"echoflow": _core.__version__, "params": self._params(), "meta": meta},
        }
        if col_opts:
            config["data"] = {"columns": col_opts}
        self._model = _core.Model.fit(
            table, [self.flow] if isinstance(self.flow, str) else list(self.flow), self.layers, list(self.hidden), self.activation, self.actnorm,
            self.clamp, self.epochs, self.batch_size, self.lr, self.weight_decay, self.seed,
            self.validation_fraction, self.patience, self.device, self.threads, conditional,
            col_opts, json.dumps(config), self.verbose)
        self._meta = meta
        if self.verbose:
            t = self.training_
            import sys
            print(f"echoflow: {t['epochs_run']} epochs in {t['seconds']:.1f} s"
                  f"{' (early stop)' if t['stopped_early'] else ''}; best epoch "
                  f"{t['best_epoch']} (val NLL {t['best_val_nll']:.4f})", file=sys.stderr)
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
                raise ValueError(f"column {name!r} of the model is missing from the DataFrame")
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
                raise ValueError(f"given: no column {k!r} in the model "
                                 f"(columns: {', '.join(by_name)})")
            if k not in cond:
                raise ValueError(f"given: column {k!r} was not declared conditional at fit time "
                                 f"(conditional columns: {', '.join(self._model.conditional) or 'none'})")
            info = by_name[k]
            if _is_missing_scalar(v):
                if not info["has_missing"]:
                    raise ValueError(f"given: {k}=missing, but column {k!r} had no missing "
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

    def sample(self, num_samples: int = 1, given: Optional[Mapping[str, Any]] = None,
               seed: int = 0) -> pd.DataFrame:
        """num_samples synthetic rows as a DataFrame with the training columns, order and dtypes.
        given: {column: value} fixes conditional columns (a label, a number, or None for a
        missing value); the rest are drawn from the model's conditional. Same seed, same rows."""
        self._check_fitted()
        n = int(num_samples)
        if n < 1:
            raise ValueError(f"num_samples must be positive (got {num_samples})")
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
        py = ((header.get("config") or {}).get("python") or {})
        params = dict(py.get("params") or {})
        meta = py.get("meta")
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
            m = header.get("model") or {}
            tr = (header.get("config") or {}).get("train") or {}
            params = {"flow": m.get("flow", "maf"), "layers": m.get("layers", 5),
                      "hidden": m.get("hidden", [128, 128])}
            for k, src in (("epochs", "epochs"), ("batch_size", "batch_size"),
                           ("lr", "learning_rate"), ("seed", "seed"),
                           ("validation_fraction", "validation_fraction"),
                           ("patience", "patience")):
                if k in tr:
                    params[k] = tr[k]
        else:
            # has_missing / tokens as the engine stored them.
            hcols = {c["name"]: c for c in header["columns"]}
            for c in meta["columns"]:
                if c["name"] in hcols:
                    c["has_missing"] = hcols[c["name"]]["has_missing"]
                    c["missing_token"] = hcols[c["name"]]["missing_token"]
        import inspect
        allowed = set(inspect.signature(cls.__init__).parameters) - {"self"}
        self = cls(**{k: v for k, v in params.items() if k in allowed})
        self._model = model
        self._meta = meta
        return self


def _to_series(info: dict, values: np.ndarray, labels, missing, n: int) -> pd.Series:
    """One sampled column, back in the training column's dtype."""
    kind, dtype = info["kind"], info["dtype"]
    if info["type"] != "categorical":
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
    if kind in ("int", "float") and (missing is None or not missing.any()):
        # a numeric column declared categorical
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
