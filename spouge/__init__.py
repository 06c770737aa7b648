"""spouge: n!, Γ(x) and ln|Γ(x)| to any number of correct digits by Spouge's formula.

    >>> import spouge
    >>> str(spouge.factorial(100, digits=50))
    '9.3326215443944152681699238856266700490715968264382e+157'
"""

from importlib import metadata as _metadata

from . import tablecache
from .numerics import (
    MAX_BITS,
    MAX_DIGITS,
    MAX_INPUT_DIGITS,
    MODES,
    ComplexSpougeResult,
    Estimate,
    PoleError,
    SpougeResult,
    UndecidedError,
    beta,
    binomial,
    estimate,
    factorial,
    falling,
    fgamma,
    gamma,
    gamma_sign,
    lgamma,
    loggamma,
    rgamma,
    rising,
)

tablecache.install()  # coefficient tables: disk cache and parallel generation (spouge/tablecache.py)

try:  # one version: pyproject.toml's, read back from the installed package's metadata
    __version__ = _metadata.version("spouge")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
__all__ = [
    "MAX_BITS", "MAX_DIGITS", "MAX_INPUT_DIGITS", "MODES", "ComplexSpougeResult", "Estimate", "PoleError",
    "SpougeResult", "UndecidedError", "beta", "binomial", "estimate", "factorial", "falling", "fgamma", "gamma",
    "gamma_sign", "lgamma", "loggamma", "rgamma", "rising",
]
