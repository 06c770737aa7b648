"""Numerics layer: Spouge's formula, precision and rounding, the result types.  Pure: no I/O."""

from .arguments import MAX_DIGITS, MAX_INPUT_DIGITS, check_digits, parse_number, parse_real
from .cost import Estimate, estimate
from .family import beta, binomial, falling, loggamma, rgamma, rising
from .functions import MAX_BITS, Enclosure, PoleError, factorial, fgamma, gamma, gamma_sign, lgamma
from .precision import UndecidedError
from .result import ComplexSpougeResult, SpougeResult
from .rounding import MODES

__all__ = [
    "MAX_BITS", "MAX_DIGITS", "MAX_INPUT_DIGITS", "MODES", "ComplexSpougeResult", "Enclosure", "Estimate",
    "PoleError", "SpougeResult", "UndecidedError", "beta", "binomial", "check_digits", "estimate", "factorial",
    "falling", "fgamma", "gamma", "gamma_sign", "lgamma", "loggamma", "parse_number", "parse_real", "rgamma",
    "rising",
]
