"""The PyPI peer `echoflow==0.0.2` (the 2020 seed library), never this repository's package.

Both are imported as `echoflow`. The peer scripts run in bench/peers/.venv, which holds only the
PyPI 0.0.2 distribution (bench/peers/setup_venv.sh checks it); this repository's Python package
is built and tested in its own venv (build-py/venv, tests/python/run.sh) and never installed
there. `load()` makes the choice explicit: it imports `echoflow`, then refuses anything that is
not the 0.0.2 peer (this package has `echoflow._core` and version 0.2.x), naming the file found.
"""
import glob
import importlib
import importlib.metadata
import os

PEER_VERSION = "0.0.2"


def check(mod):
    """Raises SystemExit unless mod is the PyPI echoflow 0.0.2 peer."""
    where = getattr(mod, "__file__", "?")
    try:
        dist = importlib.metadata.version("echoflow")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    ours = hasattr(mod, "_core") or bool(glob.glob(os.path.join(os.path.dirname(where), "_core*")))
    if ours or dist != PEER_VERSION or not hasattr(mod, "EchoFlow"):
        raise SystemExit(
            f"peer echoflow: expected the PyPI echoflow=={PEER_VERSION} (class EchoFlow), found "
            f"{where} (distribution {dist}{', this repository' + chr(39) + 's package' if ours else ''}); "
            "run the peer scripts with bench/peers/.venv/bin/python (bash bench/peers/setup_venv.sh)")
    return mod


def load():
    """The peer's EchoFlow class."""
    try:
        mod = importlib.import_module("echoflow")
    except ImportError as e:
        raise SystemExit(f"peer echoflow: {e}; run the peer scripts with bench/peers/.venv/bin/python "
                         "(bash bench/peers/setup_venv.sh)")
    return check(mod).EchoFlow
