"""Hypothesis strategies for complexa's objects, for property tests in your own suite.

hypothesis is a test dependency only (the ``test`` extra), so ``import complexa`` does not import this module; import
it explicitly: ``from complexa.strategies import networks``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from hypothesis import strategies as st

from complexa._limits import show
from complexa.errors import ComplexaError
from complexa.network import ACTIVATIONS, LOSSES, Network

__all__ = ["networks", "sizes"]


def sizes(*, max_layers: int = 4, max_width: int = 8) -> st.SearchStrategy[list[int]]:
    """Layer sizes [n_0, ..., n_L] with 1 <= L <= `max_layers` and every n_k in 1..`max_width`.

    Shrinks towards fewer and narrower layers.

    **Arguments:**

    - `max_layers`: the most layers of weights, L; a positive int.
    - `max_width`: the largest layer, input and output included; a positive int.

    **Returns:** a strategy for lists of ints.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(sizes(max_layers=2, max_width=3))
    ... def test_bounds(drawn):
    ...     assert 2 <= len(drawn) <= 3 and all(1 <= n <= 3 for n in drawn)
    >>> test_bounds()
    """
    max_layers = _positive_int(max_layers, "max_layers")
    max_width = _positive_int(max_width, "max_width")
    return st.lists(st.integers(1, max_width), min_size=2, max_size=max_layers + 1)


def networks(
    *,
    max_layers: int = 4,
    max_width: int = 8,
    max_batch: int = 33,
    activations: Sequence[str] = ACTIVATIONS,
    losses: Sequence[str] = LOSSES,
    bias: bool | None = None,
) -> st.SearchStrategy[Network]:
    """Concrete `Network`s: integer sizes and batch, and an activation, loss and bias drawn from those allowed.

    Only valid networks are drawn: ``bce`` comes only with ``sigmoid``. Shrinks towards fewer, narrower layers and a
    batch of 1.

    **Arguments:**

    - `max_layers`, `max_width`: as for `sizes`.
    - `max_batch`: the largest batch, B; a positive int. The default, 33, reaches every path of the reference
      kernels: they take four samples at a time (the forward pass from sample 0, the gradient sums from sample 1)
      and the samples left over one at a time, so batches 1..33 give every remainder 0..3 after none, one and up to
      eight groups of four.
    - `activations`: those to draw from, a non-empty subset of `complexa.network.ACTIVATIONS`.
    - `losses`: those to draw from, a non-empty subset of `complexa.network.LOSSES`.
    - `bias`: True or False to fix it; None draws both.

    **Returns:** a strategy for `Network`.

    **Raises:** `ComplexaError` for a bad argument, or when `activations` and `losses` admit no valid pair (``bce``
    without ``sigmoid``).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(networks(max_layers=2, activations=["relu", "tanh"], losses=["mse"], bias=False))
    ... def test_options(network):
    ...     assert network.loss == "mse" and not network.bias and network.is_concrete
    ...     assert 1 <= network.batch <= 33
    >>> test_options()
    """
    size_lists = sizes(max_layers=max_layers, max_width=max_width)
    max_batch = _positive_int(max_batch, "max_batch")
    chosen_activations = _subset(activations, ACTIVATIONS, "activations")
    chosen_losses = _subset(losses, LOSSES, "losses")
    pairs = [(a, loss) for a in chosen_activations for loss in chosen_losses if loss != "bce" or a == "sigmoid"]
    if not pairs:
        raise ComplexaError(
            f"activations = {list(chosen_activations)!r} with losses = {list(chosen_losses)!r}: no valid pair, "
            f"since 'bce' needs 'sigmoid'; add 'sigmoid' to activations or 'mse' to losses"
        )
    if bias is not None and not isinstance(bias, bool):
        raise ComplexaError(f"bias = {show(bias)}: must be True, False, or None for both")
    biases = st.just(bias) if bias is not None else st.booleans()
    return st.builds(
        lambda drawn, batch, pair, with_bias: Network(
            drawn, batch=batch, bias=with_bias, activation=pair[0], loss=pair[1]
        ),
        size_lists,
        st.integers(1, max_batch),
        st.sampled_from(pairs),
        biases,
    )


def _positive_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ComplexaError(f"{where} = {show(value)}: must be a positive int")
    return int(value)


def _subset(values: object, allowed: tuple[str, ...], where: str) -> tuple[str, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ComplexaError(f"{where} = {show(values)}: must be a non-empty list drawn from {list(allowed)!r}")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ComplexaError(f"{where} = {show(list(values))}: {unknown[0]!r} is not one of {list(allowed)!r}")
    return tuple(dict.fromkeys(values))
