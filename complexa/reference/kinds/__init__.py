"""The kernels of every kind, one module per kind, each built counting (`COUNTING`) and plain (`PLAIN`).

`complexa.reference._runtime` calls them by kind through a `Backend`; the CUDA ones live beside them, in the
``*_cuda`` modules, imported only for ``backend="cuda"``.
"""

from __future__ import annotations

from typing import NamedTuple

from complexa.reference.kinds import activation, layernorm, linear, loss, optim, residual
from complexa.reference.kinds._jit import cached

__all__ = ["Kernels", "COUNTING", "PLAIN", "CACHED"]


class Kernels(NamedTuple):
    linear: linear.Kernels
    activation: activation.Kernels
    layernorm: layernorm.Kernels
    residual: residual.Kernels
    loss: loss.Kernels
    optim: optim.Kernels


def _make(count: bool) -> Kernels:
    return Kernels(
        linear.make(count),
        activation.make(count),
        layernorm.make(count),
        residual.make(count),
        loss.make(count),
        optim.make(count),
    )


COUNTING = _make(True)
"""The kernels `measure` runs: they do the arithmetic and count it."""
PLAIN = _make(False)
"""The same kernels with counting compiled out; only the benchmark runs them."""
CACHED = cached(COUNTING.linear.forward)
"""Whether the kernels are cached on disk in this process (False after the fallback to plain `njit`)."""
