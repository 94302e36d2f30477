"""FLOPs, parameters and memory of a network in the conventions other tools use, exactly and symbolically.

fvcore, ptflops, thop, calflops and PyTorch's ``FlopCounterMode`` disagree on what a FLOP is (one multiply-add, or
two operations), on the bias and on the backward pass. `flops` speaks each convention (docs/flops.md sets them side
by side, with where each rule comes from); `params` and `memory` count what a network stores. Every result is a
sympy expression in the network's symbols, for any sizes, batch and depth that `derive` takes, built with the same
`Layers` sums and fast polynomials as the exact model, and ready for `complexa.big_o`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from complexa._choices import CONVENTIONS, DTYPES
from complexa._limits import show
from complexa._poly import Converter, add, to_expr
from complexa._validate import as_choice
from complexa.asymptotics import big_o as _big_o
from complexa.derivation import _layers
from complexa.errors import ComplexaError
from complexa.models import exact
from complexa.models._layers import Layers, Value
from complexa.network import Network

__all__ = [
    "CONVENTIONS",
    "DTYPES",
    "FLOP_PHASES",
    "INFERENCE_PHASES",
    "MEMORY_PHASES",
    "Memory",
    "flops",
    "flops_table",
    "memory",
    "params",
]

FLOP_PHASES = ("forward", "training")
"""``forward``: one forward pass of the batch. ``training``: one training step (what the convention counts of it)."""
MEMORY_PHASES = ("inference", "training")
"""``inference``: parameters and every layer's activation. ``training``: also pre-activations and gradients."""
INFERENCE_PHASES = ("prefill", "decode")
"""A language model's (docs/inference.md), for `flops` (exact and torch conventions) and `memory` (its parameters
and its KV cache after the phase) too."""
MEMORY_LAYOUTS = ("reference", "torch")
"""``reference``: the arrays of complexa's reference network. ``torch``: what PyTorch keeps for a `Network.gpt`, the
tensors autograd saves by module and torch.optim's state (`complexa._saved`)."""

FORWARD_ONLY = {"fvcore": "fvcore's FlopCountAnalysis", "ptflops": "ptflops' get_model_complexity_info"}


def _checked(network: object) -> Network:
    if not isinstance(network, Network):
        raise ComplexaError(f"network = {show(network)}: must be a complexa.Network, such as Network([784, 'h', 10])")
    return network


def _traced(value: object) -> bool:
    """Whether `value` is a module traced by `complexa.from_torch` (docs/torch.md), which counts itself."""
    from complexa._trace._result import TracedDerivation

    return isinstance(value, TracedDerivation)


def _traced_memory(traced: object, phase: str, dtype: str | None) -> Memory:
    """A traced module's training step: its parameters, the tensors autograd saved, and a gradient for each parameter
    that requires one. Bytes are each tensor's own dtype's unless `dtype` is given."""
    if phase != "training":
        raise ComplexaError("memory: a traced module has phase = 'training' only (what autograd saves for it)")
    parameters = sympy.Integer(traced.parameters)  # type: ignore[attr-defined]
    gradients = sympy.Integer(traced.trainable)  # type: ignore[attr-defined]
    saved = traced.saved  # type: ignore[attr-defined]
    elements = sympy.expand(parameters + gradients + saved)
    if dtype is None:
        nbytes = traced.parameter_bytes + traced.trainable_bytes + traced.saved_bytes  # type: ignore[attr-defined]
    else:
        nbytes = DTYPES[dtype] * elements
    zero = sympy.Integer(0)
    own = "as traced" if dtype is None else dtype
    return Memory(traced, phase, own, parameters, saved, gradients, zero, zero, elements, sympy.expand(nbytes))  # type: ignore[arg-type]


