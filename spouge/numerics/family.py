"""The relatives of Γ: rgamma, beta, binomial, rising, falling, and the principal-branch complex loggamma.

Owns: each function's poles, zeros and exact cases, and the log-space
combination of Spouge evaluations that gives everything else.  Same contract
as gamma: real results correctly rounded in every mode, bits= in binary.

How: a real value is V = ± exp(sum_i c_i ln|Γ(x_i)|) (beta: +a +b -(a+b);
binomial: +(n+1) -(k+1) -(n-k+1); rising: +(x+n) -(x)).  Each ln|Γ(x_i)| is
a ball from ``functions._ln_abs_gamma`` at the working precision plus the
bits for its own size, so a huge cancellation between the terms
(binomial(10^100, 3)) costs bits, never accuracy; the Ziv loop raises the
precision until the ball decides, up to the ceiling of ``precision.plan``.
Where V is rational and of moderate size (integer arguments of binomial and
beta, rising/falling with an integer n, rgamma at integers), it is computed
exactly and rounded exactly (``rounding.round_rational``): exact ties and
values on the grid are then settled, and ``result.exact`` says so.  Zeros
(rgamma at the poles, binomial(n, k) for integer k outside 0..n, ...) are
exact zeros.  No library gamma, beta, binomial or factorial is used: exact
products are our own binary splitting.
"""

from __future__ import annotations

import math
from fractions import Fraction

import gmpy2
from flint import acb, arb, ctx, fmpq

from .arguments import parse_number, parse_real
from .coefficients import product_range
from .engine import log_factorial_complex
from .functions import (
    PoleError,
    _digits_for_plan,
    _exact_text,
    _ln_abs_gamma,
    _precision_args,
    _short,
    _undecided,
    bound_text,
    enclosing,
)
from .precision import magnitude_bits, next_bits, plan
from .result import ComplexSpougeResult, SpougeResult, int_text
from .rounding import round_from_log, round_rational

#: Exact rational values are computed when their numerator and denominator stay below this many bits.
EXACT_MAX_BITS = 2_000_000


def _is_int(x: Fraction) -> bool:
    return x.denominator == 1


def _is_pole(x: Fraction) -> bool:
    return x.denominator == 1 and x <= 0


def _rising_exact(x: Fraction, n: int) -> Fraction:
    """x (x+1) ... (x+n-1) exactly for an integer n >= 0: prod (p + k q) / q^n."""
    p, q = x.numerator, x.denominator

    def prod(lo: int, hi: int) -> gmpy2.mpz:
        if hi - lo <= 16:
            acc = gmpy2.mpz(1)
            for k in range(lo, hi):
                acc *= p + k * q
            return acc
        mid = (lo + hi) // 2
        return prod(lo, mid) * prod(mid, hi)

    return Fraction(int(prod(0, n)), q**n) if n else Fraction(1)


def _rising_exact_size(x: Fraction, n: int) -> int:
    """About how many bits the exact x^(n rising) takes (numerator and denominator)."""
    size = max(abs(x.numerator).bit_length(), x.denominator.bit_length()) + abs(n).bit_length() + 1
    return abs(n) * size


def _zero(name: str, text: str, digits: int, mode: str, radix: int) -> SpougeResult:
    return SpougeResult(name, text, digits, 0, 0, 0, "0e+0", 0, radix, mode, True, None)


def _from_rational(name: str, text: str, value: Fraction, digits: int, mode: str, radix: int) -> SpougeResult:
    if value == 0:
        return _zero(name, text, digits, mode, radix)
    sign, (n, e) = round_rational(value, digits, mode, radix)
    exact = Fraction(n) * Fraction(radix) ** (e - digits + 1) == abs(value)
    return SpougeResult(name, text, digits, sign * n, e, 0, "0e+0", 0, radix, mode, exact, None)


