"""`spouge plot error|terms`: the method's pictures as PNG or SVG files (CLI layer; matplotlib is optional).

    spouge plot error X [--function gamma] [--max-a N] -o error.svg
    spouge plot terms X [--function gamma] [--a A] -o terms.png

The numbers come from numerics.method, the same ones the page draws.
"""

from __future__ import annotations

import os
import sys

from .numerics import method

MISSING = "plotting needs matplotlib: pip install 'spouge[plot]'"


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="draw the method: error against a, or the terms' sizes",
                       description="Draw Spouge's relative error against a (with the bound), "
                                   "or the size and sign of each term c_k/(z+k).")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, text in (("error", "relative error of Spouge's formula at x against a, with Spouge's bound"),
                       ("terms", "size and sign of each term c_k/(z+k): the cancellation")):
        k = kinds.add_parser(kind, help=text, description=text)
        k.add_argument("x", help="a real x >= 0 (the picture is at the z where the engine applies the formula)")
        k.add_argument("--function", default="gamma", choices=["factorial", "gamma", "lgamma"])
        if kind == "error":
            k.add_argument("--max-a", type=int, default=40, help=f"largest a (3..{method.MAX_A}; default 40)")
        else:
            k.add_argument("--a", type=int, default=20, help=f"Spouge's a (3..{method.MAX_A}; default 20)")
        k.add_argument("-o", "--output", required=True, help="output file: .png or .svg")
    p.set_defaults(run=run)


def run(args) -> int:
    extension = os.path.splitext(args.output)[1].lower()
    if extension not in (".png", ".svg"):
        print(f"spouge: error: --output must end in .png or .svg, not {args.output!r}", file=sys.stderr)
        return 2
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"spouge: error: {MISSING}", file=sys.stderr)
        return 2
    curve: list[method.ErrorPoint] = []
    terms: list[method.Term] = []
    try:
        z = method.factorial_argument(args.function, args.x)
        if args.kind == "error":
            curve = method.error_curve(z, args.max_a)
        else:
            terms = method.terms(z, args.a)
    except (TypeError, ValueError) as exc:
        print(f"spouge: error: {exc}", file=sys.stderr)
        return 2
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    if args.kind == "error":
        a = [p["a"] for p in curve]
        ax.semilogy(a, [10 ** p["log10_bound"] for p in curve], color="0.55",
                    label="Spouge's bound $a^{-1/2}(2\\pi)^{-a-1/2}$")
        measured = [(p["a"], 10**error) for p in curve if (error := p["log10_error"]) is not None]
        ax.semilogy([m[0] for m in measured], [m[1] for m in measured], "o", ms=3.5, color="#2457c5",
                    label="measured relative error")
        ax.set_xlabel("a")
        ax.set_ylabel("relative error")
        ax.set_title(f"Spouge's formula at z = {z}")
        ax.legend()
    else:
        bars = [(t["k"], size, t["sign"]) for t in terms if t["k"] != "sum" and (size := t["log10_abs"]) is not None]
        ax.bar([k for k, _, _ in bars], [size for _, size, _ in bars],
               color=["#2457c5" if sign > 0 else "#c0392b" for _, _, sign in bars])
        total = terms[-1]["log10_abs"]
        if total is not None:  # None: the sum is below what is resolved
            ax.axhline(total, color="black", linestyle="--", label=f"log10 |sum| = {total:.2f}")
        ax.set_xlabel("k (blue: positive, red: negative)")
        ax.set_ylabel("log10 |c_k / (z+k)|")
        ax.set_title(f"Terms of Spouge's sum at z = {z}, a = {args.a}")
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output)
    plt.close(fig)
    print(args.output)
    return 0