def _torch_memory(network: Network, phase: str, dtype: str) -> Memory:
    """`memory`'s ``layout="torch"``: a `Network.gpt`, `Network.llama` or `Network.mixtral` as PyTorch keeps it
    (`complexa._saved`)."""
    from complexa._saved import saved_by_layer
    from complexa.nn import SGD, Adam

    training = phase == "training"
    saved = saved_by_layer(network, dtype)  # raises for what is not a Network.gpt
    if not training:
        saved = {}
    parameters = sympy.expand(params(network))
    optimizer = exact.optimizer_of(network)
    w = DTYPES[dtype]
    state = state_bytes = sympy.Integer(0)
    if training and isinstance(optimizer, SGD) and optimizer.momentum:
        state, state_bytes = parameters, w * parameters
    elif training and isinstance(optimizer, Adam):
        tensors = to_expr(_stack_memory(network)[1])
        state, state_bytes = 2 * parameters + tensors, 2 * w * parameters + 4 * tensors
    gradients = parameters if training else sympy.Integer(0)
    activations = sympy.expand(sympy.Add(*(e for e, _ in saved.values())))
    by_layer = {path: b for path, (_, b) in saved.items()}
    zero = sympy.Integer(0)
    return Memory(
        network=network,
        phase=phase,
        dtype=dtype,
        parameters=parameters,
        activations=activations,
        gradients=gradients,
        deltas=zero,
        optimizer=sympy.expand(state),
        elements=sympy.expand(parameters + activations + gradients + state),
        bytes=sympy.expand(w * (parameters + gradients) + state_bytes + sympy.Add(*by_layer.values())),
        layout="torch",
        by_layer=by_layer,
    )


def _setup(network: Network) -> tuple[Layers, Value]:
    convert = Converter(network.free_symbols)
    return _layers(network, convert), convert(network.batch)


def _weights(layers: Layers, lo: int = 1) -> Value:
    """The sum of n_k n_{k-1} for k = `lo`..L: the weights of those layers."""
    n = layers.n
    return layers.total(lo, 0, lambda k: n(k) * n(k - 1))


def _exact(network: Network, phase: str) -> sympy.Expr:
    from complexa.derivation import derive

    counts = derive(network).counts
    phases = ("forward",) if phase == "forward" else exact.PHASES
    return sympy.Add(*(value for name in phases for value in counts[name].values()))


def _stack_flops(network: Network, convention: str, phase: str) -> Value:
    """A stack's count in `convention`: its Linear layers' matrix products (and fvcore's LayerNorm rule)."""
    from complexa.nn import Attention, CausalSelfAttention, LayerNorm, Linear
    from complexa.nn._stack import rows_of
    from complexa.nn.moe import Experts, Router

    convert = Converter(network.free_symbols)
    B = convert(network.tokens)
    terms: list[Value] = []
    for row in rows_of(network):
        layer = row.layer
        times = convert(row.times)
        if isinstance(layer, CausalSelfAttention) and convention == "torch":
            # Its two batched products per head, q k^T and P v, each 2 B H T T hd = 2 R T d; twice each backward.
            products = 2 if phase == "forward" else 6
            terms.append(times * 2 * B * convert(layer.seq_len) * convert(layer.d_model) * products)
        elif isinstance(layer, Attention) and convention == "torch":
            # Transformers' eager attention: q k^T and P v per query head (repeat_kv expands k and v), each
            # 2 B H T T hd = 2 R T Dq; twice each backward. RoPE, the mask and the softmax are elementwise: free.
            products = 6 if phase == "training" else 2
            terms.append(times * 2 * B * convert(layer.seq_len) * convert(layer.q_dim) * products)
        elif isinstance(layer, (Router, Experts)):
            terms.append(times * _moe_flops(layer, row.input_grad, convert, B, convention, phase))
        elif isinstance(layer, Linear):
            m, n = convert(layer.in_features), convert(layer.out_features)
            if convention == "torch":
                products = 1 if phase == "forward" else 2 + int(row.input_grad)
                terms.append(times * 2 * B * m * n * products)
            elif convention == "fvcore":
                terms.append(times * B * m * n)
            else:
                terms.append(times * B * n * (m + int(layer.bias)))
        elif isinstance(layer, LayerNorm) and convention == "fvcore":
            # fvcore's norm_flop_counter for aten::layer_norm: 5 per element with the affine parameters, else 4.
            terms.append(times * B * convert(layer.normalized_shape) * (5 if layer.elementwise_affine else 4))
    return add(terms)