def _log_space(name: str, text: str, digits: int, mode: str, radix: int, terms: list[tuple[Fraction, int]],
               sign: int) -> SpougeResult:
    """V = sign * exp(sum c ln|Γ(x)|) correctly rounded; no x in terms is a pole."""
    parts = tuple(x for x, _ in terms)
    p = plan("gamma", parts[:1], _digits_for_plan(digits, radix))
    extra = max(magnitude_bits(x) for x in parts) + 2
    bits = p.bits + 2 * len(terms).bit_length()
    input_bits = max(max(abs(x.numerator).bit_length(), x.denominator.bit_length()) for x in parts)
    ceiling = max(p.max_bits, 2 * bits + 2 * input_bits + 256)
    while True:
        total: arb | None = None
        a_max, bound = 0, 0.0
        for x, c in terms:
            ln_abs, _, a, log2_bound = _ln_abs_gamma(x, bits, extra)
            with ctx.workprec(bits + extra + 16):
                total = ln_abs * c if total is None else total + ln_abs * c
            a_max, bound = max(a_max, a), max(bound, log2_bound)
        assert total is not None  # terms is never empty
        with ctx.workprec(bits + extra + 16):
            decided = round_from_log(total, digits, mode, sign, radix)
        if decided is not None:
            n, e = decided
            return SpougeResult(name, text, digits, sign * n, e, a_max, bound_text(bound), bits + extra, radix, mode,
                                False, None)
        following = next_bits(bits, None, ceiling)
        if following is None:
            raise _undecided(name, text, digits, bits)
        bits = following


