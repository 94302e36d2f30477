"""The exact model: every scalar operation a dense network performs in one training step (docs/counting.md).

For a batch of B samples and layers k = 1..L, with b = 1 when the layers have biases and g = 1 unless the activation
is the identity (which has nothing to evaluate and a derivative of 1 to multiply by):

- forward: z = W a + b, a = g(z). A dot product of length m is m mul and m - 1 add; the bias 1 add; g 1 act per unit.
- error: the output delta (a_L - y) * g'(z_L) is 1 add, 1 mul and 1 act_grad per output unit (``bce``: a_L - y,
  1 add); a hidden delta (W^T delta) * g'(z_k), k = L-1..1, is the dot products, then 1 mul and 1 act_grad per unit.
- gradients: the weight gradient sums delta_k a_{k-1}^T over the batch (B mul, B - 1 add per weight), the bias
  gradient sums delta_k (B - 1 add per bias).
- update: W -= lr * grad, 1 mul and 1 add per parameter.
"""

from __future__ import annotations

from complexa.models._layers import Layers, Value

__all__ = ["OPS", "PHASES", "SECTIONS", "sections", "parameters"]

OPS = ("mul", "add", "act", "act_grad")
"""The operations counted: multiplications, additions (subtractions included), activations and their derivatives."""
PHASES = ("forward", "backward", "update")
"""The phases of a training step; ``backward`` is the ``error`` and ``gradients`` sections together."""
SECTIONS = ("forward", "error", "gradients", "update")
"""The finer split that the essay's quantities need."""


def parameters(layers: Layers, *, bias: bool) -> Value:
    """The number of weights and biases: sum over k of n_k n_{k-1} (+ n_k)."""
    n, b = layers.n, int(bias)
    return layers.total(1, 0, lambda k: n(k) * (n(k - 1) + b))


def sections(layers: Layers, batch: Value, *, bias: bool, activation: str, loss: str) -> dict[str, dict[str, Value]]:
    """Operation counts of one training step, by section and operation.

    **Arguments:**

    - `layers`: the sizes (concrete, uniform or general).
    - `batch`: B.
    - `bias`, `activation`, `loss`: as in `Network`.

    **Returns:** section -> op -> count, sections as in `SECTIONS`, ops as in `OPS`.
    """
    n, L, B = layers.n, layers.depth, batch
    b = int(bias)
    g = int(activation != "identity")
    # With sigmoid outputs, binary cross-entropy's delta is a_L - y: no g'(z_L) to evaluate or multiply by.
    out = g if loss == "mse" else 0
    weights = layers.total(1, 0, lambda k: n(k) * n(k - 1))
    params = parameters(layers, bias=bias)
    units = layers.total(1, 0, lambda k: n(k))
    hidden = layers.total(1, -1, lambda k: n(k))
    back_products = layers.total(1, -1, lambda k: n(k) * n(k + 1))
    forward = {
        "mul": B * weights,
        "add": B * layers.total(1, 0, lambda k: n(k) * (n(k - 1) - 1 + b)),
        "act": g * B * units,
        "act_grad": 0,
    }
    error = {
        "mul": B * (out * n(L) + back_products + g * hidden),
        "add": B * (n(L) + layers.total(1, -1, lambda k: n(k) * (n(k + 1) - 1))),
        "act": 0,
        "act_grad": B * (out * n(L) + g * hidden),
    }
    gradients = {"mul": B * weights, "add": (B - 1) * params, "act": 0, "act_grad": 0}
    update = {"mul": params, "add": params, "act": 0, "act_grad": 0}
    return {"forward": forward, "error": error, "gradients": gradients, "update": update}