def _moe_flops(layer: object, input_grad: bool, convert: Converter, B: Value, convention: str, phase: str) -> Value:
    """A mixture of experts' matrix products: the router's d -> E, and per routed (token, expert) pair the expert's
    gate_up (d -> 2 d_ff) and down (d_ff -> d), as transformers' eager experts compute them (one ``F.linear`` per
    expert on its tokens). fvcore and ptflops: one per multiply-add."""
    from complexa.nn.moe import Router

    d = convert(layer.d_model)  # type: ignore[attr-defined]
    if isinstance(layer, Router):
        macs = B * d * convert(layer.n_experts)
        # Backward: the weight's gradient, and the input's when computed.
        passes = 1 if phase == "forward" else 2 + int(input_grad)
        return macs * (2 * passes if convention == "torch" else 1)
    f, routed = convert(layer.d_ff), B * convert(layer.top_k)  # type: ignore[attr-defined]
    if convention != "torch":
        return routed * 3 * f * d
    if phase == "forward":
        return 2 * routed * 3 * f * d
    # Forward, both weights' gradients, down's input gradient (always), gate_up's when the input's is computed.
    return 2 * routed * f * d * (3 + 3 + 1 + (2 if input_grad else 0))


def _stack_memory(network: Network) -> tuple[Value, Value, Value, Value]:
    """(parameters, parameter tensors, activations, deltas) of a stack's training step, from each kind's rule: the
    inputs and the loss's gradient, and what every layer keeps."""
    from complexa.nn._stack import rows_of

    convert = Converter(network.free_symbols)
    B = convert(network.tokens)
    elements: list[Value] = []
    tensors: list[Value] = []
    activations: list[Value] = [B * convert(network.input_width)]
    deltas: list[Value] = [B * convert(network.output_width)]
    for row in rows_of(network):
        numel, count = exact.row_parameters(network, row, convert)
        elements.append(numel)
        tensors.append(count)
        kept, written = row.layer.memory(convert(row.width), B, row.input_grad, convert)
        times = convert(row.times)
        activations.append(times * kept)
        deltas.append(times * written)
    return add(elements), add(tensors), add(activations), add(deltas)


