"""The measured side: train a real network that counts its own operations, on the CPU or a CUDA device.

`measure` validates in plain Python, refuses networks whose counts or arrays would not fit, and only then imports
the numba kernels, so ``import complexa`` never imports numba.

What is counted, per training step of a batch of B samples (layers k = 1..L, W_k of shape (n_k, n_{k-1})):

- forward, per sample and layer, z = W a + b and a = g(z): a dot product of length m is m mul and m - 1 add; the bias
  1 add per unit; g 1 act per unit, output layer included (none for ``identity``). The input a_0 is not activated.
- backward: the output delta (a_L - y) * g'(z_L) is 1 add, 1 mul and 1 act_grad per output unit and sample (only
  the add for ``identity`` and for ``bce``, whose delta is a_L - y). A hidden delta (W_{k+1}^T delta_{k+1}) * g'(z_k),
  k = L-1..1, is a dot product of length n_{k+1}, then 1 mul and 1 act_grad (neither for ``identity``). Gradients
  are summed over the batch, not averaged: B mul and B - 1 add per weight, B - 1 add per bias.
- update, plain SGD p -= lr * grad: 1 mul and 1 add per parameter, biases included.

Not counted: the loss value, which `measure` computes with numpy for reporting only; and the arithmetic inside an
act_grad, which reuses the stored activation (sigmoid a(1 - a), tanh 1 - a^2) or pre-activation (relu z > 0) and
counts as exactly one act_grad.
"""

from __future__ import annotations

import itertools
import math
import numbers
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from complexa._choices import BACKENDS
from complexa._limits import scientific, show
from complexa._validate import as_choice
from complexa.errors import ComplexaError
from complexa.network import Network
from complexa.nn import OPS, Embedding

PHASES = ("forward", "backward", "update")
"""Rows of a counts array, in order."""

__all__ = ["measure", "Measurement", "BACKENDS", "MAX_OPERATIONS", "Params", "generate", "Generation"]


MAX_OPERATIONS = 10**12
"""The most operations `measure` performs in one call (hours on one core); it keeps every int64 counter far from
overflow too."""

MAX_LAYER_STEPS = 10**6
"""The most layers times training steps `measure` runs in one call: each layer is a Python call of its own in every
step, about a tenth of a millisecond, however small the layer (``measure 3 --depth 1000000`` is two million)."""

LAYER_BYTES = 8192
"""Memory each layer takes beyond its arrays (its node, its views and buffers' headers): about 5 KB measured, for a
dense network and a GPT alike; the memory guard counts it so that a deep network of tiny layers is refused too."""

Params = list[tuple[NDArray[np.float64], NDArray[np.float64] | None]]
"""(W_k, b_k) for each Linear layer, in order: W_k of shape (n_k, n_{k-1}), b_k of shape (n_k,), or None without a
bias."""
State = dict[str, NDArray[np.float64]]
"""Parameter tensors by the ``state_dict()`` name of the equivalent torch module (`Network.to_torch`)."""


def _linear_params(state: State, network: Network) -> Params:
    from complexa.nn import Linear
    from complexa.nn._stack import rows_of

    out: Params = []
    for row in rows_of(network):
        if isinstance(row.layer, Linear):
            out.append((state[f"{row.path}.weight"], state.get(f"{row.path}.bias")))
    return out


