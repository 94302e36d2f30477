"""What the runtime's nodes share: parameter tensors in the flat arrays, the backend interface and `Node`, the
interface every kind's node implements (beside its kernels, in `complexa.reference.kinds`).

numpy only: `measure` plans and sizes a network with it before any kernel is imported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from numpy.typing import NDArray

__all__ = ["Tensor", "Tensors", "Backend", "Node", "Build", "new_tensor", "tied_to", "view"]


@dataclass(frozen=True)
class Tensor:
    """One parameter tensor: its ``state_dict()`` name, its shape, and where it sits in the flat arrays."""

    name: str
    shape: tuple[int, ...]
    offset: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Backend:
    """Where the arrays live and which kernels run: `CpuBackend`, or `complexa.reference._cuda.CudaBackend`."""

    kernels: Any

    def empty(self, shape: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def device(self, array: NDArray[Any]) -> Any:
        """`array` where the kernels read it."""
        raise NotImplementedError

    def host(self, array: Any) -> NDArray[Any]:
        """A numpy copy of `array`."""
        raise NotImplementedError

    def copy(self, into: Any, source: Any) -> None:
        raise NotImplementedError

    def counts(self) -> Any:
        """A zeroed (phases, ops) int64 counts array where the kernels add to it."""
        raise NotImplementedError

    def synchronize(self) -> None:
        """Wait until every kernel launched has finished."""


class Tensors(list[Tensor]):
    """The parameter tensors in the order `new_tensor` lays them out, and `ties`: the ``state_dict()`` names of
    tensors that are another's (``lm_head.weight`` -> ``transformer.wte.weight``), stored once, under the owner."""

    def __init__(self, ties: dict[str, str] | None = None) -> None:
        super().__init__()
        self.ties = dict(ties or {})


def new_tensor(tensors: list[Tensor], name: str, shape: tuple[int, ...]) -> Tensor:
    """A tensor after the last of `tensors`, appended to them; for a name tied to another's, that tensor."""
    owner = getattr(tensors, "ties", {}).get(name)
    if owner is not None:
        tensor = next(t for t in tensors if t.name == owner)
        assert tensor.shape == shape, f"{name} {shape} is tied to {owner} {tensor.shape}"
        return tensor
    offset = tensors[-1].offset + tensors[-1].size if tensors else 0
    tensor = Tensor(name, shape, offset)
    tensors.append(tensor)
    return tensor


def tied_to(tensors: list[Tensor], name: str) -> bool:
    """Whether another tensor is tied to the one named `name` (so its gradient is written before this one's)."""
    return name in getattr(tensors, "ties", {}).values()


def view(flat: Any, tensor: Tensor | None) -> Any:
    """`tensor`'s elements of the flat array `flat`, shaped; an empty array for no tensor."""
    if tensor is None:
        return flat[0:0]  # an empty array of the right type: the kernels never read it
    return flat[tensor.offset : tensor.offset + tensor.size].reshape(tensor.shape)


class Node:
    """One layer as it trains. `forward` takes the input buffer and returns its output buffer; `backward` takes the
    gradient with respect to its output and returns the one with respect to its input (None when not computed)."""

    def __init__(self, path: str, width: int, input_grad: bool) -> None:
        self.path = path
        self.width = width
        self.input_grad = input_grad

    kept: dict[str, list[Any]]
    """The buffers `allocate` made, by kind (``activations``, ``deltas``, ``scratch``; None where not needed):
    `Trainer.allocated` adds up their sizes."""

    def allocate(self, backend: Backend, batch: int, params: Any, grads: Any) -> None:
        raise NotImplementedError

    def elements(self, batch: int) -> tuple[int, int]:
        """Float64 elements of its (activations, deltas) buffers."""
        raise NotImplementedError

    def forward(self, x: Any, counts: Any) -> Any:
        raise NotImplementedError

    def backward(self, dy: Any, counts: Any) -> Any:
        raise NotImplementedError

    def output(self) -> Any:
        raise NotImplementedError

    def scratch(self) -> int:
        """Float64 elements of scratch space it keeps (no part of what `complexa.memory` models)."""
        return 0


Build = Callable[[str, Any], Node]
"""Makes the node of a layer given its path; a kind whose layer holds layers (`Residual`) calls it for each."""
