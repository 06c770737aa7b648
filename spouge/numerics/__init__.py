"""Numerics layer: Spouge's formula, precision and rounding, the result types.  Pure: no I/O."""

from .arguments import MAX_DIGITS, MAX_INPUT_DIGITS, check_digits, parse_number, parse_real
from .cost import Estimate, estimate
from .family import beta, binomial, falling, loggamma, rgamma, rising
from .functions import Enclosure, MAX_BITS, PoleError, factorial, fgamma, gamma, gamma_sign, lgamma
from .precision import UndecidedError
from .result import ComplexSpougeResult, SpougeResult
from .rounding import MODES

__all__ = [
    "MAX_DIGITS", "MAX_INPUT_DIGITS", "ComplexSpougeResult", "Estimate", "PoleError", "SpougeResult",
    "UndecidedError", "check_digits", "estimate", "factorial", "gamma", "lgamma", "parse_number", "parse_real",
    "Enclosure", "MAX_BITS", "MODES", "fgamma", "gamma_sign", "beta", "binomial", "falling", "loggamma", "rgamma", "rising",
]
