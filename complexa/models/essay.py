"""The essay model: "Computational Complexity Of Neural Networks", reproduced faithfully, errors included.

The essay counts one input vector (its x in R^n), with n^{(k)} neurons in layer k, the bias unit included:

- n_mul = sum_{k=2}^{L} n^{(k)} n^{(k-1)} n^{(k-2)} + n^{(1)} n^{(0)} 1, from its matrix-shaped activations
  a^{(k)} in R^{n^{(k)} x n^{(k-1)}};
- n_g = sum_{k=1}^{L} n^{(k)}, and time = n_mul + n_g;
- for n neurons in every layer only: time_error = n^2 + n^4 (L - 1), time_weights = time_error + n^3 and
  time_gradient_descent = iterations * time_weights. The essay gives no backpropagation formula for layers of
  different sizes, and complexa does not invent one: for such a network those three quantities are absent and the
  derivation's notes say why.
"""

from __future__ import annotations

import sympy

from complexa._parse import symbol
from complexa.models._layers import Layers, Value

__all__ = ["forward", "backward", "STATED", "CLAIMED_ORDER"]


def forward(layers: Layers) -> dict[str, Value]:
    """The essay's n_mul, n_g and time (= n_mul + n_g) for any sizes."""
    n = layers.n
    n_mul = layers.total(2, 0, lambda k: n(k) * n(k - 1) * n(k - 2)) + n(1) * n(0)
    n_g = layers.total(1, 0, lambda k: n(k))
    return {"n_mul": n_mul, "n_g": n_g, "time_forward": n_mul + n_g}


def backward(width: Value, depth: Value, iterations: Value) -> dict[str, Value]:
    """The essay's backpropagation results for `width` neurons in each of `depth` + 1 layers."""
    time_error = width**2 + width**4 * (depth - 1)
    time_weights = time_error + width**3
    return {
        "time_error": time_error,
        "time_weights": time_weights,
        "time_gradient_descent": iterations * time_weights,
    }


N = symbol("n")
"""The essay's n: neurons per layer, in `STATED` and `CLAIMED_ORDER`."""
L = symbol("L")
"""The essay's n_layers, in `STATED`."""

STATED: dict[str, tuple[sympy.Expr, str]] = {
    "n_mul": (L * N**3, "as the essay writes it for square matrices, n_layers n^3"),
    "n_g": (L * N, "as the essay writes it, n_layers n"),
}
"""Forms the essay states for n neurons in each of L layers, in the symbols n and L, where they differ from its sums."""

CLAIMED_ORDER: dict[str, sympy.Expr] = {
    "n_mul": N**4,
    "n_g": N**2,
    "time_forward": N**4,
    "time_error": N**5,
    "time_weights": N**5,
    "time_gradient_descent": N**6,
}
"""The big-O the essay claims for each quantity, with n neurons per layer, n layers and n iterations."""
