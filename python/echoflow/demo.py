"""Demo data sets. `load_dataset("spiral")` is the table examples/make_spiral.cpp writes: two
continuous columns (x, y) tracing a two-turn spiral with Gaussian noise (sd 0.25). Same formula;
numpy's generator instead of std::mt19937_64, so the points are not bit-identical."""
import numpy as np
import pandas as pd

__all__ = ["load_dataset"]


def _spiral(num_samples: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # Angle uniform in arc length-ish: sqrt spreads points evenly along the arms.
    t = np.sqrt(rng.uniform(0.0, 1.0, num_samples)) * 4.0 * np.pi
    r = t / (4.0 * np.pi) * 10.0
    x = r * np.cos(t) + 0.25 * rng.standard_normal(num_samples)
    y = r * np.sin(t) + 0.25 * rng.standard_normal(num_samples)
    return pd.DataFrame({"x": x, "y": y})


_DATASETS = {"spiral": _spiral}


def load_dataset(name: str, num_samples: int = 4000, seed: int = 0) -> pd.DataFrame:
    """A demo table by name ("spiral"): num_samples rows, reproducible from seed."""
    if name not in _DATASETS:
        raise ValueError(f"unknown dataset {name!r} (available: {', '.join(sorted(_DATASETS))})")
    if int(num_samples) <= 0:
        raise ValueError(f"num_samples must be positive (got {num_samples})")
    return _DATASETS[name](int(num_samples), int(seed))
