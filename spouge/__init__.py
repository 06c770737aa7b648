"""spouge: n!, Γ(x) and ln|Γ(x)| to any number of correct digits by Spouge's formula.

    >>> import spouge
    >>> str(spouge.factorial(100, digits=50))
    '9.3326215443944152681699238856266700490715968264382e+157'
"""

from typing import TYPE_CHECKING

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


if TYPE_CHECKING:
    __version__: str
else:  # hidden from type checkers: a module __getattr__ would type every unknown attribute (spouge._core)

    def __getattr__(name: str) -> str:
        """``__version__``: pyproject.toml's, read from the installed package's metadata on first use
        (importlib.metadata scans sys.path, ~10 ms: not a cost for every ``import spouge``)."""
        if name != "__version__":
            raise AttributeError(f"module 'spouge' has no attribute {name!r}")
        from importlib import metadata as _metadata

        try:
            version = _metadata.version("spouge")
        except _metadata.PackageNotFoundError:  # a source tree that was never installed
            version = "0+unknown"
        globals()["__version__"] = version
        return version


__all__ = [
    "MAX_BITS", "MAX_DIGITS", "MAX_INPUT_DIGITS", "MODES", "ComplexSpougeResult", "Estimate", "PoleError",
    "SpougeResult", "UndecidedError", "beta", "binomial", "estimate", "factorial", "falling", "fgamma", "gamma",
    "gamma_sign", "lgamma", "loggamma", "rgamma", "rising",
]
