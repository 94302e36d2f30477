"""Optimizers, with `torch.optim`'s update rules (no weight decay), counted as they are performed.

Per parameter element, each step:

- `SGD`, momentum 0: p -= lr g (1 mul, 1 add).
- `SGD`, momentum mu > 0: at the first step the buffer is a copy of g (nothing computed), after it
  buf = mu buf + g (1 mul, 1 add); then p -= lr buf (1 mul, 1 add).
- `Adam`: m += (1 - beta1) (g - m) (2 add, 1 mul, torch's lerp); v = beta2 v + (1 - beta2) g g (3 mul, 1 add);
  denom = sqrt(v) / sqrt(bc2) + eps (1 sqrt, 1 div, 1 add); p += -step_size m / denom (1 div, 1 mul, 1 add): 5 mul,
  5 add, 2 div, 1 sqrt. Per parameter tensor, each step, the bias corrections: beta1^t and beta2^t as running
  products (2 mul), bc1 = 1 - beta1^t and bc2 = 1 - beta2^t (2 add), step_size = lr / bc1 (1 div), sqrt(bc2)
  (1 sqrt). The constants 1 - beta1 and 1 - beta2 are computed once, when the optimizer is made, and not counted.
"""

from __future__ import annotations

import math
import numbers

from complexa._limits import show
from complexa.errors import ComplexaError
from complexa.models._layers import Value

__all__ = ["Optimizer", "SGD", "Adam", "as_optimizer"]


def _real(value: object, where: str, lo: float, hi: float, *, closed_lo: bool = True, closed_hi: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    if ok:
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:
            ok = False
        else:
            ok = math.isfinite(number) and (number >= lo if closed_lo else number > lo)
            ok = ok and (number <= hi if closed_hi else number < hi)
    if not ok:
        left, right = "[" if closed_lo else "(", "]" if closed_hi else ")"
        raise ComplexaError(f"{where} = {show(value)}: must be a real number in {left}{lo:g}, {hi:g}{right}")
    return number


class Optimizer:
    """What updates the parameters; `update` gives its counts."""

    name = ""
    uses: tuple[str, ...] = ()
    code = -1

    def update(self, elements: Value, tensors: Value, steps: Value) -> dict[str, Value]:
        """The ops of `steps` updates of `elements` parameters in `tensors` tensors."""
        raise NotImplementedError

    def state(self, elements: Value, tensors: Value) -> Value:
        """Float64 elements of the state it keeps for `elements` parameters in `tensors` tensors."""
        return 0

    def _values(self) -> tuple[object, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))


class SGD(Optimizer):
    """`torch.optim.SGD(params, lr, momentum)`, without dampening, Nesterov or weight decay.

    >>> SGD(lr=0.1, momentum=0.9)
    SGD(lr=0.1, momentum=0.9)
    """

    name, code = "sgd", 0

    def __init__(self, lr: float = 0.01, momentum: float = 0.0) -> None:
        self.lr = _real(lr, "SGD(lr)", 0.0, math.inf, closed_lo=False)
        self.momentum = _real(momentum, "SGD(momentum)", 0.0, 1.0)

    def update(self, elements: Value, tensors: Value, steps: Value) -> dict[str, Value]:
        if self.momentum == 0:
            return {"mul": steps * elements, "add": steps * elements}
        # The first step copies the gradient into the buffer; every later one also folds it in.
        return {"mul": (2 * steps - 1) * elements, "add": (2 * steps - 1) * elements}

    def state(self, elements: Value, tensors: Value) -> Value:
        return elements if self.momentum else 0  # the momentum buffer

    def _values(self) -> tuple[object, ...]:
        return (self.lr, self.momentum)

    def __repr__(self) -> str:
        extra = f", momentum={self.momentum!r}" if self.momentum else ""
        return f"SGD(lr={self.lr!r}{extra})"


class Adam(Optimizer):
    """`torch.optim.Adam(params, lr, betas, eps)`, without weight decay or AMSGrad.

    >>> Adam(lr=1e-3)
    Adam(lr=0.001)
    """

    name, code = "adam", 1
    uses = ("div", "sqrt")

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.lr = _real(lr, "Adam(lr)", 0.0, math.inf, closed_lo=False)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ComplexaError(f"Adam(betas) = {show(betas)}: must be two numbers in [0, 1), such as (0.9, 0.999)")
        self.betas = (_real(betas[0], "Adam(betas[0])", 0.0, 1.0), _real(betas[1], "Adam(betas[1])", 0.0, 1.0))
        self.eps = _real(eps, "Adam(eps)", 0.0, math.inf, closed_lo=False)

    def update(self, elements: Value, tensors: Value, steps: Value) -> dict[str, Value]:
        return {
            "mul": steps * (5 * elements + 2 * tensors),
            "add": steps * (5 * elements + 2 * tensors),
            "div": steps * (2 * elements + tensors),
            "sqrt": steps * (elements + tensors),
        }

    def state(self, elements: Value, tensors: Value) -> Value:
        return 2 * elements + 2 * tensors  # the two moments, and beta1^t and beta2^t per tensor

    def _values(self) -> tuple[object, ...]:
        return (self.lr, self.betas, self.eps)

    def __repr__(self) -> str:
        extra = "" if self.betas == (0.9, 0.999) else f", betas={self.betas!r}"
        extra += "" if self.eps == 1e-8 else f", eps={self.eps!r}"
        return f"Adam(lr={self.lr!r}{extra})"


def as_optimizer(value: object, where: str = "optimizer") -> Optimizer:
    """An `Optimizer`, or ``"sgd"`` for plain SGD (whose learning rate `measure`'s `lr` sets)."""
    if isinstance(value, Optimizer):
        return value
    if value == "sgd":
        return SGD()
    raise ComplexaError(f"{where} = {show(value)}: must be 'sgd', complexa.nn.SGD(...) or complexa.nn.Adam(...)")
