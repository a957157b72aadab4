"""EchoFlow: normalizing flows for tables.

    >>> from echoflow import EchoFlow
    >>> from echoflow.demo import load_dataset
    >>> df = load_dataset("spiral")
    >>> model = EchoFlow().fit(df)
    >>> synthetic = model.sample(num_samples=10)
    >>> logp = model.log_likelihood(df)

The model is the C++ engine's (the `eftrain` tool's): MAF or RealNVP over continuous, integer
and categorical columns with missing values, exact log-likelihoods in original units, and
conditional sampling on columns declared `conditional` at fit time.
"""
import os as _os

# GNU OpenMP spins at barriers by default, which collapses throughput on shared or busy cores
# (see host/omp_env.hpp). libgomp reads this variable when it is loaded, i.e. when the
# extension below is imported; an explicit user setting is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from . import _core  # noqa: E402
from ._core import EchoFlowError  # noqa: E402
from ._model import EchoFlow  # noqa: E402

__version__ = _core.__version__
version_string = _core.version_string

__all__ = ["EchoFlow", "EchoFlowError", "__version__"]
