"""The sweep `complexa.scale` runs, validated: the network with a symbol where the swept size goes, and the sizes.

Every check of `scale`'s arguments is here, each raising `ComplexaError` that names the value and the rule, before
anything is measured.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy

from complexa._limits import scientific, show
from complexa._parse import symbol
from complexa._validate import as_expr
from complexa.errors import ComplexaError
from complexa.network import Network
from complexa.reference import _check_fits

__all__ = [
    "Sweep",
    "sweep",
    "sweep_sizes",
    "doubling",
    "check_size",
    "check_memory",
    "positive_int",
    "VARIES",
    "DEFAULT_SIZES",
    "MAX_OPERATIONS",
]

VARIES = ("width", "depth", "batch", "iterations")
"""What `scale` can sweep in a `Network` it is given (besides one of the network's own symbols)."""
DEFAULT_SIZES = (4, 8, 16, 32, 64, 128, 256)
"""The default sweep: 4 to 256, doubling."""
MAX_OPERATIONS = 10**12
"""The most operations one sweep may count, all sizes and repeats together: minutes of work, at most an hour."""

_SYMBOLS = {"width": "n", "depth": "L", "batch": "B", "iterations": "T"}


@dataclass(frozen=True)
class Sweep:
    """A network with a symbol where the swept size goes, and how to make the network at each size."""

    vary: str
    symbol: sympy.Symbol
    network: Network
    iterations: sympy.Expr
    factory: Callable[[Any], object] | None = None

    def at(self, size: int) -> tuple[Network, int]:
        """The network and the number of iterations at `size`."""
        mapping = {self.symbol: sympy.Integer(size)}
        try:
            network = self.network.xreplace(mapping)
        except ComplexaError as error:
            raise ComplexaError(f"at {self.symbol} = {size}: {error}") from None
        if self.factory is not None:
            made = self.factory(size)
            if made != network:
                raise ComplexaError(
                    f"factory({size}) = {made!r}, but factory({self.symbol}) at {self.symbol} = {size} is "
                    f"{network!r}: the factory must build the same network from a symbol as from an int"
                )
        return network, int(self.iterations.xreplace(mapping))


def positive_int(value: object, where: str) -> int:
    """`value` if it is a positive int (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ComplexaError(f"{where} = {show(value)}: must be a positive int")
    return int(value)


def _uniform(width: object, depth: object, network: Network, batch: object) -> Network:
    return Network.uniform(
        width,
        depth,
        batch=batch,
        bias=network.bias,
        activation=network.activation,
        loss=network.loss,
        optimizer=network.optimizer,
    )


def sweep(network: object, vary: object, iterations: object) -> Sweep:
    """The sweep of `network` (a `Network` or a factory) that `vary` names; see `complexa.scale` for the rules."""
    T = sympy.Integer(positive_int(iterations, "iterations"))
    if callable(network) and not isinstance(network, Network):
        return _factory_sweep(network, "n" if vary is None else vary, T)
    if not isinstance(network, Network):
        raise ComplexaError(
            f"network = {show(network)}: must be a complexa.Network, such as Network.uniform(64, 4, batch=8), or a "
            "function from a size to a Network"
        )
    own = sorted(s.name for s in network.free_symbols)
    if vary is None:
        vary = own[0] if len(own) == 1 else "width"
    if vary in VARIES:
        sym = symbol(_SYMBOLS[str(vary)])
        if vary in ("width", "depth") and not network.is_uniform:
            raise ComplexaError(
                f"vary = {show(vary)} with {network!r}: a width or depth sweep needs a uniform network, such as "
                f"Network.uniform(64, 4, batch=8); {_sweep_instead(own)}"
            )
        if vary == "width":
            swept = _uniform(sym, network.depth, network, network.batch)
        elif vary == "depth":
            swept = _uniform(network.width, sym, network, network.batch)
        elif vary == "batch":
            if network.width is not None:
                swept = _uniform(network.width, network.depth, network, sym)
            elif network.is_stack:
                swept = Network(list(network.layers), batch=sym, loss=network.loss, optimizer=network.optimizer)
            else:
                swept = Network(
                    list(network.sizes),
                    batch=sym,
                    bias=network.bias,
                    activation=network.activation,
                    loss=network.loss,
                    optimizer=network.optimizer,
                )
        else:
            if T != 1:
                raise ComplexaError(
                    f"iterations = {T} with vary = 'iterations': the sweep sets the iterations; leave iterations at 1"
                )
            swept, T = network, sym
    elif isinstance(vary, str) and vary in own:
        sym = symbol(vary)
        swept = network
    else:
        options = ", ".join(map(repr, [*VARIES, *own]))
        raise ComplexaError(f"vary = {show(vary)}: must be one of {options}")
    extra = sorted(s.name for s in swept.free_symbols - {sym})
    if extra:
        raise ComplexaError(
            f"{network!r} has symbols ({', '.join(extra)}) besides the swept {vary}: a sweep measures real networks, "
            "so give them integers"
        )
    return Sweep(str(vary), sym, swept, T)


def _sweep_instead(own: list[str]) -> str:
    """What to vary instead of the width or depth of a network that is not uniform and has the symbols `own`."""
    if len(own) == 1:  # the user has put the symbol in already: name it
        return f"to sweep {own[0]}, vary {own[0]!r} (--vary {own[0]})"
    if own:
        return f"to sweep one of its symbols ({', '.join(own)}), vary it and give the others integers"
    return "to sweep another size, put a symbol where it goes and vary that"


def _factory_sweep(factory: Callable[[Any], object], name: object, T: sympy.Expr) -> Sweep:
    sym = as_expr(name, "vary") if isinstance(name, str) else None
    if not isinstance(sym, sympy.Symbol):
        raise ComplexaError(f"vary = {show(name)}: with a factory, vary names its size, such as 'n'")
    try:
        made = factory(sym)
    except ComplexaError as error:
        raise ComplexaError(f"factory({sym}): {error}") from None
    except Exception as error:
        raise ComplexaError(
            f"factory({sym}) with {sym} a sympy symbol raised {type(error).__name__}: {error}; scale derives the "
            f"sweep's big-O from factory({sym}), so build the network from {sym} with Network or Network.uniform"
        ) from None
    if not isinstance(made, Network):
        raise ComplexaError(f"factory({sym}) = {show(made)}: a factory must return a complexa.Network")
    extra = sorted(s.name for s in made.free_symbols - {sym})
    if extra or sym not in made.free_symbols:
        raise ComplexaError(
            f"factory({sym}) = {show(made)}: the network must depend on {sym} and on no other symbol "
            f"(it has: {', '.join(sorted(s.name for s in made.free_symbols)) or 'none'})"
        )
    return Sweep(sym.name, sym, made, T, factory)


def sweep_sizes(sizes: object) -> tuple[int, ...]:
    """`sizes` checked: None for `DEFAULT_SIZES`, ``"LO..HI"`` (`doubling`), or 3 or more increasing positive ints."""
    if sizes is None:
        return DEFAULT_SIZES
    if isinstance(sizes, str):
        return doubling(sizes)
    if not isinstance(sizes, Sequence):
        raise ComplexaError(f"sizes = {show(sizes)}: must be a list of increasing ints, such as [8, 16, 32, 64]")
    checked = tuple(positive_int(s, f"sizes[{k}]") for k, s in enumerate(sizes))
    if len(checked) < 3:
        raise ComplexaError(f"sizes = {list(checked)}: a fit needs at least 3 sizes, such as [8, 16, 32, 64, 128]")
    for k in range(1, len(checked)):
        if checked[k] <= checked[k - 1]:
            raise ComplexaError(
                f"sizes = {list(checked)}: must increase strictly; sizes[{k}] = {checked[k]} follows {checked[k - 1]}"
            )
    return checked


def doubling(text: str) -> tuple[int, ...]:
    """The sweep ``"LO..HI"``: LO, 2 LO, 4 LO, ... while at most HI, and HI itself.

    >>> doubling("4..256")
    (4, 8, 16, 32, 64, 128, 256)
    >>> doubling("8..100")
    (8, 16, 32, 64, 100)
    """
    lo, dots, hi = text.partition("..")
    if not dots or not all(t.strip().isascii() and t.strip().isdigit() and len(t.strip()) < 30 for t in (lo, hi)):
        raise ComplexaError(f"sizes = {show(text)}: must be LO..HI, such as 4..256, or a list of ints")
    low, high = int(lo), int(hi)
    if low < 1 or high < 4 * low:
        raise ComplexaError(f"sizes = {show(text)}: LO..HI needs 1 <= LO and HI >= 4 LO, for at least 3 sizes doubling")
    out = [low]
    while 2 * out[-1] <= high:
        out.append(2 * out[-1])
    if out[-1] != high:
        out.append(high)
    return tuple(out)


def check_size(sizes: Sequence[int], total: sympy.Expr, symbol_: sympy.Symbol, repeats: int) -> None:
    """Refuse, before building any network, a sweep that would count more than `MAX_OPERATIONS` operations.

    `total` is the derived count of one run, a polynomial in `symbol_`; it is evaluated in exact integers.
    """
    per_size = [int(total.xreplace({symbol_: sympy.Integer(size)})) for size in sizes]
    operations = repeats * sum(per_size)
    if operations > MAX_OPERATIONS:
        raise ComplexaError(
            f"sizes up to {symbol_} = {show(sizes[-1])}: the sweep would count {scientific(operations)} operations "
            f"({scientific(per_size[-1])} at {symbol_} = {show(sizes[-1])}, {repeats} repeats), more than scale "
            f"measures ({MAX_OPERATIONS:.0e}); use smaller sizes, fewer repeats or a smaller network"
        )


def check_memory(network: Network, iterations: int) -> None:
    """Refuse, before measuring anything, the largest network of a sweep if its arrays or counters would not fit."""
    _check_fits(network, int(network.tokens), iterations)