@dataclass(frozen=True, eq=False)
class Measurement:
    """What `measure` observed: the counted operations, and the arrays that let the numerics be checked.

    The states are named as the equivalent torch module's ``state_dict()`` (`Network.to_torch`), with its layouts;
    `params_before`, `params_after` and `param_gradients` list the Linear layers' (W, b), b None without a bias.

    >>> from complexa import Network
    >>> m = measure(Network([2, 2]), iterations=3)
    >>> m.counts["update"], m.state_after["0.weight"].shape
    ({'mul': 18, 'add': 18, 'act': 0, 'act_grad': 0}, (2, 2))
    """

    network: Network
    backend: str
    iterations: int
    lr: float
    seed: int
    counts: dict[str, dict[str, int]]
    """phase -> op -> count, summed over all `iterations` steps; phases and ops as in `complexa.derive`."""
    inputs: NDArray[Any] = field(repr=False)
    """(B, n_0), uniform in [-1, 1]; int64 token ids (B,) for a network that starts with an `nn.Embedding`. A network
    whose samples are sequences (``seq`` > 1) has (B, seq, ...) wherever this says (B, ...)."""
    targets: NDArray[Any] = field(repr=False)
    """(B, n_out) uniform in [0.05, 0.95], so that ``bce`` applies; for ``cross_entropy`` (B,) int64 classes."""
    outputs: NDArray[np.float64] = field(repr=False)
    """(B, n_out): the last layer's output in the first step, before any update (and before the loss); a GPT's
    logits (B, seq, vocab)."""
    loss: float
    """The loss of the first step, before any update, summed over the batch; not counted."""
    gradients: State = field(repr=False)
    """The gradients of the first step (summed over the batch), by parameter name as ``named_parameters()`` gives
    them: a tied tensor once, under its first name."""
    state_before: State = field(repr=False)
    state_after: State = field(repr=False)
    """The parameters after all `iterations` updates."""
    seconds: float
    """Wall time of the `iterations` training steps alone (the kernels' calls; for ``cuda`` with the copies to and
    from the device): no data generation, validation or compilation, which a warm-up call absorbs."""

    allocated: dict[str, int] = field(default_factory=dict)
    """Float64 elements of the training buffers, read off the arrays as allocated: ``parameters``, ``gradients``,
    ``activations`` (the inputs, every layer's output and what a layer keeps for its backward pass), ``deltas``
    (every gradient with respect to a layer's output or input), ``scratch`` (working space a kernel keeps
    beyond those; none today) and ``optimizer`` (its state); for a dense network `complexa.memory` derives the first
    four."""

    @property
    def total(self) -> int:
        """Every counted operation, all phases and ops together."""
        return sum(sum(ops.values()) for ops in self.counts.values())

    @property
    def params_before(self) -> Params:
        """The Linear layers' (W, b) before training."""
        return _linear_params(self.state_before, self.network)

    @property
    def params_after(self) -> Params:
        """The Linear layers' (W, b) after all `iterations` updates."""
        return _linear_params(self.state_after, self.network)

    @property
    def param_gradients(self) -> Params:
        """The Linear layers' (dW, db) of the first step."""
        return _linear_params(self.gradients, self.network)