def _gamma_sign(x: Fraction) -> int:
    if x > 0:
        return 1
    return -1 if (x.numerator // x.denominator) % 2 else 1


@enclosing
def rgamma(x: object, digits: int = 16, *, rounding: str = "nearest", bits: int | None = None) -> SpougeResult:
    """1/Γ(x), entire: exactly 0 at x = 0, -1, -2, ...; correctly rounded elsewhere."""
    digits, mode, radix = _precision_args(digits, rounding, bits)
    value = parse_real(x)
    text = _exact_text(x)
    if _is_pole(value):
        return _zero("rgamma", text, digits, mode, radix)
    if _is_int(value) and value <= 3000:
        return _from_rational("rgamma", text, Fraction(1, int(product_range(1, int(value)))), digits, mode, radix)
    return _log_space("rgamma", text, digits, mode, radix, [(value, -1)], _gamma_sign(value))


@enclosing
def beta(a: object, b: object, digits: int = 16, *, rounding: str = "nearest", bits: int | None = None) -> SpougeResult:
    """B(a, b) = Γ(a)Γ(b)/Γ(a+b) for real a, b; the finite limits where poles cancel; PoleError where it is infinite."""
    digits, mode, radix = _precision_args(digits, rounding, bits)
    va, vb = parse_real(a, "a"), parse_real(b, "b")
    text = f"{_exact_text(a)}, {_exact_text(b)}"
    s = va + vb
    # An integer argument m >= 1 makes B rational: B(x, m) = (m-1)! / (x (x+1) ... (x+m-1)).
    for x, m in ((va, vb), (vb, va)):
        if _is_int(m) and m >= 1 and _rising_exact_size(x, int(m)) <= EXACT_MAX_BITS:
            denominator = _rising_exact(x, int(m))
            if denominator == 0:
                raise PoleError(f"beta({_short(text)}): B has a pole there (x (x+1) ... (x+m-1) = 0)")
            return _from_rational("beta", text, Fraction(int(product_range(1, int(m)))) / denominator, digits, mode,
                                  radix)
    if _is_pole(va) or _is_pole(vb):
        raise PoleError(f"beta({_short(text)}): B has a pole there (Γ of an argument is infinite)")
    if _is_pole(s):
        return _zero("beta", text, digits, mode, radix)  # 1/Γ(a+b) = 0
    sign = _gamma_sign(va) * _gamma_sign(vb) * _gamma_sign(s)
    return _log_space("beta", text, digits, mode, radix, [(va, 1), (vb, 1), (s, -1)], sign)


@enclosing
def binomial(n: object, k: object, digits: int = 16, *, rounding: str = "nearest",
             bits: int | None = None) -> SpougeResult:
    """C(n, k) = Γ(n+1)/(Γ(k+1)Γ(n-k+1)) for real n, k: exact integers where n and k are integers.

    Integer k: the polynomial n (n-1) ... (n-k+1)/k! for k >= 0 (so negative and huge n too), 0 for k < 0.
    Non-integer k: 0 where 1/Γ(k+1) or 1/Γ(n-k+1) vanishes; PoleError where Γ(n+1) is infinite.
    """
    digits, mode, radix = _precision_args(digits, rounding, bits)
    vn, vk = parse_real(n, "n"), parse_real(k, "k")
    text = f"{_exact_text(n)}, {_exact_text(k)}"
    if _is_int(vk):
        kk = int(vk)
        if kk < 0:
            if _is_int(vn) and vn < 0 and kk <= vn:  # the limit: C(n, k) = (-1)^(n-k) C(-k-1, -n-1)
                sign = -1 if (int(vn) - kk) % 2 else 1
                return _signed_binomial(-kk - 1, -int(vn) - 1, sign, text, digits, mode, radix)
            return _zero("binomial", text, digits, mode, radix)
        if _is_int(vn) and vn >= 0:
            if kk > vn:
                return _zero("binomial", text, digits, mode, radix)
            kk = min(kk, int(vn) - kk)  # C(n, k) = C(n, n-k)
        if _rising_exact_size(vn, kk) <= EXACT_MAX_BITS:
            falling = _rising_exact(vn - kk + 1, kk)  # n (n-1) ... (n-k+1)
            return _from_rational("binomial", text, falling / int(product_range(1, kk + 1)), digits, mode, radix)
        if _is_int(vn) and vn < 0:  # C(n, k) = (-1)^k C(k-n-1, k)
            sign = -1 if kk % 2 else 1
            return _signed_binomial(-vn + kk - 1, kk, sign, text, digits, mode, radix)
    if _is_pole(vn + 1):
        raise PoleError(f"binomial({_short(text)}): Γ(n+1) is infinite at a negative integer n with non-integer k")
    if _is_pole(vk + 1) or _is_pole(vn - vk + 1):
        return _zero("binomial", text, digits, mode, radix)
    terms = [(vn + 1, 1), (vk + 1, -1), (vn - vk + 1, -1)]
    sign = _gamma_sign(vn + 1) * _gamma_sign(vk + 1) * _gamma_sign(vn - vk + 1)
    return _log_space("binomial", text, digits, mode, radix, terms, sign)


def _signed_binomial(n: object, k: object, sign: int, text: str, digits: int, mode: str, radix: int) -> SpougeResult:
    """sign * C(n, k) (C(n, k) > 0) in `mode`: a negative value rounds |V| the mirrored way (-up(v) = down(-v))."""
    mirrored = {"down": "up", "up": "down"}.get(mode, mode) if sign < 0 else mode
    positive = binomial(n, k, digits if radix == 10 else 16, rounding=mirrored, bits=digits if radix == 2 else None)
    assert isinstance(positive, SpougeResult)  # a rounding mode, never "enclosure"
    return SpougeResult("binomial", text, positive.digits, sign * positive.mantissa, positive.exponent, positive.a,
                        positive.error_bound, positive.precision, positive.radix, mode, positive.exact, None)


@enclosing
def rising(x: object, n: object, digits: int = 16, *, rounding: str = "nearest",
           bits: int | None = None) -> SpougeResult:
    """The rising factorial (Pochhammer symbol) x (x+1) ... (x+n-1) = Γ(x+n)/Γ(x), for real x and n."""
    digits, mode, radix = _precision_args(digits, rounding, bits)
    vx, vn = parse_real(x, "x"), parse_real(n, "n")
    text = f"{_exact_text(x)}, {_exact_text(n)}"
    return _rising(vx, vn, "rising", text, digits, mode, radix)


@enclosing
def falling(x: object, n: object, digits: int = 16, *, rounding: str = "nearest",
            bits: int | None = None) -> SpougeResult:
    """The falling factorial x (x-1) ... (x-n+1) = Γ(x+1)/Γ(x-n+1), for real x and n."""
    digits, mode, radix = _precision_args(digits, rounding, bits)
    vx, vn = parse_real(x, "x"), parse_real(n, "n")
    text = f"{_exact_text(x)}, {_exact_text(n)}"
    return _rising(vx - vn + 1, vn, "falling", text, digits, mode, radix)


def _rising(vx: Fraction, vn: Fraction, name: str, text: str, digits: int, mode: str, radix: int) -> SpougeResult:
    if _is_int(vn):
        n = int(vn)
        if n >= 0 and _rising_exact_size(vx, n) <= EXACT_MAX_BITS:
            return _from_rational(name, text, _rising_exact(vx, n), digits, mode, radix)
        if n < 0 and _rising_exact_size(vx + n, -n) <= EXACT_MAX_BITS:  # x^(-m rising) = 1/((x-m) ... (x-1))
            below = _rising_exact(vx + n, -n)
            if below == 0:
                raise PoleError(f"{name}({_short(text)}): a pole (Γ(x+n) is infinite where Γ(x) is not)")
            return _from_rational(name, text, 1 / below, digits, mode, radix)
        if n >= 0 and _is_pole(vx) and vx + n > 0:
            return _zero(name, text, digits, mode, radix)  # the product passes through 0
    top, bottom = vx + vn, vx
    if _is_pole(bottom):
        if _is_pole(top):  # both poles: n is an integer, handled above unless huge
            raise PoleError(f"{name}({_short(text)}): too large to take the limit of two poles exactly")
        return _zero(name, text, digits, mode, radix)  # 1/Γ(x) = 0
    if _is_pole(top):
        raise PoleError(f"{name}({_short(text)}): a pole (Γ(x+n) is infinite where Γ(x) is not)")
    sign = _gamma_sign(top) * _gamma_sign(bottom)
    return _log_space(name, text, digits, mode, radix, [(top, 1), (bottom, -1)], sign)


# --- the principal branch of log Γ ---------------------------------------------------------------


def loggamma(z: object, digits: int = 16) -> ComplexSpougeResult | SpougeResult:
    """log Γ(z) on the principal branch (as mpmath.loggamma and scipy.special.loggamma define it).

    Analytic off the branch cut (-inf, 0]; equal to ln Γ(z) for real z > 0 (a real result, correctly
    rounded); on the cut, the limit from above (Im z -> 0+).  Complex results have the relative accuracy
    of gamma's complex results, taken on |log Γ(z)|.  PoleError at 0, -1, -2, ...
    """
    digits, mode, radix = _precision_args(digits, "nearest", None)
    value = parse_number(z)
    text = _exact_text(z)
    re, im = value if isinstance(value, tuple) else (value, Fraction(0))
    if im == 0 and _is_pole(re):
        raise PoleError(f"loggamma({_short(text)}): Γ has a pole at x = {_short(int_text(int(re)))}")
    if im == 0 and re > 0:
        from .functions import _lgamma_result

        return _lgamma_result(re, text, digits, mode, radix)
    return _loggamma_complex(re, im, text, digits)


def _loggamma_ball(re: Fraction, im: Fraction, bits: int, extra: int) -> tuple[acb, int, float]:
    """(log Γ(z) as an acb ball, a, log2 bound) on the principal branch, z not a pole."""
    if im < 0:  # log Γ(conj z) = conj log Γ(z); on the cut (im = 0) the limit from above
        value, a, bound = _loggamma_ball(re, -im, bits, extra)
        with ctx.workprec(bits + extra + 16):  # negation rounds to the context's precision
            return acb(value.real, -value.imag), a, bound
    work = bits + extra
    q = math.lcm(re.denominator, im.denominator)
    pr, pi = re.numerator * (q // re.denominator), im.numerator * (q // im.denominator)
    if pr >= q:  # Re z >= 1: log Γ(z) = log (z-1)!, on the branch Stirling's series picks
        lf = log_factorial_complex(pr - q, pi, q, bits, work)
        assert isinstance(lf.value, acb)  # log_factorial_complex's balls are complex
        return _principal(lf.value, re, im, work), lf.a, lf.log2_bound
    if pr >= 0:  # 0 <= Re z < 1: log Γ(z) = log Γ(z+1) - log z (the recurrence holds on the principal branch)
        lf = log_factorial_complex(pr, pi, q, bits, work)
        assert isinstance(lf.value, acb)  # log_factorial_complex's balls are complex
        with ctx.workprec(work + 16):
            upper = _principal(lf.value, re + 1, im, work)
            return upper - acb(arb(fmpq(pr, q)), arb(fmpq(pi, q))).log(), lf.a, lf.log2_bound
    # Re z < 0: Hare's reflection (Proposition 3.1; scipy's loggamma_reflection):
    # log Γ(z) = ln π + 2πi sgn(Im z) floor(Re z/2 + 1/4) - log sin(πz) - log Γ(1-z)
    one_minus = (Fraction(1) - re, -im)
    rest, a, bound = _loggamma_ball(one_minus[0], one_minus[1], bits, extra)
    turns = math.floor(re / 2 + Fraction(1, 4))
    direction = 1 if im >= 0 else -1  # on the cut: the limit from above
    nearest = (2 * pr + q) // (2 * q)
    with ctx.workprec(work + 16):
        # sin(π z) = (-1)^n sin(π (z - n)) with the real part reduced exactly, and its principal log taken
        # where the ball cannot straddle the cut: Re sin(πz) = sin(πx) cosh(πy), Im = cos(πx) sinh(πy), y >= 0.
        # Where sin(πx) < 0, log s = log(-s) + iπ sgn(Im s), with sgn(Im s) = sgn(cos πx) read off x exactly.
        sine = acb(arb(fmpq(pr - nearest * q, q)), arb(fmpq(pi, q))).sin_pi()
        if nearest % 2:
            sine = -sine
        floor_x = pr // q
        if re.denominator == 1 or floor_x % 2 == 0:  # sin(πx) >= 0: Re s >= 0, no cut nearby
            log_sine = sine.log()
        else:
            cos_nonnegative = (((2 * pr + q) // (2 * q)) % 2) == 0  # floor(x + 1/2) even
            log_sine = (-sine).log() + acb(0, arb.pi() * (1 if cos_nonnegative else -1))
        value = acb(arb.pi().log(), 2 * arb.pi() * direction * turns) - log_sine - rest
    return value, a, bound


def _floor_int(value: arb) -> int:
    """The floor of a ball that is one exact point (a midpoint, plus an exact 1/2)."""
    floor = value.floor().unique_fmpz()
    if floor is None:
        raise ArithmeticError("internal: the floor of an exact ball is not unique")
    return int(floor)


def _principal(value: acb, re: Fraction, im: Fraction, work: int) -> acb:
    """value = log Γ(w) up to a multiple of 2πi (Spouge's ln S is a principal log), w = re + i im, Re w >= 1:
    the multiple that puts it on the principal branch.

    Stirling's series with principal logs, (w - 1/2) log w - w + ln(2π)/2 + 1/(12w), is log Γ(w) on the
    principal branch within 0.01 for Re w >= 1, so the right multiple is the one within π of it.
    """
    with ctx.workprec(64 + max(0, abs(re.numerator).bit_length() - re.denominator.bit_length(),
                               abs(im.numerator).bit_length() - im.denominator.bit_length())):
        w = acb(arb(fmpq(re.numerator, re.denominator)), arb(fmpq(im.numerator, im.denominator)))
        stirling = (w - 0.5) * w.log() - w + 1 / (12 * w)
        turns = ((stirling.imag - value.imag) / (2 * arb.pi())).mid()
        k = _floor_int(turns + arb(0.5))
    if k == 0:
        return value
    with ctx.workprec(work + 16):
        return value + acb(0, 2 * arb.pi() * k)


def _loggamma_complex(re: Fraction, im: Fraction, text: str, digits: int) -> ComplexSpougeResult:
    p = plan("gamma", (re, im), digits)
    bits, extra = p.bits + 8, p.extra + 8
    while True:
        value, a, bound = _loggamma_ball(re, im, bits, extra)
        with ctx.workprec(bits + extra + 16):
            size = abs(value)
            if size.is_finite() and size > 0:
                exp10 = (size.log() / arb.const_log10()).lower().floor().unique_fmpz()
                if exp10 is not None:
                    quantum = int(exp10) - digits
                    scale = arb(10) ** -quantum if quantum <= 0 else 1 / arb(10) ** quantum
                    scaled = value * scale
                    limit = arb(0.05)
                    if scaled.real.rad() < limit and scaled.imag.rad() < limit:
                        units = [_floor_int(part.mid() + arb(0.5)) for part in (scaled.real, scaled.imag)]
                        return ComplexSpougeResult("loggamma", text, digits, units[0], units[1], quantum, a,
                                                   bound_text(bound), bits + extra)
        following = next_bits(bits, None, p.max_bits + 64)
        if following is None:
            raise _undecided("loggamma", text, digits, bits)
        bits = following


__all__ = ["beta", "binomial", "falling", "loggamma", "rgamma", "rising"]
