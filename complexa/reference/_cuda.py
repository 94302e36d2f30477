"""CUDA kernels: the same training step and counting convention as `_cpu`, one kernel per phase and layer.

Each thread counts what it does in local variables and adds them, once, to the global (phases, ops) int64 counts
with `cuda.atomic.add`, so the totals are right whatever the scheduling; the simulator runs threads one at a time and
would hide a race that plain ``+=`` has on a GPU. Kernels use grid-stride loops over a modest grid (smaller still
under the simulator, where every thread is a Python thread), so any size runs on any grid.

Importing this module imports numba.cuda; `complexa.reference.measure` does so only for ``backend="cuda"``.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import config, cuda
from numba.core.errors import NumbaPerformanceWarning
from numpy.typing import NDArray

from complexa.errors import ComplexaError
from complexa.reference._layout import IDENTITY, Buffers, activate, derivative

__all__ = ["require_device", "train", "SIMULATOR"]

FORWARD, BACKWARD, UPDATE = 0, 1, 2
MUL, ADD, ACT, ACT_GRAD = 0, 1, 2, 3
MSE, BCE = 0, 1

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


# One source for g and g' (complexa.reference._layout), compiled here for the device and in _cpu for the CPU.
_activate = cuda.jit(device=True)(activate)
_derivative = cuda.jit(device=True)(derivative)


@cuda.jit
def _forward_kernel(params, w, b, n, m, below, here, shift, acts, zs, activation, bias, counts):
    """Layer k forward, one (sample, unit) per thread: z = W a + b, a = g(z)."""
    n_mul = 0
    n_add = 0
    n_act = 0
    for t in range(cuda.grid(1), acts.shape[0] * n, cuda.gridsize(1)):
        s = t // n
        i = t % n
        row = w + i * m
        acc = params[row] * acts[s, below]
        n_mul += 1
        for j in range(1, m):
            acc += params[row + j] * acts[s, below + j]
            n_mul += 1
            n_add += 1
        if bias:
            acc += params[b + i]
            n_add += 1
        zs[s, here - shift + i] = acc
        if activation == IDENTITY:
            acts[s, here + i] = acc
        else:
            acts[s, here + i] = _activate(acc, activation)
            n_act += 1
    cuda.atomic.add(counts, (FORWARD, MUL), n_mul)
    cuda.atomic.add(counts, (FORWARD, ADD), n_add)
    cuda.atomic.add(counts, (FORWARD, ACT), n_act)


@cuda.jit
def _output_delta_kernel(out, shift, n, acts, zs, deltas, targets, activation, loss, counts):
    """(a_L - y) * g'(z_L), one (sample, unit) per thread; a_L - y alone for bce and for identity."""
    n_mul = 0
    n_add = 0
    n_grad = 0
    for t in range(cuda.grid(1), acts.shape[0] * n, cuda.gridsize(1)):
        s = t // n
        i = t % n
        delta = acts[s, out + i] - targets[s, i]
        n_add += 1
        if loss == MSE and activation != IDENTITY:
            delta *= _derivative(zs[s, out - shift + i], acts[s, out + i], activation)
            n_mul += 1
            n_grad += 1
        deltas[s, out - shift + i] = delta
    cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
    cuda.atomic.add(counts, (BACKWARD, ADD), n_add)
    cuda.atomic.add(counts, (BACKWARD, ACT_GRAD), n_grad)


@cuda.jit
def _hidden_delta_kernel(params, w, n, above, here, there, shift, acts, zs, deltas, activation, counts):
    """(W_{k+1}^T delta_{k+1}) * g'(z_k), one (sample, unit) per thread; W_{k+1} starts at `w`, shape (above, n)."""
    n_mul = 0
    n_add = 0
    n_grad = 0
    for t in range(cuda.grid(1), acts.shape[0] * n, cuda.gridsize(1)):
        s = t // n
        j = t % n
        acc = params[w + j] * deltas[s, there - shift]
        n_mul += 1
        for i in range(1, above):
            acc += params[w + i * n + j] * deltas[s, there - shift + i]
            n_mul += 1
            n_add += 1
        if activation != IDENTITY:
            acc *= _derivative(zs[s, here - shift + j], acts[s, here + j], activation)
            n_mul += 1
            n_grad += 1
        deltas[s, here - shift + j] = acc
    cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
    cuda.atomic.add(counts, (BACKWARD, ADD), n_add)
    cuda.atomic.add(counts, (BACKWARD, ACT_GRAD), n_grad)