def measure(
    network: Network, *, backend: str = "cpu", iterations: int = 1, seed: int = 0, lr: float = 0.1
) -> Measurement:
    """Train `network` for `iterations` steps on one random batch, counting every operation it performs.

    Each step is a forward pass, a backward pass and an update by the network's optimizer, on the same inputs and
    targets. The data, all from ``numpy.random.default_rng(seed)`` in this order: each parameter tensor in
    ``state_dict()`` order (a Linear's weight uniform in [-1, 1] / sqrt(in_features), its bias uniform in [-0.1, 0.1];
    an embedding's, and each expert's weights of a mixture of experts, uniform in [-1, 1] / sqrt(their last
    dimension); a LayerNorm's or an RMSNorm's weight uniform in [0.5, 1.5], a LayerNorm's bias uniform in [-0.1,
    0.1]); inputs uniform in [-1, 1]; targets
    uniform in [0.05, 0.95], or for ``cross_entropy`` classes uniform in 0..n_out - 1.

    **Arguments:**

    - `network`: a `Network` whose sizes and batch are all integers.
    - `backend`: ``"cpu"`` (numba) or ``"cuda"`` (numba.cuda: a GPU, or the simulator with
      ``NUMBA_ENABLE_CUDASIM=1``).
    - `iterations`: training steps, a positive int; the counts are their total.
    - `seed`: seeds the data, a non-negative int.
    - `lr`: the learning rate of the default optimizer, ``"sgd"``, a finite real number (an optimizer of
      `complexa.nn` brings its own).

    **Returns:** a `Measurement`.

    **Raises:** `ComplexaError` for a symbolic network, a bad argument, a missing CUDA device, or a network whose
    counts would overflow int64 or whose arrays would not fit in the available memory.

    >>> from complexa import Network
    >>> m = measure(Network([2, 3, 1], batch=2))
    >>> m.counts["forward"]
    {'mul': 18, 'add': 18, 'act': 8, 'act_grad': 0}
    >>> m.outputs.shape
    (2, 1)
    """
    from complexa.models.exact import ops_of
    from complexa.reference._runtime import CpuBackend, Trainer, plan

    batch, iterations, seed, lr, backend = _checked(network, backend, iterations, seed, lr)
    _check_fits(network, batch * int(network.seq), iterations)
    layout = plan(network)
    if backend == "cuda":
        from complexa.reference import _cuda  # numba.cuda, only for this backend

        elements = layout.elements()
        # The attention's backward keeps dS per sample and head on the device (the CPU reuses one block).
        blocks = sum(layout.batch * node.heads * node.seq for node in layout._all() if hasattr(node, "heads"))
        _cuda.require_device(8 * (sum(elements.values()) + 2 * layout.n_params + blocks))
        device: Any = _cuda.CudaBackend()
    else:
        device = CpuBackend()

    rng = np.random.default_rng(seed)
    params = _initial_params(rng, layout)
    n_out = int(network.output_width)
    seq = int(network.seq)
    rows = (batch, seq) if network.sequences else (batch,)  # the shape of what has one entry per row
    first = network.layers[0]
    if isinstance(first, Embedding):
        inputs: NDArray[Any] = rng.integers(0, int(first.num_embeddings), rows).astype(np.int64)
    else:
        inputs = rng.uniform(-1.0, 1.0, (batch * seq, int(network.input_width))).reshape(*rows, -1)
    if network.loss == "cross_entropy":
        targets: NDArray[Any] = rng.integers(0, n_out, rows).astype(np.int64)
    else:
        targets = rng.uniform(0.05, 0.95, (batch * seq, n_out)).reshape(*rows, -1)
    flat = batch * seq
    trainer = Trainer(layout, device, params, inputs, targets, lr)
    state_before = trainer.state_dict(trainer.params)
    counts = device.counts()

    # The first step alone, to keep what it saw before its update; then the rest.
    start = time.perf_counter()
    trainer.step(counts)
    device.synchronize()
    seconds = time.perf_counter() - start
    outputs = device.host(layout.nodes[-1].output())
    outputs = outputs.reshape(*rows, n_out)
    gradients = trainer.state_dict(trainer.grads, aliases=False)
    if iterations > 1:
        start = time.perf_counter()
        for _ in range(iterations - 1):
            trainer.step(counts)
        device.synchronize()
        seconds += time.perf_counter() - start

    measured = device.host(counts)
    ops = list(ops_of(network))
    ops += [op for o, op in enumerate(OPS) if op not in ops and measured[:, o].any()]  # never hide a stray count
    ops.sort(key=OPS.index)
    allocated = trainer.allocated()
    return Measurement(
        network=network,
        backend=backend,
        iterations=iterations,
        lr=lr,
        seed=seed,
        counts={phase: {op: int(measured[p, OPS.index(op)]) for op in ops} for p, phase in enumerate(PHASES)},
        inputs=inputs,
        targets=targets,
        outputs=outputs,
        loss=_loss(outputs.reshape(flat, n_out), targets.reshape(flat, *targets.shape[len(rows) :]), network.loss),
        gradients=gradients,
        state_before=state_before,
        state_after=trainer.state_dict(trainer.params),
        seconds=seconds,
        allocated=allocated,
    )