def flops(
    network: Network,
    *,
    convention: str = "exact",
    phase: str = "forward",
    prompt: object = None,
    cache: object = None,
) -> sympy.Expr:
    """The floating-point operations of `network` as a tool counts them, a sympy expression in its symbols.

    **Arguments:**

    - `network`: a `Network`; sizes, batch and depth may be symbols.
    - `convention`: one of `CONVENTIONS`:
      ``"exact"`` every scalar operation of the exact model (mul, add, act and act_grad; docs/counting.md);
      ``"torch"`` PyTorch's ``FlopCounterMode``, 2 B n_k n_{k-1} per layer and pass, bias and element-wise work free;
      ``"fvcore"`` B n_k n_{k-1} per layer, one per multiply-add, bias ignored;
      ``"ptflops"`` B n_k (n_{k-1} + 1) per layer with biases, B n_k n_{k-1} without (MACs).
    - `phase`: ``"forward"``, one forward pass of the batch; or ``"training"``, one training step: for ``exact`` the
      forward pass, the backward pass and the SGD update; for ``torch`` the forward pass and ``loss.backward()``,
      the weight gradients of every layer and the input gradients of every layer but the first (PyTorch computes
      none for an input that does not require grad; its optimizer step counts nothing). fvcore and ptflops count
      the forward pass only, and have no ``training``. ``prefill`` (a prompt of `prompt` tokens) and ``decode``
      (one token with `cache` tokens cached), a language model's inference (`complexa.derive`'s phases), in the
      ``exact`` and ``torch`` conventions.

    **Returns:** a sympy expression; ``complexa.big_o`` gives its class.

    **Raises:** `ComplexaError` for an unknown convention or phase, and for ``training`` with a forward-only tool.

    >>> from complexa import Network, big_o
    >>> net = Network([784, "h", 10], batch="B")
    >>> flops(net, convention="torch")
    1588*B*h
    >>> flops(net, convention="torch", phase="training")
    3196*B*h
    >>> flops(net, convention="ptflops")
    795*B*h + 10*B
    >>> big_o(flops(Network.uniform("n", "L", batch="B"), phase="training"))
    O(B*L*n**2, (B, oo), (L, oo), (n, oo))
    """
    if _traced(network):  # from_torch (issue 13): the traced module's own rules
        traced_phase = as_choice(phase, FLOP_PHASES, "phase")
        return network.flops(as_choice(convention, CONVENTIONS, "convention"), traced_phase)  # type: ignore[attr-defined]
    convention = as_choice(convention, CONVENTIONS, "convention")
    phase = as_choice(phase, FLOP_PHASES + INFERENCE_PHASES, "phase")
    if phase in INFERENCE_PHASES:
        from complexa._inference import CONVENTIONS as INFERENCE_CONVENTIONS
        from complexa._inference import infer

        if convention not in INFERENCE_CONVENTIONS:
            raise ComplexaError(
                f"convention = {convention!r} with phase = {phase!r}: the inference phases are counted in the "
                "'exact' and 'torch' conventions; use one of those"
            )
        return infer(network, phase, prompt, cache).flops(convention)
    if prompt is not None or cache is not None:
        raise ComplexaError(
            "prompt and cache are the inference phases'; give phase='prefill' or 'decode', or drop them"
        )
    network = _checked(network)
    if phase == "training" and convention in FORWARD_ONLY:
        raise ComplexaError(
            f"convention = {convention!r} with phase = 'training': {FORWARD_ONLY[convention]} counts the forward "
            "pass only; use phase='forward', or convention 'torch' or 'exact' for a training step"
        )
    if convention == "exact":
        return _exact(network, phase)
    if network.is_stack:
        return to_expr(_stack_flops(network, convention, phase))
    layers, B = _setup(network)
    value: Value
    if convention == "torch":
        # Forward: one matrix product per layer. Backward: the weight gradient of every layer, and the gradient
        # with respect to the layer's input for every layer but the first, each a product of the same size.
        value = 2 * B * _weights(layers)
        if phase == "training":
            value = 2 * value + 2 * B * _weights(layers, lo=2)
    elif convention == "fvcore":
        value = B * _weights(layers)
    else:
        value = B * exact.parameters(layers, bias=network.bias)
    return to_expr(value)


def flops_table(network: Network) -> list[tuple[str, sympy.Expr, sympy.Expr | None]]:
    """Every convention's count of `network`, for a table: (convention, forward, training), training None where
    the convention counts the forward pass only.

    >>> for row in flops_table(Network([2, 3, 1])):
    ...     print(*row)
    exact 22 69
    torch 18 42
    fvcore 9 None
    ptflops 13 None
    """
    rows: list[tuple[str, sympy.Expr, sympy.Expr | None]] = []
    for convention in CONVENTIONS:
        forward = flops(network, convention=convention)
        training = None if convention in FORWARD_ONLY else flops(network, convention=convention, phase="training")
        rows.append((convention, forward, training))
    return rows


def params(network: Network) -> sympy.Expr:
    """The number of weights and biases: the sum over k of n_k (n_{k-1} + 1), or n_k n_{k-1} without biases.

    This is ``sum(p.numel() for p in model.parameters())`` of the equivalent PyTorch ``nn.Sequential``.

    >>> params(Network([784, "h", 10]))
    795*h + 10
    >>> params(Network.uniform("n", "L", bias=False))
    L*n**2
    """
    if _traced(network):  # from_torch (issue 13)
        return sympy.Integer(network.parameters)  # type: ignore[attr-defined]
    network = _checked(network)
    if network.is_stack:
        return to_expr(_stack_memory(network)[0])
    layers, _ = _setup(network)
    return to_expr(exact.parameters(layers, bias=network.bias))


