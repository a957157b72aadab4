"""EchoFlow: normalizing flows for tables.

    >>> from echoflow import EchoFlow
    >>> from echoflow.demo import load_dataset
    >>> df = load_dataset("spiral")
    >>> model = EchoFlow().fit(df)
    >>> synthetic = model.sample(num_rows=10)
    >>> logp = model.log_likelihood(df)

The model is the C++ engine's (the `eftrain` tool's): MAF or RealNVP over continuous, integer
and categorical columns with missing values, exact log-likelihoods in original units, and
conditional sampling on columns declared `conditional` at fit time.
"""
import os as _os

# GNU OpenMP's default long spin at barriers collapses throughput on shared or busy cores, never
# spinning halves it on idle ones; a short bounded spin does neither (see host/omp_env.hpp).
# libgomp reads this when it is loaded, i.e. when the extension below is imported; an explicit
# user setting (OMP_WAIT_POLICY or GOMP_SPINCOUNT) is kept.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from . import _core  # noqa: E402
from ._core import EchoFlowError  # noqa: E402
from ._model import EchoFlow, config_keys, schema  # noqa: E402
from . import demo  # noqa: E402,F401  (echoflow.demo.load_dataset after `import echoflow`)

__version__ = _core.__version__
version_string = _core.version_string

__all__ = ["EchoFlow", "EchoFlowError", "config_keys", "schema", "demo", "__version__"]