def _checked(
    network: object, backend: object, iterations: object, seed: object, lr: object
) -> tuple[int, int, int, float, str]:
    if not isinstance(network, Network):
        raise ComplexaError(f"network = {show(network)}: must be a complexa.Network, such as Network([784, 30, 10])")
    if not network.is_concrete:
        symbols = sorted(str(s) for s in network.free_symbols)
        names = ", ".join(symbols[:10]) + (f" and {len(symbols) - 10:,} more" if len(symbols) > 10 else "")
        raise ComplexaError(
            f"{network!r} has symbols ({names}): measure trains a real network, so every size and the batch must be "
            f"an integer; substitute integers for them first, with Network.xreplace"
        )
    backend = as_choice(backend, BACKENDS, "backend")
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) or iterations < 1:
        raise ComplexaError(f"iterations = {show(iterations)}: must be a positive int")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ComplexaError(f"seed = {show(seed)}: must be a non-negative int")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not _finite(lr):
        raise ComplexaError(f"lr = {show(lr)}: must be a finite real number, such as 0.1")
    return int(network.batch), int(iterations), int(seed), float(lr), backend


def _finite(value: numbers.Real) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _totals(network: Network) -> tuple[int, int, int, int, int]:
    """(weights, units, parameters, largest layer, layers) in exact ints, in closed form for a uniform network: a
    guard must not list a million layers to find out that they do not fit. For a stack, its weights count every
    Linear weight and LayerNorm element, its units every layer's output, and its layers every copy of a Repeat's."""
    if network.is_stack:
        from complexa.nn import CausalSelfAttention, Embedding, LayerNorm, Linear, PositionEmbedding
        from complexa.nn._stack import rows_of

        rows = rows_of(network)
        weights = units = params = layers = 0
        largest = int(network.input_width)
        for row in rows:
            width, times, layer = int(row.width), int(row.times), row.layer
            layers += times
            largest = max(largest, width)
            units += times * width
            if isinstance(layer, Linear):
                m, n = int(layer.in_features), int(layer.out_features)
                weights += times * m * n
                params += times * (m * n + (n if layer.bias else 0))
                largest = max(largest, n)
                units += times * n
            elif isinstance(layer, LayerNorm):
                weights += times * width
                params += times * 2 * width if layer.elementwise_affine else 0
            elif isinstance(layer, (Embedding, PositionEmbedding)):
                d = int(layer.embedding_dim)
                params += d * int(layer.num_embeddings if isinstance(layer, Embedding) else layer.num_positions)
                units += d
                largest = max(largest, d)
            elif isinstance(layer, CausalSelfAttention):
                # Per row: the scores' products, T d each way; P (H T) and the q, k, v gradients.
                t = int(layer.seq_len)
                weights += times * 2 * t * int(layer.d_model)
                units += times * (int(layer.n_heads) * t + 4 * int(layer.d_model))
        return weights, units, params, largest, layers
    # A dense network: a Linear layer and an activation per weight matrix.
    if network.width is not None:
        width, depth = int(network.width), int(network.depth)
        n_weights, n_units, largest = depth * width * width, (depth + 1) * width, width
        n_params = n_weights + (depth * width if network.bias else 0)
        return n_weights, n_units, n_params, largest, 2 * depth
    sizes = [int(size) for size in network.sizes]
    n_weights = sum(n * m for m, n in itertools.pairwise(sizes))
    n_units = sum(sizes)
    n_params = n_weights + (n_units - sizes[0] if network.bias else 0)
    return n_weights, n_units, n_params, max(sizes), 2 * (len(sizes) - 1)