@dataclass(frozen=True)
class Memory:
    """What a network stores, in elements (sympy expressions), and its total in bytes. Made by `memory`.

    **Attributes:**

    - `network`, `phase`, `dtype`: what was counted.
    - `parameters`: weights and biases, as `params`.
    - `activations`: per sample, for ``inference`` the input a_0 and every layer's activation a_1..a_L; for
      ``training`` also every pre-activation z_1..z_L, which the backward pass reads; times the batch.
    - `gradients`: one per parameter for ``training``; 0 for ``inference``.
    - `deltas`: for ``training``, the error terms delta_1..delta_L of every sample, which the backward pass writes and
      the weight gradients read; 0 for ``inference``.
    - `optimizer`: for ``training``, the optimizer's state: none for SGD, a momentum buffer per parameter, Adam's two
      moments per parameter and its two running powers per tensor; 0 for ``inference``.
    - `kv_cache`: for ``prefill`` and ``decode``, the KV cache after the phase: per attention layer, sequence and
      cached token (P after a prefill, C + 1 after a decode step), a key and a value of n_kv_heads head_dim each;
      0 for the other phases.
    - `elements`: the six together. `bytes`: `elements` times the dtype's size (`DTYPES`).
    - `layout`: ``"reference"``, or ``"torch"``: then `activations` are the tensors autograd saves (`by_layer` gives
      their bytes by module path), `deltas` 0 (torch frees each gradient once used), `optimizer` torch.optim's state
      (a momentum buffer, or Adam's two moments per parameter and a float32 step per tensor), and `bytes` each
      tensor in its own dtype (token ids and targets int64, masks bool).

    For ``prefill`` and ``decode``, what stays between steps: the parameters and the KV cache; the activations a
    layer hands the next and frees are not counted (0), nor gradients, deltas or optimizer state.
    """

    network: Network
    phase: str
    dtype: str
    parameters: sympy.Expr
    activations: sympy.Expr
    gradients: sympy.Expr
    deltas: sympy.Expr
    optimizer: sympy.Expr
    elements: sympy.Expr
    bytes: sympy.Expr
    layout: str = "reference"
    by_layer: dict[str, sympy.Expr] | None = None
    """For ``layout="torch"``: module path -> the bytes of the tensors autograd saves there (``"loss"`` the loss's)."""
    kv_cache: sympy.Expr = sympy.S.Zero

    def big_o(self) -> dict[str, sympy.Order]:
        """The big-O of every count, by name.

        >>> memory(Network.uniform("n", "L", batch="B"), phase="training").big_o()["bytes"]
        O(B*L*n + L*n**2, (B, oo), (L, oo), (n, oo))
        """
        names = ("parameters", "activations", "gradients", "deltas", "optimizer", "kv_cache", "elements", "bytes")
        return {name: _big_o(getattr(self, name)) for name in names}

    def __str__(self) -> str:
        return (
            f"parameters: {self.parameters}\nactivations: {self.activations}\ngradients: {self.gradients}\n"
            f"deltas: {self.deltas}\noptimizer: {self.optimizer}\n"
            + (f"kv_cache: {self.kv_cache}\n" if self.phase in INFERENCE_PHASES else "")
            + f"elements: {self.elements}\n"
            f"bytes ({self.dtype}): {self.bytes}"
        )


