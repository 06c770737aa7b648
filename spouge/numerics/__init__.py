"""Numerics layer: Spouge's formula, precision and rounding, the result types.  Pure: no I/O."""

from .arguments import MAX_DIGITS, check_digits, parse_number, parse_real
from .functions import PoleError, factorial, gamma, lgamma
from .result import ComplexSpougeResult, SpougeResult

__all__ = [
    "MAX_DIGITS", "ComplexSpougeResult", "PoleError", "SpougeResult", "check_digits",
    "factorial", "gamma", "lgamma", "parse_number", "parse_real",
]
