"""Fits of the exact GELU's erf for complexa/reference/kinds/activation.py (run: python tools/erf_fit.py).

Chebyshev interpolants (mpmath.chebyfit, near-minimax) at 50 digits, in monomial form, rounded to doubles:
- A: erf(x) / x - 1 as a polynomial in u = x^2, for |x| < 0.84375;
- B1, B2: erfc(x) exp(x^2) (x + 4) as polynomials in t = w - m, w = 1 / (x + 4), for x in [0.84375, 2] and [2, 6].
Prints each fit's relative error in exact arithmetic (A's is relative to erf(x) / x - 1, which crosses 0), then its
error evaluated in doubles (Horner, one rounding per step, as the kernel's fma) and the condition of that sum, for the
number of coefficients used and its neighbours; then the coefficients used, highest degree first
(tests/test_activation_kernels.py checks that activation.py holds these).
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath as mp

DIGITS = 50
C = 4


def erfcx_scaled(w: mp.mpf) -> mp.mpf:
    x = 1 / w - C
    return mp.exp(x * x) * mp.erfc(x) / w


def erf_ratio(u: mp.mpf) -> mp.mpf:
    if u == 0:
        return 2 / mp.sqrt(mp.pi) - 1
    r = mp.sqrt(u)
    return mp.erf(r) / r - 1


def fit(
    f: Callable[[mp.mpf], mp.mpf],
    lo: mp.mpf,
    hi: mp.mpf,
    m: mp.mpf,
    n: int,
    xs: list[float],
    var: Callable[[float], float],
) -> tuple[list[float], float, float, float]:
    """`n` coefficients of f(t + m) on [lo - m, hi - m], and, over the points `var(x)` for x in `xs`, the fit's
    relative error, its error evaluated in doubles, and the condition of the sum."""
    coeffs, _ = mp.chebyfit(lambda t: f(t + m), [lo - m, hi - m], n, error=True)
    cd = [float(c) for c in coeffs]
    exact = evaluated = cond = 0.0
    for x in xs:
        v = var(x)
        t = v - float(m)
        p = 0.0
        for c in cd:
            p = float(mp.mpf(p) * t + c)
        truth = f(mp.mpf(v))
        exact = max(exact, float(abs(mp.polyval(coeffs, mp.mpf(t)) - truth) / abs(truth)))
        evaluated = max(evaluated, float(abs(mp.mpf(p) - truth) / abs(truth)))
        terms = sum(abs(mp.mpf(c) * mp.mpf(t) ** (len(cd) - 1 - j)) for j, c in enumerate(cd))
        cond = max(cond, float(terms / abs(truth)))
    return cd, exact, evaluated, cond


def main() -> None:
    with mp.workdps(DIGITS):
        _report()


def _report() -> None:
    T = 0.84375
    xs_a = [T * i / 400 for i in range(400)]
    _, e, ev, cond = fit(erf_ratio, mp.mpf(0), mp.mpf(T) ** 2, mp.mpf(0), 11, xs_a, lambda x: x * x)
    print("A", 11, e, ev, cond)
    for name, (a, b, m, n) in {"B1": (T, 2.5, 0.1875, 13), "B2": (2.5, 6.0, 0.125, 13)}.items():
        xs = [a + (b - a) * i / 400 for i in range(401)]
        lo, hi = 1 / mp.mpf(b + C), 1 / mp.mpf(a + C)
        for k in (n - 1, n, n + 1):
            _, e, ev, cond = fit(erfcx_scaled, lo, hi, mp.mpf(m), k, xs, lambda x: float(1 / (mp.mpf(x) + C)))
            print(name, k, e, ev, cond)


def coefficients() -> dict[str, tuple[float, ...]]:
    """The tuples activation.py holds, highest degree first."""
    with mp.workdps(DIGITS):
        return _coefficients()


def _coefficients() -> dict[str, tuple[float, ...]]:
    T = 0.84375
    out = {"A": fit(erf_ratio, mp.mpf(0), mp.mpf(T) ** 2, mp.mpf(0), 11, [0.5], lambda x: x * x)[0]}
    for name, (a, b, m) in {"B1": (T, 2.5, 0.1875), "B2": (2.5, 6.0, 0.125)}.items():
        lo, hi = 1 / mp.mpf(b + C), 1 / mp.mpf(a + C)
        out[name] = fit(erfcx_scaled, lo, hi, mp.mpf(m), 13, [a], lambda x: float(1 / (mp.mpf(x) + C)))[0]
    return {k: tuple(v) for k, v in out.items()}


if __name__ == "__main__":
    main()
    for name, values in coefficients().items():
        print(f"{name} = {values!r}")