def memory(
    network: Network,
    *,
    phase: str = "training",
    dtype: str | None = None,
    layout: str = "reference",
    prompt: object = None,
    cache: object = None,
) -> Memory:
    """The parameters, activations, gradients and deltas `network` stores, in elements, and their total in bytes.

    The convention is the reference network's layout (`complexa.measure`, whose `Measurement.allocated` the tests
    compare with this): one flat array of parameters; for ``training`` a flat array of gradients of the same size;
    per sample the input a_0 and, for every layer, the activation a_k and (``training`` only) the pre-activation z_k
    and the delta delta_k. Plain SGD keeps no optimizer state. PyTorch keeps less: the a_k only, since sigmoid, tanh
    and relu take their derivatives from their outputs, and it frees each delta once used (docs/flops.md).

    **Arguments:**

    - `network`: a `Network`; sizes, batch and depth may be symbols. Or a module traced by `complexa.from_torch`:
      its parameters, a gradient for each that requires one, and the tensors autograd saved (``training`` only).
    - `phase`: one of `MEMORY_PHASES`, ``"inference"`` or ``"training"``; or a language model's ``"prefill"`` of
      `prompt` tokens or ``"decode"`` step with `cache` tokens cached (`Memory.kv_cache`; docs/inference.md).
    - `dtype`: one of `DTYPES`, for `Memory.bytes`; by default float64 for a `Network`, and each tensor's own dtype
      for a traced module (a dropout's mask is a byte an element).
    - `layout`: one of `MEMORY_LAYOUTS`: ``"reference"`` (above), or ``"torch"``, what PyTorch keeps for a
      `Network.gpt`, `Network.llama` or `Network.mixtral` built by `to_torch` in `dtype`: the tensors autograd saves,
      module by module (docs/flops.md).

    **Returns:** a `Memory`.

    >>> m = memory(Network([784, "h", 10], batch="B"), dtype="float32")
    >>> m.activations
    2*B*h + 804*B
    >>> m.bytes
    12*B*h + 3256*B + 6360*h + 80
    >>> memory(Network([784, "h", 10], batch="B"), phase="inference").gradients
    0
    """
    if _traced(network):  # from_torch (issue 13)
        own = None if dtype is None else as_choice(dtype, DTYPES, "dtype")
        return _traced_memory(network, as_choice(phase, MEMORY_PHASES, "phase"), own)
    phase = as_choice(phase, MEMORY_PHASES + INFERENCE_PHASES, "phase")
    dtype = as_choice("float64" if dtype is None else dtype, DTYPES, "dtype")
    layout = as_choice(layout, MEMORY_LAYOUTS, "layout")
    if phase in INFERENCE_PHASES:
        if layout != "reference":
            raise ComplexaError(
                f"layout = {layout!r} with phase = {phase!r}: the torch layout is a training step's; drop layout"
            )
        return _inference_memory(network, phase, dtype, prompt, cache)
    if prompt is not None or cache is not None:
        raise ComplexaError(
            "prompt and cache are the inference phases'; give phase='prefill' or 'decode', or drop them"
        )
    network = _checked(network)
    if layout == "torch":
        return _torch_memory(network, phase, dtype)
    training = phase == "training"
    optimizer = exact.optimizer_of(network)
    if network.is_stack:
        if not training:
            raise ComplexaError(
                "memory: phase = 'inference' is modelled for a dense network given by its sizes; for a stack of "
                "layers use phase = 'training'"
            )
        parameters, tensors, activations, deltas = _stack_memory(network)
    else:
        layers, B = _setup(network)
        n = layers.n
        parameters = exact.parameters(layers, bias=network.bias)
        tensors = exact.tensors(layers, bias=network.bias)
        kept = 2 if training else 1  # a_k, and z_k for training
        activations = B * (n(0) + kept * layers.total(1, 0, lambda k: n(k)))
        deltas = B * layers.total(1, 0, lambda k: n(k)) if training else 0
    gradients = parameters if training else 0
    state = optimizer.state(parameters, tensors) if training else 0
    elements = add([parameters, activations, gradients, deltas, state])
    return Memory(
        network=network,
        phase=phase,
        dtype=dtype,
        parameters=to_expr(parameters),
        activations=to_expr(activations),
        gradients=to_expr(gradients),
        deltas=to_expr(deltas),
        optimizer=to_expr(state),
        elements=to_expr(elements),
        bytes=to_expr(DTYPES[dtype] * elements),
    )


def _inference_memory(network: Network, phase: str, dtype: str, prompt: object, cache: object) -> Memory:
    """A language model's parameters and its KV cache after a prefill or a decode step."""
    from complexa._inference import infer

    inference = infer(network, phase, prompt, cache)
    parameters = params(inference.network)
    zero = sympy.Integer(0)
    elements = sympy.expand(parameters + inference.kv_elements)
    return Memory(
        network=inference.network,
        phase=phase,
        dtype=dtype,
        parameters=parameters,
        activations=zero,
        gradients=zero,
        deltas=zero,
        optimizer=zero,
        elements=elements,
        bytes=sympy.expand(DTYPES[dtype] * elements),
        kv_cache=inference.kv_elements,
    )