@cuda.jit
def _gradient_kernel(grads, w, b, n, m, here, below, shift, acts, deltas, bias, counts):
    """Layer k's gradients summed over the batch, one weight (then, with biases, one bias) per thread."""
    n_mul = 0
    n_add = 0
    batch = acts.shape[0]
    n_weights = n * m
    total = n_weights + n if bias else n_weights
    for t in range(cuda.grid(1), total, cuda.gridsize(1)):
        if t < n_weights:
            i = t // m
            j = t % m
            acc = deltas[0, here - shift + i] * acts[0, below + j]
            n_mul += 1
            for s in range(1, batch):
                acc += deltas[s, here - shift + i] * acts[s, below + j]
                n_mul += 1
                n_add += 1
            grads[w + t] = acc
        else:
            i = t - n_weights
            acc = deltas[0, here - shift + i]
            for s in range(1, batch):
                acc += deltas[s, here - shift + i]
                n_add += 1
            grads[b + i] = acc
    cuda.atomic.add(counts, (BACKWARD, MUL), n_mul)
    cuda.atomic.add(counts, (BACKWARD, ADD), n_add)


@cuda.jit
def _update_kernel(params, grads, lr, counts):
    """p -= lr * grad, one parameter per thread."""
    n_mul = 0
    n_add = 0
    for p in range(cuda.grid(1), params.shape[0], cuda.gridsize(1)):
        params[p] -= lr * grads[p]
        n_mul += 1
        n_add += 1
    cuda.atomic.add(counts, (UPDATE, MUL), n_mul)
    cuda.atomic.add(counts, (UPDATE, ADD), n_add)


def _blocks(work: int) -> int:
    return max(1, min(MAX_BLOCKS, -(-work // THREADS)))


class _Device:
    """The buffers on the device, and a host launcher per phase."""

    def __init__(self, buffers: Buffers, counts: NDArray[np.int64]) -> None:
        self.host = buffers
        layout = buffers.layout
        self.sizes = [int(n) for n in layout.sizes]
        self.w_off = [int(o) for o in layout.weight_offsets]
        self.b_off = [int(o) for o in layout.bias_offsets]
        self.u_off = [int(o) for o in layout.unit_offsets]
        self.batch = buffers.acts.shape[0]
        self.params = cuda.to_device(buffers.params)
        self.grads = cuda.to_device(buffers.grads)
        self.acts = cuda.to_device(buffers.acts)
        self.zs = cuda.to_device(buffers.zs)
        self.deltas = cuda.to_device(buffers.deltas)
        self.targets = cuda.to_device(buffers.targets)
        self.counts = cuda.to_device(counts)

    def forward(self) -> None:
        h = self.host
        for k in range(1, len(self.sizes)):
            n, m = self.sizes[k], self.sizes[k - 1]
            _forward_kernel[_blocks(self.batch * n), THREADS](
                self.params,
                self.w_off[k],
                self.b_off[k],
                n,
                m,
                self.u_off[k - 1],
                self.u_off[k],
                self.sizes[0],
                self.acts,
                self.zs,
                h.activation,
                h.layout.bias,
                self.counts,
            )

    def backward(self) -> None:
        h = self.host
        last = len(self.sizes) - 1
        n = self.sizes[last]
        _output_delta_kernel[_blocks(self.batch * n), THREADS](
            self.u_off[last],
            self.sizes[0],
            n,
            self.acts,
            self.zs,
            self.deltas,
            self.targets,
            h.activation,
            h.loss,
            self.counts,
        )
        for k in range(last - 1, 0, -1):
            n = self.sizes[k]
            _hidden_delta_kernel[_blocks(self.batch * n), THREADS](
                self.params,
                self.w_off[k + 1],
                n,
                self.sizes[k + 1],
                self.u_off[k],
                self.u_off[k + 1],
                self.sizes[0],
                self.acts,
                self.zs,
                self.deltas,
                h.activation,
                self.counts,
            )
        for k in range(1, last + 1):
            n, m = self.sizes[k], self.sizes[k - 1]
            _gradient_kernel[_blocks(n * m + n), THREADS](
                self.grads,
                self.w_off[k],
                self.b_off[k],
                n,
                m,
                self.u_off[k],
                self.u_off[k - 1],
                self.sizes[0],
                self.acts,
                self.deltas,
                h.layout.bias,
                self.counts,
            )

    def update(self) -> None:
        _update_kernel[_blocks(self.params.shape[0]), THREADS](self.params, self.grads, self.host.lr, self.counts)

    def copy_back(self, counts: NDArray[np.int64]) -> None:
        h = self.host
        self.params.copy_to_host(h.params)
        self.grads.copy_to_host(h.grads)
        self.acts.copy_to_host(h.acts)
        self.zs.copy_to_host(h.zs)
        self.deltas.copy_to_host(h.deltas)
        self.counts.copy_to_host(counts)


def train(buffers: Buffers, iterations: int, counts: NDArray[np.int64]) -> None:
    """Run `iterations` training steps on the device, then copy `buffers` and the accumulated `counts` back."""
    with warnings.catch_warnings():
        # Small test networks launch small grids on purpose; numba's under-utilisation warning is not for them.
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        device = _Device(buffers, counts)
        for _ in range(iterations):
            device.forward()
            device.backward()
            device.update()
        device.copy_back(counts)
