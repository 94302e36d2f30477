"""The CUDA backend: `CudaBackend` keeps the arrays on the device and runs the ``kinds/*_cuda`` kernels.

`complexa.reference._runtime` drives it as it drives the CPU's: `CudaBackend.kernels` has the structure, names and
arguments of `complexa.reference.kinds.COUNTING`, each a host function that launches CUDA kernels doing the same
arithmetic, element by element in the same order, as the CPU kernel it stands for.

Each thread counts what it does in local variables and adds them, once, to the global (phases, ops) int64 counts
with `cuda.atomic.add`, so the totals are right whatever the scheduling; the simulator runs threads one at a time and
would hide a race that plain ``+=`` has on a GPU. For the same reason no two threads ever write one element. Kernels
use grid-stride loops over a modest grid (smaller still under the simulator, where every thread is a Python thread),
so any size runs on any grid.

Importing this module imports numba.cuda; `complexa.reference.measure` does so only for ``backend="cuda"``.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import numpy as np
from numba import config, cuda
from numpy.typing import NDArray

from complexa.errors import ComplexaError
from complexa.reference._runtime import Backend

__all__ = ["require_device", "CudaBackend", "launch", "SIMULATOR", "THREADS", "MAX_BLOCKS"]

SIMULATOR = bool(getattr(config, "ENABLE_CUDASIM", False))
"""Whether numba.cuda is its simulator (``NUMBA_ENABLE_CUDASIM=1`` when numba was imported)."""
THREADS = 8 if SIMULATOR else 128
"""Threads per block."""
MAX_BLOCKS = 2 if SIMULATOR else 1024
"""Blocks at most per launch; grid-stride loops cover the rest."""


def require_device(nbytes: int) -> None:
    """Raise `ComplexaError` unless a CUDA GPU (with `nbytes` free) or the simulator is there; say how to get one."""
    if SIMULATOR:
        return
    if cuda.is_available():
        free = int(cuda.current_context().get_memory_info()[0])
        if nbytes > free:
            raise ComplexaError(
                f"backend = 'cuda': the network's arrays need about {nbytes:,} bytes on the device, and only "
                f"{free:,} bytes are free there; use smaller sizes or a smaller batch, or backend = 'cpu'"
            )
        return
    raise ComplexaError(
        "backend = 'cuda': numba finds no CUDA GPU. Install the cuda extra (pip install '.[cuda]' in a clone, or "
        "pip install 'complexa[cuda]'; it installs NVIDIA's numba-cuda) on a machine with an NVIDIA GPU and driver, "
        "or set NUMBA_ENABLE_CUDASIM=1 before Python starts to run the kernels in numba's CUDA simulator"
    )


def _blocks(work: int) -> int:
    return max(1, min(MAX_BLOCKS, -(-work // THREADS)))


def launch(kernel: Any, work: int, *args: Any) -> None:
    """Launch `kernel` on enough blocks of `THREADS` for `work` items (its grid-stride loop covers any more)."""
    with warnings.catch_warnings():
        # Small networks launch small grids on purpose; numba's under-utilisation warning is not for them. Matched by
        # its text: numba-cuda raises a NumbaPerformanceWarning of its own, not numba's.
        warnings.filterwarnings("ignore", message=r".*GPU under-utilization")
        try:
            kernel[_blocks(work), THREADS](*args)
        except AttributeError as error:
            # numba-cuda 0.30.4 (the newest on 2026-12-04) registers np.row_stack as it first compiles a kernel, and
            # numpy 2.5 has removed it: seen on a GPU machine whose image has both.
            if "module 'numpy' has no attribute" not in str(error):
                raise
            raise ComplexaError(
                f"backend = 'cuda': numba-cuda cannot compile for numpy {np.__version__} ({error}); install "
                "numpy<2.5 beside it (the cuda extra asks for it)"
            ) from None


@functools.cache
def _kernels(count: bool) -> Any:
    # Imported here: each kind's module imports `launch` from this one.
    from complexa.reference import kinds
    from complexa.reference.kinds import (
        activation_cuda,
        attention_cuda,
        layernorm_cuda,
        linear_cuda,
        llama_cuda,
        loss_cuda,
        moe_cuda,
        optim_cuda,
        residual_cuda,
    )

    return kinds.Kernels(
        linear_cuda.make(count),
        activation_cuda.make(count),
        layernorm_cuda.make(count),
        residual_cuda.make(count),
        loss_cuda.make(count),
        optim_cuda.make(count),
        attention_cuda.make(count),
        llama_cuda.make(count),
        moe_cuda.make(count),
    )


def _nothing(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Any:
    """An empty device array of `shape` that can be sliced: numba-cuda refuses to slice an empty allocation (its
    pointer is NULL), so this is a view of none of a real one's elements."""
    whole = cuda.device_array(tuple(max(1, n) for n in shape), dtype=dtype)
    return whole[tuple(slice(0, n) for n in shape)]


class CudaBackend(Backend):
    """Arrays on the CUDA device (or the simulator's stand-ins for them), and the kernels that run there; `count`
    False compiles the counting out, as `complexa.reference.kinds.PLAIN` does on the CPU."""

    def __init__(self, count: bool = True) -> None:
        self.kernels = _kernels(bool(count))

    def empty(self, shape: tuple[int, ...]) -> Any:
        if math.prod(shape) == 0:
            return _nothing(shape, np.dtype(np.float64))
        return cuda.device_array(shape, dtype=np.float64)

    def device(self, array: NDArray[Any]) -> Any:
        if array.size == 0:  # a network without parameters has empty flat arrays
            return _nothing(array.shape, array.dtype)
        return cuda.to_device(np.ascontiguousarray(array))

    def host(self, array: Any) -> NDArray[Any]:
        return np.asarray(array.copy_to_host())

    def copy(self, into: Any, source: Any) -> None:
        into.copy_to_device(source)

    def counts(self) -> Any:
        return cuda.to_device(np.zeros((3, 8), dtype=np.int64))

    def synchronize(self) -> None:
        cuda.synchronize()
