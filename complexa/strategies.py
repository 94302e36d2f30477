"""Hypothesis strategies for complexa's objects, for property tests in your own suite.

hypothesis is a test dependency only (the ``test`` extra), so ``import complexa`` does not import this module; import
it explicitly: ``from complexa.strategies import networks``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from hypothesis import strategies as st

from complexa._limits import show
from complexa._validate import as_flag
from complexa.errors import ComplexaError
from complexa.network import ACTIVATIONS, LOSSES, Network

__all__ = ["networks", "sizes", "layer_stacks", "gpts", "llamas", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "momentum", "adam")
"""What `layer_stacks` draws optimizers from: plain ``"sgd"``, `complexa.nn.SGD` with momentum, `complexa.nn.Adam`."""


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


def layer_stacks(
    *,
    max_layers: int = 6,
    max_width: int = 6,
    max_batch: int = 33,
    losses: Sequence[str] = LOSSES,
    optimizers: Sequence[str] = OPTIMIZERS,
) -> st.SearchStrategy[Network]:
    """Concrete `Network`s given as stacks of `complexa.nn` layers: every kind (Linear with and without a bias, every
    activation, LayerNorm with and without its affine parameters, Residual around width-keeping layers), a loss and
    an optimizer drawn from those allowed.

    A stack starts with a Linear or a LayerNorm (something must fix the input width); ``bce`` gets a final Sigmoid.
    Shrinks towards fewer, narrower layers, a batch of 1 and plain SGD.

    **Arguments:**

    - `max_layers`: the most layers of the stack, before a final Sigmoid; at least 1.
    - `max_width`: the widest layer; a positive int.
    - `max_batch`: the largest batch; the default, 33, reaches every path of the kernels (see `networks`).
    - `losses`: a non-empty subset of `complexa.network.LOSSES`.
    - `optimizers`: a non-empty subset of `OPTIMIZERS`.

    **Returns:** a strategy for `Network`.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20)
    ... @given(layer_stacks(max_layers=3, losses=["cross_entropy"], optimizers=["adam"]))
    ... def test_stacks(network):
    ...     assert network.is_stack and network.is_concrete and network.loss == "cross_entropy"
    >>> test_stacks()
    """
    max_layers = _positive_int(max_layers, "max_layers")
    max_width = _positive_int(max_width, "max_width")
    max_batch = _positive_int(max_batch, "max_batch")
    chosen_losses = _subset(losses, LOSSES, "losses")
    chosen_optimizers = _subset(optimizers, OPTIMIZERS, "optimizers")
    return _stacks(max_layers, max_width, max_batch, chosen_losses, chosen_optimizers)


@st.composite
def _stacks(
    draw: st.DrawFn,
    max_layers: int,
    max_width: int,
    max_batch: int,
    losses: tuple[str, ...],
    optimizers: tuple[str, ...],
) -> Network:
    from complexa import nn

    widths = st.integers(1, max_width)
    activations = st.sampled_from(
        [nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.GELU(approximate="tanh"), nn.Identity()]
    )

    def linear(width: int) -> nn.Linear:
        return nn.Linear(width, draw(widths), bias=draw(st.booleans()))

    def norm(width: int) -> nn.LayerNorm:
        return nn.LayerNorm(width, elementwise_affine=draw(st.booleans()))

    def keeping(width: int, depth: int = 1) -> nn.Layer:
        # A layer that keeps the width: a square Linear, an activation, a LayerNorm, or (once) a nested Residual.
        choice = draw(st.sampled_from(["linear", "activation", "norm", "residual"][: 4 if depth < 2 else 3]))
        if choice == "linear":
            return nn.Linear(width, width, bias=draw(st.booleans()))
        if choice == "residual":
            return nn.Residual(*(keeping(width, depth + 1) for _ in range(draw(st.integers(1, 2)))))
        return draw(activations) if choice == "activation" else norm(width)

    width = draw(widths)
    first = linear(width) if draw(st.booleans()) else norm(width)
    layers: list[nn.Layer] = [first]
    width = int(first.output(None, "0").size)
    for _ in range(draw(st.integers(0, max_layers - 1))):
        choice = draw(st.sampled_from(["linear", "activation", "norm", "residual"]))
        if choice == "linear":
            layer: nn.Layer = linear(width)
            width = int(layer.out_features)  # type: ignore[attr-defined]
        elif choice == "activation":
            layer = draw(activations)
        elif choice == "norm":
            layer = norm(width)
        else:
            layer = nn.Residual(*(keeping(width) for _ in range(draw(st.integers(1, 3)))))
        layers.append(layer)
    loss = draw(st.sampled_from(losses))
    if loss == "bce":
        layers.append(nn.Sigmoid())
    kind = draw(st.sampled_from(optimizers))
    optimizer: object = "sgd"
    if kind == "momentum":
        optimizer = nn.SGD(lr=draw(st.sampled_from([0.01, 0.1])), momentum=draw(st.sampled_from([0.5, 0.9])))
    elif kind == "adam":
        optimizer = nn.Adam(lr=draw(st.sampled_from([1e-3, 1e-2])))
    return Network(layers, batch=draw(st.integers(1, max_batch)), loss=loss, optimizer=optimizer)


def gpts(
    *,
    max_vocab: int = 16,
    max_seq: int = 6,
    max_heads: int = 3,
    max_head_dim: int = 3,
    max_layers: int = 2,
    max_batch: int = 3,
    optimizers: Sequence[str] = OPTIMIZERS,
) -> st.SearchStrategy[Network]:
    """Small concrete GPTs (`Network.gpt`): every option drawn (bias, tied, causal, a d_ff of its own), d_model a
    multiple of the heads, and an optimizer drawn from `optimizers`.

    Shrinks towards one layer, one head, short sequences and a batch of 1.

    **Arguments:** each `max_*` a positive int bounding that size (d_model is heads x head dim); `optimizers` a
    non-empty list drawn from `OPTIMIZERS`.

    **Returns:** a strategy for `Network`.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(gpts(max_seq=3))
    ... def test_small(network):
    ...     assert network.gpt_config["seq"] <= 3 and network.loss == "cross_entropy"
    >>> test_small()
    """
    bounds = (max_vocab, max_seq, max_heads, max_head_dim, max_layers, max_batch)
    names = ("max_vocab", "max_seq", "max_heads", "max_head_dim", "max_layers", "max_batch")
    vocab, seq, heads, head_dim, layers, batch = (_positive_int(value, name) for value, name in zip(bounds, names))
    return _gpts(vocab, seq, heads, head_dim, layers, batch, _subset(optimizers, OPTIMIZERS, "optimizers"))


@st.composite
def _gpts(
    draw: st.DrawFn,
    max_vocab: int,
    max_seq: int,
    max_heads: int,
    max_head_dim: int,
    max_layers: int,
    max_batch: int,
    optimizers: tuple[str, ...],
) -> Network:
    from complexa import nn

    heads = draw(st.integers(1, max_heads))
    d_model = heads * draw(st.integers(1, max_head_dim))
    d_ff = draw(st.one_of(st.none(), st.integers(1, 2 * d_model)))
    kind = draw(st.sampled_from(optimizers))
    optimizer: object = "sgd"
    if kind == "momentum":
        optimizer = nn.SGD(lr=draw(st.sampled_from([0.01, 0.1])), momentum=draw(st.sampled_from([0.5, 0.9])))
    elif kind == "adam":
        optimizer = nn.Adam(lr=draw(st.sampled_from([1e-3, 1e-2])), eps=1e-3)
    return Network.gpt(
        draw(st.integers(1, max_vocab)),
        draw(st.integers(1, max_seq)),
        d_model,
        draw(st.integers(1, max_layers)),
        heads,
        d_ff=d_ff,
        batch=draw(st.integers(1, max_batch)),
        bias=draw(st.booleans()),
        tied=draw(st.booleans()),
        causal=draw(st.booleans()),
        optimizer=optimizer,
    )


def llamas(
    *,
    max_vocab: int = 16,
    max_seq: int = 6,
    max_kv_heads: int = 2,
    max_group: int = 2,
    max_head_dim: int = 2,
    max_layers: int = 2,
    max_experts: int = 3,
    max_batch: int = 3,
    optimizers: Sequence[str] = OPTIMIZERS,
    layer_windows: bool = False,
    mlp_bias: bool = False,
) -> st.SearchStrategy[Network]:
    """Small concrete Llama-style networks (`Network.llama`, `Network.mixtral`): K key/value heads and H = K G query
    heads (MHA, GQA, MQA), an even head dimension (RoPE turns pairs), a head dimension of its own or d_model / H, a
    window of 2 to seq + 1 or none (transformers' cache keeps every token for a window of 1: `complexa.derive`
    refuses it for prefill and decode), q/k/v biases (Qwen2's) or none, tied or not, and a mixture of up to
    `max_experts` experts or a SwiGLU MLP; an optimizer drawn from `optimizers`. With `layer_windows`, each layer's
    window is drawn on its own (a full layer or a window, as Qwen2's ``layer_types``); with `mlp_bias`, a SwiGLU MLP
    may have biases (Llama's ``mlp_bias``).

    Shrinks towards one layer, one head, no experts, short sequences and a batch of 1.

    **Arguments:** each `max_*` a positive int bounding that size (`max_head_dim` counts pairs: the head dimension is
    2, 4, ... up to twice it); `optimizers` a non-empty list drawn from `OPTIMIZERS`; `layer_windows` and
    `mlp_bias` flags.

    **Returns:** a strategy for `Network`.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(llamas(max_seq=3))
    ... def test_small(network):
    ...     assert network.llama_config["seq"] <= 3 and network.loss == "cross_entropy"
    >>> test_small()
    """
    bounds = (max_vocab, max_seq, max_kv_heads, max_group, max_head_dim, max_layers, max_experts, max_batch)
    names = ("max_vocab", "max_seq", "max_kv_heads", "max_group", "max_head_dim", "max_layers", "max_experts")
    checked = [_positive_int(value, name) for value, name in zip(bounds, (*names, "max_batch"))]
    flags = (as_flag(layer_windows, "layer_windows"), as_flag(mlp_bias, "mlp_bias"))
    return _llamas(*checked, _subset(optimizers, OPTIMIZERS, "optimizers"), *flags)  # type: ignore[call-arg, arg-type]


@st.composite
def _llamas(
    draw: st.DrawFn,
    max_vocab: int,
    max_seq: int,
    max_kv_heads: int,
    max_group: int,
    max_head_dim: int,
    max_layers: int,
    max_experts: int,
    max_batch: int,
    optimizers: tuple[str, ...],
    layer_windows: bool = False,
    mlp_bias: bool = False,
) -> Network:
    from complexa import nn

    kv_heads = draw(st.integers(1, max_kv_heads))
    heads = kv_heads * draw(st.integers(1, max_group))
    head_dim = 2 * draw(st.integers(1, max_head_dim))
    own_head_dim = draw(st.booleans())
    # transformers wants d_model a multiple of the heads even with a head_dim of its own
    d_model = heads * (draw(st.integers(1, head_dim)) if own_head_dim else head_dim)
    seq = draw(st.integers(1, max_seq))
    experts = draw(st.integers(0, max_experts))
    kind = draw(st.sampled_from(optimizers))
    optimizer: object = "sgd"
    if kind == "momentum":
        optimizer = nn.SGD(lr=draw(st.sampled_from([0.01, 0.1])), momentum=draw(st.sampled_from([0.5, 0.9])))
    elif kind == "adam":
        optimizer = nn.Adam(lr=draw(st.sampled_from([1e-3, 1e-2])), eps=1e-3)
    options: dict[str, object] = {
        "n_kv_heads": kv_heads,
        "d_ff": draw(st.integers(1, 2 * d_model)),
        "head_dim": head_dim if own_head_dim else None,
        "batch": draw(st.integers(1, max_batch)),
        "tied": draw(st.booleans()),
        "window": draw(st.one_of(st.none(), st.integers(2, seq + 1))),
        "optimizer": optimizer,
    }
    sizes = (draw(st.integers(1, max_vocab)), seq, d_model, draw(st.integers(1, max_layers)), heads)
    if layer_windows:
        window = st.one_of(st.none(), st.integers(2, seq + 1))
        options["window"] = draw(st.lists(window, min_size=sizes[3], max_size=sizes[3]))
    if experts:
        return Network.mixtral(*sizes, n_experts=experts, top_k=draw(st.integers(1, experts)), **options)  # type: ignore[arg-type]
    if mlp_bias:
        options["mlp_bias"] = draw(st.booleans())
    return Network.llama(*sizes, bias=draw(st.booleans()), **options)  # type: ignore[arg-type]


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