def _check_fits(network: Network, batch: int, iterations: int) -> None:
    """Refuse, before allocating anything, a network too big to measure; the figures go in the message.

    Everything here is an exact Python int: the sizes may be far beyond int64 when a user substitutes huge values.
    """
    n_weights, n_units, n_params, largest, n_layers = _totals(network)
    # A bound on the sum of all counters over all steps (so on every counter), in exact integers: it guards the
    # int64 counters and the time a run takes; it is not the measurement.
    # Per unit: a dense network's activations and derivatives; LayerNorm, softmax and Adam do more, and a stack's
    # units are every layer's outputs, so its bound takes more per unit and per parameter.
    per_unit, per_param = (8, 2) if not network.is_stack else (24, 16)
    bound = iterations * (6 * batch * n_weights + per_unit * batch * n_units + per_param * n_params)
    if bound > MAX_OPERATIONS:
        raise ComplexaError(
            f"{network!r} with iterations = {show(iterations)}: up to {_figure(bound)} operations would be counted, "
            f"more than measure performs ({MAX_OPERATIONS:.0e}, hours of work); use fewer iterations or smaller sizes"
        )
    if n_layers * iterations > MAX_LAYER_STEPS:
        raise ComplexaError(
            f"{network!r} with iterations = {show(iterations)}: {_figure(n_layers)} layers trained "
            f"{show(iterations)} {'time' if iterations == 1 else 'times'} each, more than measure runs "
            f"({MAX_LAYER_STEPS:,} layer steps, each a Python call); use fewer layers or fewer iterations"
        )
    # Float64 arrays alive at once: parameters, gradients, their copies before, after and for the first step, and
    # the (B, U) activations, the (B, U - n_0) pre-activations and deltas, plus inputs, targets and outputs; and each
    # layer's own overhead, which a deep network of small layers is mostly made of.
    needed = 8 * (5 * n_params + 3 * batch * n_units + 3 * batch * largest) + LAYER_BYTES * n_layers
    available = _available_memory()
    if available is not None and needed > available:
        raise ComplexaError(
            f"{network!r}: measuring it needs about {_figure(needed)} bytes for its arrays and its {n_layers:,} "
            f"layers, and only {available:,} bytes of memory are available; use smaller sizes, fewer layers or a "
            "smaller batch"
        )


def _figure(number: int) -> str:
    """`number` with thousands separators, or in scientific notation when it is too long to read."""
    return f"{number:,}" if number < 10**24 else scientific(number)


def _available_memory() -> int | None:
    """The bytes this process may still allocate: the least of free physical memory, what is left under its
    address-space limit (``ulimit -v``) and what is left under its cgroup's memory limit; None where none is known
    (the guard is then skipped)."""
    limits = [_free_physical(), _address_space_left(), _cgroup_left()]
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def _free_physical() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _address_space_left() -> int | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = _read_number("/proc/self/statm", field=0)  # pages of virtual memory in use
    return max(0, soft - used * os.sysconf("SC_PAGE_SIZE")) if used is not None else soft


def _cgroup_left() -> int | None:
    # cgroup v2 first, then v1; "max" (v2) or a huge number (v1) means no limit.
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        limit = _read_number(limit_file)
        if limit is not None and limit < 2**60:
            usage = _read_number(usage_file) or 0
            return max(0, limit - usage)
    return None


def _read_number(path: str, field: int = 0) -> int | None:
    try:
        with open(path) as file:
            text = file.read().split()
        return int(text[field])
    except (OSError, ValueError, IndexError):
        return None


def _initial_params(rng: np.random.Generator, layout: Any) -> NDArray[np.float64]:
    params = np.empty(layout.n_params)
    for tensor in layout.tensors:
        part = params[tensor.offset : tensor.offset + tensor.size]
        if tensor.name.endswith(".bias"):
            part[:] = rng.uniform(-0.1, 0.1, tensor.size)
        elif len(tensor.shape) >= 2:  # a Linear's weight, or each expert's of a mixture of experts
            part[:] = (rng.uniform(-1.0, 1.0, tensor.shape) / math.sqrt(tensor.shape[-1])).ravel()
        else:  # a LayerNorm's or an RMSNorm's weight
            part[:] = rng.uniform(0.5, 1.5, tensor.size)
    return params


def _loss(outputs: NDArray[np.float64], targets: NDArray[Any], loss: str) -> float:
    """The loss summed over the batch, for reporting; a saturated sigmoid makes bce infinite, not an error."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if loss == "cross_entropy":
            top = outputs.max(axis=1, keepdims=True)
            log_total = np.log(np.exp(outputs - top).sum(axis=1)) + top[:, 0]
            return float(np.sum(log_total - outputs[np.arange(len(targets)), targets]))
        if loss == "mse":
            return float(0.5 * np.sum((outputs - targets) ** 2))
        return float(-np.sum(targets * np.log(outputs) + (1.0 - targets) * np.log(1.0 - outputs)))


from complexa.reference._generate import Generation, generate  # noqa: E402  (inference, issue 22)
