"""`Network`: a stack of layers (or the layer sizes of a dense network), a batch, a loss and an optimizer, validated
once."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from complexa._choices import ACTIVATIONS, LOSSES
from complexa._limits import show
from complexa._validate import as_choice, as_flag, as_size
from complexa.errors import ComplexaError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from complexa.nn import Layer

__all__ = ["Network", "ACTIVATIONS", "LOSSES", "MAX_LISTED_LAYERS"]

_UNSET: object = object()

MAX_LISTED_LAYERS = 10**6
"""Deepest uniform network whose sizes `Network.sizes` lists; deeper ones (and symbolic depths) stay in closed form."""


class Network:
    """A feed-forward network: a stack of layers, or the sizes n_0..n_L of a dense one; a batch size and options.

    **Arguments:**

    - `layers`: either layers of `complexa.nn` (``[nn.Linear(784, "h"), nn.ReLU(), nn.Linear("h", 10)]``), their
      widths checked against each other; or sizes n_0, ..., n_L, at least two, for a dense network: Linear layers
      n_{k-1} -> n_k, each followed by `activation`. A size is a positive int, a sympy expression, or a string in
      complexa's grammar such as ``"h"``, ``"2*h"`` or ``"h/2 + 1"``. Symbols are positive integers. Sizes count
      neurons without a bias unit: the bias is a separate vector (see `bias`).
    - `batch`: samples per step, B; a positive int or a symbol.
    - `bias`: whether every layer adds a bias vector (sizes only).
    - `activation`: one of `ACTIVATIONS`, applied in every layer, the output layer included (sizes only).
    - `loss`: one of `LOSSES`; ``"bce"`` needs a final sigmoid.
    - `optimizer`: ``"sgd"`` (plain SGD, whose learning rate `measure` takes), or `complexa.nn.SGD` or
      `complexa.nn.Adam` with their hyperparameters.
    - `seq`: tokens per sample (layers only): each sample is `seq` rows, one per token, and the layers work on the
      B seq rows of a step; by default the `seq` of the layers that have one (`nn.CausalSelfAttention`,
      `nn.PositionEmbedding`), else 1. `Network.gpt` builds nanoGPT's GPT.

    **Raises:** `ComplexaError` naming the bad argument, or the layers that do not fit.

    >>> Network([784, "h", "h", 10])
    Network([784, h, h, 10])
    >>> Network.uniform("n", "L")
    Network.uniform(n, L)
    >>> from complexa import nn
    >>> Network([nn.Linear(784, "h"), nn.ReLU(), nn.Linear("g", 10)])
    Traceback (most recent call last):
    ...
    complexa.errors.ComplexaError: layer 2 (Linear(g, 10)) takes g inputs, but layer 1 (ReLU()) gives h
    """

    __slots__ = (
        "_sizes",
        "_layers",
        "_widths",
        "width",
        "depth",
        "batch",
        "bias",
        "activation",
        "loss",
        "optimizer",
        "seq",
        "names",
        "ties",
        "gpt_config",
        "llama_config",
        "_sequences",
        "_free_symbols",
    )

    _sizes: tuple[sympy.Expr, ...] | None
    _layers: tuple[Layer, ...] | None
    _widths: tuple[sympy.Expr, sympy.Expr]
    optimizer: object
    width: sympy.Expr | None
    depth: sympy.Expr
    batch: sympy.Expr
    bias: bool
    activation: str
    loss: str
    seq: sympy.Expr
    names: tuple[str, ...] | None
    ties: dict[str, str]
    gpt_config: dict[str, Any] | None
    llama_config: dict[str, Any] | None

    def __init__(
        self,
        sizes: Sequence[object],
        *,
        batch: object = 1,
        bias: bool = _UNSET,  # type: ignore[assignment]
        activation: str = _UNSET,  # type: ignore[assignment]
        loss: str = "mse",
        optimizer: object = "sgd",
        seq: object = None,
    ) -> None:
        from complexa.nn import Layer

        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise ComplexaError(
                f"sizes = {show(sizes)}: must be a list of layer sizes n_0..n_L, such as [784, 'h', 10], or a list of "
                "layers of complexa.nn"
            )
        module = next((k for k, v in enumerate(sizes) if type(v).__module__.split(".")[0] == "torch"), None)
        if module is not None:  # torch itself is not imported: a torch object is one from a module named torch...
            raise ComplexaError(
                f"sizes[{module}] = {show(sizes[module])}: a torch object, not a size or a layer of complexa.nn; trace "
                "a torch module with complexa.from_torch(module, shape), or give the layers of complexa.nn, such as "
                "nn.Linear(3, 4)"
            )
        if sizes and isinstance(sizes[0], Layer):  # a stack; `check` names any item that is not a layer
            for name, value in (("bias", bias), ("activation", activation)):
                if value is not _UNSET:
                    raise ComplexaError(
                        f"{name} = {show(value)}: applies to a network given by its sizes; a stack of layers says "
                        f"it in its layers (nn.Linear(..., bias=False), nn.ReLU(), ...)"
                    )
            self._init_stack(sizes, batch, loss, optimizer, seq)
            return
        if seq is not None:
            raise ComplexaError(
                f"seq = {show(seq)}: applies to a network given as layers, whose rows are tokens; a dense network "
                "given by its sizes has one row per sample"
            )
        if len(sizes) < 2:
            raise ComplexaError(
                f"sizes = {show(list(sizes))}: a network needs at least two sizes, the input and the output layer"
            )
        checked = _sizes(sizes)
        bias = True if bias is _UNSET else bias
        activation = "sigmoid" if activation is _UNSET else activation
        self._init(checked, None, sympy.Integer(len(checked) - 1), batch, bias, activation, loss, optimizer)

    def _init_stack(
        self, layers: Sequence[object], batch: object, loss: object, optimizer: object, seq: object = None
    ) -> None:
        from complexa.nn import Sigmoid
        from complexa.nn._base import same
        from complexa.nn._stack import check, walk

        checked, first, last = check(layers)
        self.names, self.ties, self.gpt_config = None, {}, None  # Network.gpt sets them
        self.llama_config = None  # Network.llama sets it
        rows = walk(checked, first)
        wanted = [(row.path, row.layer) for row in rows if row.layer.seq is not None]
        if seq is None:
            self.seq = wanted[0][1].seq if wanted else sympy.Integer(1)
        else:
            self.seq = as_size(seq, "seq")
        for path, layer in wanted:
            if not same(layer.seq, self.seq):
                raise ComplexaError(
                    f"layer {path} ({layer!r}) works on sequences of {layer.seq} tokens, but the network's seq is "
                    f"{self.seq}"
                )
        self._sequences = bool(wanted) or self.seq != 1
        self._layers = checked
        self._widths = (first, last)
        self._sizes = None
        self.width = None
        self.depth = sympy.Integer(len(checked))
        self.batch = as_size(batch, "batch")
        self.bias = any(getattr(layer, "bias", False) for layer in checked)
        self.activation = ""
        self.loss = as_choice(loss, LOSSES, "loss")
        self.optimizer = _optimizer(optimizer)
        if self.loss == "bce" and not isinstance(checked[-1], Sigmoid):
            raise ComplexaError(
                f"loss = 'bce' after layer {len(checked) - 1} ({checked[-1]!r}): binary cross-entropy needs sigmoid "
                "outputs; end the stack with nn.Sigmoid()"
            )

    def _init(
        self,
        sizes: tuple[sympy.Expr, ...] | None,
        width: sympy.Expr | None,
        depth: sympy.Expr,
        batch: object,
        bias: object,
        activation: object,
        loss: object,
        optimizer: object = "sgd",
    ) -> None:
        self._sizes = sizes
        self._layers = None
        self.seq, self.names, self.ties, self.gpt_config = sympy.Integer(1), None, {}, None
        self.llama_config = None
        self._sequences = False
        if width is None and sizes is not None and all(size == sizes[0] for size in sizes):
            width = sizes[0]
        self.width = width
        self.depth = depth
        self.batch = as_size(batch, "batch")
        self.bias = as_flag(bias, "bias")
        self.activation = as_choice(activation, ACTIVATIONS, "activation")
        self.loss = as_choice(loss, LOSSES, "loss")
        self.optimizer = _optimizer(optimizer)
        if self.loss == "bce" and self.activation != "sigmoid":
            raise ComplexaError(
                f"loss = 'bce' with activation = {self.activation!r}: binary cross-entropy needs sigmoid outputs"
            )

    @classmethod
    def uniform(
        cls,
        width: object,
        depth: object,
        *,
        batch: object = 1,
        bias: bool = True,
        activation: str = "sigmoid",
        loss: str = "mse",
        optimizer: object = "sgd",
    ) -> Network:
        """The essay's network: `depth` layers of weights between `depth` + 1 layers of `width` neurons.

        `depth` may be a symbol (``"L"``); sums over layers then keep symbolic bounds.

        >>> Network.uniform(3, 2).sizes
        (3, 3, 3)
        """
        network = cls.__new__(cls)
        width_expr = as_size(width, "width")
        depth_expr = as_size(depth, "depth")
        # Kept in closed form whatever the depth: a depth of 10**18 is as quick to derive as a symbolic one.
        network._init(None, width_expr, depth_expr, batch, bias, activation, loss, optimizer)
        return network

    @classmethod
    def gpt(
        cls,
        vocab: object,
        seq: object,
        d_model: object,
        n_layers: object,
        n_heads: object,
        *,
        d_ff: object = None,
        batch: object = 1,
        bias: bool = True,
        tied: bool = True,
        causal: bool = True,
        optimizer: object = "sgd",
    ) -> Network:
        """GPT-2 as nanoGPT writes it: token and learned position embeddings, `n_layers` pre-LayerNorm blocks
        (`nn.Block`), a final LayerNorm and ``lm_head`` (a Linear d_model -> vocab without bias, `tied` to the token
        embedding), trained with cross-entropy over every position, summed. Every size may be a symbol; `d_ff` is
        4 d_model unless given. The layers are named as nanoGPT's modules (``transformer.h.0.attn.c_attn``).

        >>> from complexa import params
        >>> params(Network.gpt(50257, 1024, 768, 12, 12))  # GPT-2 small
        124439808
        >>> Network.gpt("V", "T", "d", "L", "H", batch="B")
        Network.gpt(V, T, d, L, H, batch=B)
        """
        from complexa.nn import Block, Embedding, LayerNorm, Linear, PositionEmbedding, Repeat

        tied = as_flag(tied, "tied")
        bias = as_flag(bias, "bias")
        causal = as_flag(causal, "causal")
        block = Block(d_model, n_heads, seq, d_ff, bias, causal)
        V = as_size(vocab, "vocab")
        T, d = block.seq_len, block.d_model
        layers = [
            Embedding(V, d),
            PositionEmbedding(T, d),
            Repeat(block, as_size(n_layers, "n_layers")),
            LayerNorm(d),
            Linear(d, V, bias=False),
        ]
        network = cls(layers, batch=batch, loss="cross_entropy", optimizer=optimizer)
        network.names = ("transformer.wte", "transformer.wpe", "transformer.h", "transformer.ln_f", "lm_head")
        network.ties = {"lm_head": "transformer.wte"} if tied else {}
        network.gpt_config = {
            "vocab": V,
            "seq": T,
            "d_model": d,
            "n_layers": layers[2].times,  # type: ignore[attr-defined]
            "n_heads": block.n_heads,
            "d_ff": block.d_ff,
            "bias": bias,
            "tied": tied,
            "causal": causal,
        }
        return network

    @classmethod
    def llama(
        cls,
        vocab: object,
        seq: object,
        d_model: object,
        n_layers: object,
        n_heads: object,
        *,
        n_kv_heads: object = None,
        d_ff: object = None,
        head_dim: object = None,
        batch: object = 1,
        rope_theta: float = 10000.0,
        eps: float = 1e-6,
        tied: bool = False,
        window: object = None,
        bias: bool = False,
        o_bias: bool = False,
        optimizer: object = "sgd",
        mlp_bias: bool = False,
    ) -> Network:
        """A Llama as Hugging Face's ``LlamaForCausalLM`` writes it (and Mistral's with a `window`, Qwen2's with
        `bias`): token embedding, `n_layers` pre-RMSNorm blocks (`nn.LlamaBlock`: attention with RoPE and
        `n_kv_heads` key/value heads, a SwiGLU MLP of width `d_ff`), a final RMSNorm and an untied ``lm_head``
        (`tied` ties it), trained with cross-entropy over every position, summed. Every size may be a symbol; `d_ff`
        is Meta's 8 d / 3 rounded up to a multiple of 256 unless given; `bias` puts a bias on q, k and v (Qwen2),
        `o_bias` on o (Llama's ``attention_bias`` is both), `mlp_bias` on the MLP's gate, up and down projections
        (Llama's ``mlp_bias``). `window` is the sliding window of every layer, or a list of one per layer, None for
        a layer of full attention (Qwen2's ``layer_types``; the depth an integer then), such as ``[None, None, 4096,
        4096]``. Named as Hugging Face's modules (``model.layers.0.self_attn.q_proj``). docs/llms.md has the
        formulas.

        >>> from complexa import params
        >>> params(Network.llama(32000, 4096, 4096, 32, 32))  # Llama-2-7B
        6738415616
        >>> Network.llama("V", "T", "H*h", "L", "H", n_kv_heads="K", d_ff="f", batch="B")  # GQA, head_dim h
        Network.llama(V, T, H*h, L, H, n_kv_heads=K, d_ff=f, batch=B)
        """
        from complexa._llama import llama

        return llama(
            vocab, seq, d_model, n_layers, n_heads, n_kv_heads=n_kv_heads, d_ff=d_ff, head_dim=head_dim, batch=batch,
            rope_theta=rope_theta, eps=eps, tied=tied, window=window, bias=bias, o_bias=o_bias, optimizer=optimizer,
            mlp_bias=mlp_bias,
        )  # fmt: skip

    @classmethod
    def mixtral(
        cls,
        vocab: object,
        seq: object,
        d_model: object,
        n_layers: object,
        n_heads: object,
        *,
        n_experts: object = 8,
        top_k: object = 2,
        n_kv_heads: object = None,
        d_ff: object = None,
        head_dim: object = None,
        batch: object = 1,
        rope_theta: float = 1e6,
        eps: float = 1e-5,
        tied: bool = False,
        window: object = None,
        optimizer: object = "sgd",
    ) -> Network:
        """Mixtral as Hugging Face's ``MixtralForCausalLM`` writes it: `Network.llama` with each block's MLP a
        mixture of `n_experts` SwiGLU experts of width `d_ff`, each token routed to `top_k` of them (`nn.MoE`);
        `window` as `Network.llama`'s.

        >>> from complexa import params
        >>> params(Network.mixtral(32000, 4096, 4096, 32, 32, n_kv_heads=8, d_ff=14336))  # Mixtral-8x7B
        46702792704
        """
        from complexa._llama import llama

        return llama(
            vocab, seq, d_model, n_layers, n_heads, n_kv_heads=n_kv_heads, d_ff=d_ff, head_dim=head_dim, batch=batch,
            rope_theta=rope_theta, eps=eps, tied=tied, window=window, n_experts=n_experts, top_k=top_k,
            optimizer=optimizer,
        )  # fmt: skip

    @classmethod
    def from_config(
        cls, config: object, *, seq: object = None, batch: object = 1, optimizer: object = "sgd"
    ) -> Network:
        """The network a Hugging Face config describes, without downloading anything: `config` is a
        ``transformers.PretrainedConfig``, a dict, a path to a ``config.json``, or the name of a config complexa
        ships (`complexa.configs.NAMES`: ``"gpt2"``, ``"llama-2-7b"``, ``"llama-3-8b"``, ``"mistral-7b"``,
        ``"qwen2-7b"``, ``"mixtral-8x7b"``). Its ``model_type`` is gpt2, llama, mistral, qwen2 or mixtral. `seq` is
        the tokens per sample, ``max_position_embeddings`` (``n_positions``) unless given.

        >>> from complexa import params
        >>> params(Network.from_config("llama-3-8b"))
        8030261248
        """
        from complexa.configs import network_from_config

        return network_from_config(config, seq=seq, batch=batch, optimizer=optimizer)

    @property
    def sequences(self) -> bool:
        """Whether its samples are sequences of `seq` tokens: `seq` is not 1, or a layer works on sequences."""
        return self._sequences

    @property
    def tokens(self) -> sympy.Expr:
        """The rows of a step, B seq: the batch for a network whose rows are samples."""
        return self.batch * self.seq

    @property
    def is_stack(self) -> bool:
        """Whether the network was given as layers of `complexa.nn` rather than as the sizes of a dense network."""
        return self._layers is not None

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers of `complexa.nn` the network is: for a dense network, Linear n_{k-1} -> n_k and its activation
        for k = 1..L; raises `ComplexaError` when the depth is a symbol or above `MAX_LISTED_LAYERS`."""
        if self._layers is not None:
            return self._layers
        from complexa.nn import Linear
        from complexa.nn.activations import BY_NAME

        act = BY_NAME[self.activation]
        sizes = self.sizes
        out: list[Layer] = []
        for m, n in itertools.pairwise(sizes):
            out += [Linear(m, n, self.bias), act()]
        return tuple(out)

    @property
    def input_width(self) -> sympy.Expr:
        """n_0, the features of one input sample."""
        if self._layers is not None:
            return self._widths[0]
        return self._sizes[0] if self._sizes is not None else self.width

    @property
    def output_width(self) -> sympy.Expr:
        """The features of the last layer's output."""
        if self._layers is not None:
            return self._widths[1]
        return self._sizes[-1] if self._sizes is not None else self.width

    @property
    def sizes(self) -> tuple[sympy.Expr, ...]:
        """n_0..n_L; raises `ComplexaError` when the depth is a symbol or above `MAX_LISTED_LAYERS`, or for a stack
        of layers (see `layers`)."""
        if self._sizes is not None:
            return self._sizes
        if self._layers is not None:
            raise ComplexaError(
                "a network given as layers has no list of sizes n_0..n_L; its layers are Network.layers"
            )
        if self.symbolic_depth:
            raise ComplexaError(f"depth = {self.depth}: the layers of a network of symbolic depth are not a list")
        if self.depth > MAX_LISTED_LAYERS:
            raise ComplexaError(
                f"depth = {self.depth}: a uniform network deeper than {MAX_LISTED_LAYERS:,} layers is kept in closed "
                "form; its sizes are not listed"
            )
        assert self.width is not None
        return (self.width,) * (int(self.depth) + 1)

    @property
    def listed(self) -> bool:
        """Whether `sizes` is a list: the depth is an integer of at most `MAX_LISTED_LAYERS`."""
        return not self.symbolic_depth and self.depth <= MAX_LISTED_LAYERS

    @property
    def symbolic_depth(self) -> bool:
        """Whether the number of layers is a symbol."""
        return not self.depth.is_Integer

    @property
    def is_uniform(self) -> bool:
        """Whether every layer, input and output included, has the same size."""
        return self.width is not None

    @property
    def free_symbols(self) -> frozenset[sympy.Symbol]:
        """Every symbol in the sizes, the depth and the batch."""
        try:
            return self._free_symbols
        except AttributeError:  # found once: a network never changes
            exprs = [self.batch, self.depth, self.seq]
            exprs += [*(self._sizes or (self.width,) if self._layers is None else ())]
            found: frozenset[sympy.Symbol] = frozenset().union(*(e.free_symbols for e in exprs if not e.is_Integer))
            for layer in self._layers or ():
                found |= layer.free_symbols
            self._free_symbols: frozenset[sympy.Symbol] = found
            return self._free_symbols

    @property
    def is_concrete(self) -> bool:
        """Whether every size and the batch are integers."""
        return not self.free_symbols

    def to_torch(self) -> Any:
        """The equivalent ``torch.nn.Sequential`` (float64), its ``state_dict()`` names and layouts those of
        `complexa.measure`'s states; a Residual is an ``nn.Sequential`` of its layers whose forward adds its input.
        Needs PyTorch (``pip install 'complexa[torch]'``); raises `ComplexaError` without it."""
        from complexa.nn._torch import to_torch

        return to_torch(self)

    def options(self) -> dict[str, object]:
        """The keyword options, as `Network` takes them."""
        if self._layers is not None:
            out = {"batch": self.batch, "loss": self.loss, "optimizer": self.optimizer}
            if self.seq != 1:
                out["seq"] = self.seq
            return out
        return {
            "batch": self.batch,
            "bias": self.bias,
            "activation": self.activation,
            "loss": self.loss,
            "optimizer": self.optimizer,
        }

    def xreplace(self, mapping: Mapping[sympy.Symbol | str, object]) -> Network:
        """This network with symbols replaced; each new size must still be a positive integer or a symbol. Keys are
        symbols or their names, values ints, sizes or sympy expressions.

        >>> Network([784, "h", 10], batch="B").xreplace({"h": 128, "B": 4})
        Network([784, 128, 10], batch=4)
        """
        by_name = {s.name: s for s in self.free_symbols}
        mapping = {
            (by_name.get(key, sympy.Symbol(key)) if isinstance(key, str) else key): as_size(value, f"xreplace: {key}")
            for key, value in mapping.items()
        }
        options = self.options()
        options["batch"] = _replaced(self.batch, mapping, "batch")
        if self.llama_config is not None:
            from complexa._llama import rebuild

            return rebuild(self, mapping, options["batch"])
        if self.gpt_config is not None:
            config = dict(self.gpt_config)
            for key in ("vocab", "seq", "d_model", "n_layers", "n_heads", "d_ff"):
                config[key] = _replaced(config[key], mapping, key)
            return Network.gpt(**config, batch=options["batch"], optimizer=self.optimizer)
        if "seq" in options:
            options["seq"] = _replaced(self.seq, mapping, "seq")
        if self._layers is not None:
            return Network([layer.xreplace(mapping) for layer in self._layers], **options)  # type: ignore[arg-type]
        if self._sizes is None:
            assert self.width is not None
            depth = _replaced(self.depth, mapping, "depth")
            return Network.uniform(_replaced(self.width, mapping, "width"), depth, **options)  # type: ignore[arg-type]
        sizes = [_replaced(size, mapping, f"sizes[{k}]") for k, size in enumerate(self._sizes)]
        return Network(sizes, **options)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        shape = (self.width, self.depth) if self.width is not None else self._sizes or self._layers
        return (
            shape,
            self.batch,
            self.seq,
            self.names,
            tuple(self.ties.items()),
            self.bias,
            self.activation,
            self.loss,
            self.optimizer,
        )

    def __repr__(self) -> str:
        defaults = {"batch": sympy.Integer(1), "bias": True, "activation": "sigmoid", "loss": "mse", "optimizer": "sgd"}
        extra = "".join(f", {k}={v!r}" for k, v in self.options().items() if v != defaults.get(k))
        if self.llama_config is not None:
            from complexa._llama import shown as llama_shown

            return llama_shown(self)
        if self.gpt_config is not None:
            c = self.gpt_config
            shown = ", ".join(str(c[k]) for k in ("vocab", "seq", "d_model", "n_layers", "n_heads"))
            if sympy.expand(c["d_ff"] - 4 * c["d_model"]) != 0:
                shown += f", d_ff={c['d_ff']}"
            shown += "".join(f", {k}=False" for k in ("bias", "tied", "causal") if not c[k])
            extra = "".join(
                f", {k}={v!r}" for k, v in self.options().items() if k in ("batch", "optimizer") and v != defaults[k]
            )
            return f"Network.gpt({shown}{extra})"
        if self._layers is not None:
            return f"Network([{', '.join(map(repr, self._layers))}]{extra})"
        if self.width is not None and (self.symbolic_depth or self.depth > 7):
            return f"Network.uniform({self.width}, {self.depth}{extra})"
        return f"Network([{', '.join(map(str, self.sizes))}]{extra})"


def _sizes(sizes: Sequence[object]) -> tuple[sympy.Expr, ...]:
    """Each size checked (`as_size`); an int that recurs is checked once (a 10,000-layer network repeats its widths)."""
    seen: dict[int, sympy.Expr] = {}
    out = []
    for k, size in enumerate(sizes):
        if type(size) is int:
            checked = seen.get(size)
            if checked is None:
                checked = seen[size] = as_size(size, f"sizes[{k}]")
            out.append(checked)
        else:
            out.append(as_size(size, f"sizes[{k}]"))
    return tuple(out)


def _optimizer(value: object) -> object:
    """``"sgd"`` as it is (`measure`'s `lr` sets its rate), or an optimizer of `complexa.nn`."""
    if isinstance(value, str) and value == "sgd":
        return value
    from complexa.nn.optim import as_optimizer

    return as_optimizer(value)


def _replaced(expr: sympy.Expr, mapping: Mapping[sympy.Symbol, sympy.Expr], where: str) -> sympy.Expr:
    value = expr.xreplace(mapping)
    if value.is_number and not (value.is_Integer and value > 0):
        raise ComplexaError(f"{where} = {expr} becomes {value}, which is not a positive integer")
    return value
