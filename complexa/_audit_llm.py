"""`audit("kaplan" | "chinchilla" | "megatron" | "palm" | "llama" | "mixtral" | "inference")`: published FLOP formulas
of large language models, checked.

Each published statement (a parameter count, or the FLOPs of a forward pass or a training step) is set beside
complexa's counts of GPT-2 as nanoGPT writes it (`Network.gpt`, every size a symbol): the exact count of every
operation, and PyTorch's ``FlopCounterMode`` convention (matrix products only, 2 FLOPs per multiply-add; the ``torch``
of `complexa.flops`). The torch count is split, from its monomials, into its three parts: the blocks' Linear layers
(the terms in L d^2), the attention's two T x T products q k^T and P v (the terms in T^2) and ``lm_head`` (the terms
in V). A *convention* is a choice of those parts (with or without ``lm_head``; with all, half or none of the attention
products; with the transformer blocks' forward pass, or the whole forward pass, computed again for activation
recomputation); a formula's N is read four ways (every parameter, the non-embedding ones, the weight matrices with the
tied ``lm_head`` counted once, the blocks' weight matrices alone). The audit finds, by symbolic equality, every
convention and reading of N in which a formula is exact, and gives what it drops from the convention its authors
describe, and its relative error against the exact and the torch counts at real configurations.

Issue 22's sources (``llama``, ``mixtral``, ``inference``) are checked the same way on the Llama kinds instead
(`Network.llama` with grouped-query attention and `Network.mixtral`, every size a symbol: `_llama_model`), with the
active parameters of a mixture of experts as more readings of N, a decode step over C cached tokens as a quantity
(``derive(..., phase="decode", cache="C")``), and numbers the sources print (``"7B"``, ``"3.8e25"``) checked at a
configuration to their printed precision (`Claim.printed`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy

from complexa._choices import AUDITS
from complexa._limits import show
from complexa._parse import symbol
from complexa.derivation import Derivation
from complexa.errors import ComplexaError

__all__ = [
    "AUDITS",
    "SOURCES",
    "CONFIGS",
    "TABLE_A4",
    "LLMAudit",
    "LLMRow",
    "Config",
    "Quote",
    "A4Model",
    "A4Row",
    "audit_llm",
    "recomputed",
    "table_a4",
]

SOURCES = AUDITS[1:]

V, T, d, L, H, B = (symbol(name) for name in ("V", "T", "d", "L", "H", "B"))
"""vocab, sequence length (context), d_model, layers, heads, batch (sequences a step)."""
K, hd, f, E, k, C = (symbol(name) for name in ("K", "hd", "f", "E", "k", "C"))
"""The Llama kinds' (issue 22): key/value heads, head dimension, d_ff, experts, experts a token (top_k), and the
tokens cached before a decode step."""
BLOCKS = "transformer.h"
"""The torch module path of nanoGPT's transformer blocks: what Megatron's full activation recomputation recomputes."""
ATTENTION = "transformer.h.{i}.attn"
"""The path of a block's attention: its own row (not its Linear layers) is what selective recomputation recomputes."""


@dataclass(frozen=True)
class Config:
    """A real configuration, one sequence a step (B = 1): the torch counts and every formula scale with B exactly,
    the exact count's update does not."""

    name: str
    vocab: int
    seq: int
    d_model: int
    n_layers: int
    n_heads: int
    note: str = ""
    n_kv_heads: int | None = None
    head_dim: int | None = None
    d_ff: int | None = None
    n_experts: int | None = None
    top_k: int | None = None

    @property
    def values(self) -> dict[sympy.Symbol, int]:
        """The sizes by symbol; C, the tokens cached before a decode step, is T - 1 (the context's last token)."""
        out = {V: self.vocab, T: self.seq, d: self.d_model, L: self.n_layers, H: self.n_heads, B: 1, C: self.seq - 1}
        more = {K: self.n_kv_heads, hd: self.head_dim, f: self.d_ff, E: self.n_experts, k: self.top_k}
        return out | {s: v for s, v in more.items() if v is not None}


CONFIGS = (
    Config("GPT-2 small", 50257, 1024, 768, 12, 12),
    Config("GPT-2 XL", 50257, 1024, 1600, 48, 25),
    Config(
        "GPT-3 175B",
        50257,
        2048,
        12288,
        96,
        96,
        "a dense model of GPT-3 175B's size: GPT-3 alternates dense and locally banded sparse attention patterns "
        "in its layers (Brown et al. 2020, Section 2.1), which the figures here do not model",
    ),
    Config("small, long context", 50257, 2048, 128, 2, 4),
)
"""GPT-2 small and XL (Radford et al. 2019), GPT-3 175B (Brown et al. 2020, Table 2.1), and a small model with a long
context where the attention and vocabulary terms are most of the work."""

LLAMA_CONFIGS = (
    Config("Llama-2-7B", 32000, 4096, 4096, 32, 32, n_kv_heads=32, head_dim=128, d_ff=11008),
    Config("Llama-3-8B", 128256, 8192, 4096, 32, 32, n_kv_heads=8, head_dim=128, d_ff=14336),
    Config(
        "Llama-3-405B",
        128256,
        8192,
        16384,
        126,
        128,
        "Dubey et al. 2024, Table 3, with Hugging Face's vocabulary of 128,256 (the table prints 128,000) and the "
        "pre-training context of 8,192 tokens (the context is extended to 128K at the end of pre-training)",
        n_kv_heads=8,
        head_dim=128,
        d_ff=53248,
    ),
)
"""The shipped configs llama-2-7b and llama-3-8b (complexa.configs), and Llama 3's 405B; T is the context."""
MIXTRAL_CONFIGS = (
    Config(
        "Mixtral-8x7B",
        32000,
        32768,
        4096,
        32,
        32,
        "T is its context, 32,768 tokens (max_position_embeddings): Jiang et al. 2024 do not say the sequence length "
        "it was trained with",
        n_kv_heads=8,
        head_dim=128,
        d_ff=14336,
        n_experts=8,
        top_k=2,
    ),
)
"""The shipped config mixtral-8x7b."""
FAMILIES = {"gpt": CONFIGS, "llama": LLAMA_CONFIGS, "mixtral": MIXTRAL_CONFIGS}
"""The model a claim is checked on -> the configurations of its relative errors."""


def recomputed(derivation: Derivation, scope: str = "", *, nested: bool = True) -> dict[str, dict[str, sympy.Expr]]:
    """`derivation`'s counts with full activation recomputation: the forward pass of the layers under `scope`
    computed a second time, during the backward pass, as the phase ``"recompute"``.

    Full activation recomputation (gradient checkpointing) keeps only the inputs of the checkpointed layers in the
    forward pass and runs their forward pass again before their backward pass; nothing else changes. Megatron-LM
    checkpoints every transformer layer and not the logits (``scope="transformer.h"``); ``scope=""`` recomputes the
    whole forward pass. Selective recomputation (Korthikanti et al. 2022) recomputes only the attention's own
    operations, q k^T, the mask, softmax, dropout and P v, not its Linear layers:
    ``scope="transformer.h.{i}.attn", nested=False``.

    **Arguments:**

    - `derivation`: `derive` of a network given as layers (its `by_layer` rows name the layers).
    - `scope`: a torch module path; the layers at it and under it are recomputed. Empty: every layer.
    - `nested`: whether the layers under `scope` are recomputed with it; ``False``: the row at `scope` alone.

    **Returns:** phase (``forward``, ``recompute``, ``backward``, ``update``) -> op -> count.

    **Raises:** `ComplexaError` when no layer is at `scope`.

    >>> from complexa import Network, derive, nn
    >>> net = Network([nn.Linear(4, "h"), nn.ReLU(), nn.Linear("h", 2)], batch="B")
    >>> counts = recomputed(derive(net), scope="0")
    >>> counts["recompute"]["mul"], counts["forward"]["mul"]
    (4*B*h, 6*B*h)
    >>> recomputed(derive(net))["recompute"] == derive(net).counts["forward"]
    True
    >>> recomputed(derive(net), scope="0", nested=False)["recompute"]["mul"]
    4*B*h
    """
    counts = derivation.counts
    if not scope:
        again = dict(counts["forward"])
    else:
        rows = [p for p in derivation.by_layer if p == scope or (nested and p.startswith(scope + "."))]
        if not rows:
            raise ComplexaError(
                f"scope = {show(scope)}: no layer at that path; the network has {', '.join(derivation.by_layer)}"
            )
        again = {op: sympy.Add(*(derivation.by_layer[p]["forward"][op] for p in rows)) for op in counts["forward"]}
    return {
        "forward": dict(counts["forward"]),
        "recompute": again,
        **{p: dict(counts[p]) for p in counts if p != "forward"},
    }


def _total(counts: dict[str, dict[str, sympy.Expr]]) -> sympy.Expr:
    return sympy.expand(sympy.Add(*(v for ops in counts.values() for v in ops.values())))


def _terms(expr: sympy.Expr, keep: Callable[[sympy.Expr], bool]) -> sympy.Expr:
    return sympy.Add(*(t for t in sympy.Add.make_args(sympy.expand(expr)) if keep(t)))


def _split(torch: sympy.Expr) -> dict[str, sympy.Expr]:
    """A torch count of the GPT in its three parts, read off its monomials: ``lm_head`` (the terms in V), the
    attention products (in T^2) and the blocks' Linear layers (in L d^2); raises if a term is none of them."""
    head = _terms(torch, lambda t: t.has(V))
    attention = _terms(torch, lambda t: not t.has(V) and sympy.degree(t, T) == 2)
    linear = sympy.expand(torch - head - attention)
    stray = _terms(linear, lambda t: sympy.degree(t, d) != 2 or not t.has(L))
    if stray != 0:
        raise AssertionError(f"a term of the torch count is in no part: {stray}")
    return {"linear": linear, "attention": attention, "head": head}


TORCH_ATTENTION = {"": 1, ", half the attention products": sympy.Rational(1, 2), ", no attention products": 0}
TORCH_RECOMPUTE = ("", ", blocks recomputed", ", whole forward recomputed", ", attention recomputed")


@dataclass(frozen=True)
class _Model:
    """The symbolic GPT's counts, whole steps (B sequences of T tokens): every convention and reading of N."""

    params: dict[str, sympy.Expr]
    """reading of N -> parameters."""
    flops: dict[str, dict[str, sympy.Expr]]
    """``forward`` / ``training`` -> convention -> count."""


@functools.cache
def _model() -> _Model:
    from complexa import Network, derive, flops, params

    net = Network.gpt(V, T, d, L, H, batch=B)
    derivation = derive(net)
    every = sympy.expand(params(net))
    embeddings = _terms(every, lambda t: t.has(V) or t.has(T))
    blocks = _terms(every, lambda t: sympy.degree(t, d) == 2)
    readings = {
        "all parameters": every,
        "non-embedding parameters": sympy.expand(every - embeddings),
        "weight matrices": sympy.expand(blocks + _terms(every, lambda t: t.has(V))),
        "the blocks' weight matrices": blocks,
    }
    parts = {p: _split(flops(net, convention="torch", phase=p)) for p in ("forward", "training")}
    out: dict[str, dict[str, sympy.Expr]] = {"forward": {}, "training": {}}
    out["forward"]["exact"] = flops(net, phase="forward")
    out["training"]["exact"] = flops(net, phase="training")
    out["training"]["exact, blocks recomputed"] = _total(recomputed(derivation, BLOCKS))
    out["training"]["exact, whole forward recomputed"] = _total(recomputed(derivation))
    out["training"]["exact, attention recomputed"] = _total(recomputed(derivation, ATTENTION, nested=False))
    fwd = parts["forward"]
    for head in (True, False):
        for attention, share in TORCH_ATTENTION.items():
            name = "torch" + ("" if head else ", no lm_head") + attention
            for phase in ("forward", "training"):
                part = parts[phase]
                base = part["linear"] + share * part["attention"] + (part["head"] if head else 0)
                out[phase][name] = sympy.expand(base)
                if phase == "training":
                    blocks_again = fwd["linear"] + share * fwd["attention"]
                    out[phase][name + TORCH_RECOMPUTE[1]] = sympy.expand(base + blocks_again)
                    whole = blocks_again + (fwd["head"] if head else 0)
                    out[phase][name + TORCH_RECOMPUTE[2]] = sympy.expand(base + whole)
                    out[phase][name + TORCH_RECOMPUTE[3]] = sympy.expand(base + share * fwd["attention"])
    out["activations"] = _activations(net)
    return _Model(params=readings, flops=out)


def _activations(net: object) -> dict[str, sympy.Expr]:
    """The bytes autograd saves in one transformer block, 16-bit (`memory(..., layout="torch")`), as the block
    saves them and with the attention's own operations recomputed; one convention, so ``exact`` is ``torch``."""
    from complexa._saved import saved_by_layer

    out = {}
    for name, again in (("", False), (TORCH_RECOMPUTE[3], True)):
        saved = saved_by_layer(net, "bfloat16", recompute_attention=again)
        block = sympy.Add(*(b for path, (_, b) in saved.items() if path.startswith(BLOCKS + ".{i}.")))
        out["torch" + name] = out["exact" + name] = sympy.expand(block / L)
    return out


def _active(expr: sympy.Expr) -> sympy.Expr:
    """`expr` with the experts' terms (in E and d_ff) taken for the k experts a token is routed to: what a token
    touches. The router's E rows stay: every token uses them."""
    return sympy.expand(
        sympy.Add(*(t.xreplace({E: k}) if t.has(E) and t.has(f) else t for t in sympy.Add.make_args(expr)))
    )


def _llama_split(torch: sympy.Expr) -> dict[str, sympy.Expr]:
    """A torch count of the Llama kinds in three parts: ``lm_head`` (the terms in V), the attention products (the
    terms without d: B L H hd T^2 for T queries over T keys, B L H hd (C + 1) for a decode step's one over C + 1) and
    the blocks' Linear layers and router (the rest, each in L and d times a width)."""
    head = _terms(torch, lambda t: t.has(V))
    attention = _terms(torch, lambda t: not t.has(V) and not t.has(d))
    linear = sympy.expand(torch - head - attention)
    stray = _terms(linear, lambda t: not t.has(L) or not t.has(d))
    if stray != 0:
        raise AssertionError(f"a term of the torch count is in no part: {stray}")
    return {"linear": linear, "attention": attention, "head": head}


@functools.cache
def _llama_model(kind: str) -> _Model:
    """The symbolic Llama (``kind="llama"``: GQA, SwiGLU, RoPE, untied head) or Mixtral (``"mixtral"``: E experts,
    top k) counts: readings of N, and ``forward`` / ``training`` / ``decode`` -> convention -> count."""
    from complexa import Network, flops, params

    sizes = {"n_kv_heads": K, "head_dim": hd, "d_ff": f, "batch": B}
    if kind == "mixtral":
        net = Network.mixtral(V, T, d, L, H, n_experts=E, top_k=k, **sizes)
    else:
        net = Network.llama(V, T, d, L, H, **sizes)
    every = sympy.expand(params(net))
    norms = _terms(every, lambda t: t.free_symbols <= {L, d} and sympy.degree(t, d) == 1)
    embeddings = _terms(every, lambda t: t.has(V))  # embed_tokens and lm_head, V d each
    blocks = sympy.expand(every - embeddings - norms)
    readings = {
        "all parameters": every,
        "non-embedding parameters": sympy.expand(every - embeddings),
        "weight matrices": sympy.expand(blocks + embeddings / 2),
        "the blocks' weight matrices": blocks,
    }
    if kind == "mixtral":
        named = ("active parameters", "active non-embedding parameters", "active weight matrices")
        readings |= dict(zip((*named, "the blocks' active weight matrices"), map(_active, readings.values())))
    step = {"cache": C}  # a decode step over C cached tokens (docs/inference.md)
    phases = {"forward": {}, "training": {}, "decode": step}
    out = {p: {"exact": flops(net, phase=p, **at)} for p, at in phases.items()}
    parts = {p: _llama_split(flops(net, convention="torch", phase=p, **at)) for p, at in phases.items()}
    for head in (True, False):
        for attention, share in TORCH_ATTENTION.items():
            name = "torch" + ("" if head else ", no lm_head") + attention
            for phase, part in parts.items():
                out[phase][name] = sympy.expand(
                    part["linear"] + share * part["attention"] + (part["head"] if head else 0)
                )
    return _Model(params=readings, flops=out)


def _model_of(name: str) -> _Model:
    return _model() if name == "gpt" else _llama_model(name)


@dataclass(frozen=True)
class Quote:
    """A source's words: `text`, and whether it is `verbatim` (the source's own words, character for character but
    for typesetting: subscripts, fractions and Greek letters written out) or a paraphrase (complexa's summary)."""

    text: str
    verbatim: bool

    def __str__(self) -> str:
        return f'"{self.text}"' if self.verbatim else f"[paraphrase] {self.text}"


def _verbatim(*texts: str) -> tuple[Quote, ...]:
    return tuple(Quote(t, True) for t in texts)


def _paraphrase(text: str) -> Quote:
    return Quote(text, False)


@dataclass(frozen=True)
class Claim:
    """One published statement and how it reads in complexa's symbols: the fields of its `LLMRow`."""

    key: str
    source: str
    cite: str
    quotes: tuple[Quote, ...]
    symbols: str
    quantity: str
    """``parameters``, ``forward`` (one forward pass), ``training`` (one training step), ``decode`` (a decode step
    over C cached tokens) or ``activations`` (the bytes a transformer layer saves for the backward pass)."""
    unit: str
    """``per token``, ``per iteration`` (B sequences of T tokens), ``per generated token`` (a decode step of one
    sequence), ``bytes per layer`` (B sequences) or ``""`` for parameters."""
    formula: Callable[[sympy.Expr], sympy.Expr]
    """N -> the published expression in V, T, d, L, H, B."""
    n: str
    """The paper's own N: a reading of `_Model.params`, or ``""`` where the formula has no N."""
    authors: str
    """The convention the authors describe: a reading of N for parameters, else a name of `_Model.flops`."""
    note: str = ""
    model: str = "gpt"
    """The model it is checked on: ``gpt`` (`Network.gpt`), ``llama`` (`Network.llama` with GQA) or ``mixtral``."""
    printed: str = ""
    """A number the source prints (``"7B"``, ``"3.8e25"``), checked at the configuration `at`; ``""``: none."""
    at: str = ""
    tokens: int = 0
    """For a printed count of a whole training run: its tokens D (the count is per token times D)."""


def _appendix_f(n: sympy.Expr) -> sympy.Expr:
    """Hoffmann et al. 2022, Appendix F's count of a training step, as written: 3 x (embeddings + L x (attention +
    dense block) + logits), per sequence, times the B sequences of a step."""
    embeddings = logits = 2 * T * V * d
    attention = 6 * T * d**2 + 2 * T**2 * d + 3 * H * T**2 + 2 * T**2 * d + 2 * T * d**2
    dense = 2 * T * (2 * d * 4 * d)
    return 3 * B * (embeddings + L * (attention + dense) + logits)


def _parameters_claim(**fields: Any) -> Claim:
    """A claim of a model's size: N itself, every parameter, as its authors count them too."""
    return Claim(
        quantity="parameters",
        unit="",
        formula=lambda n: n,
        n="all parameters",
        authors="all parameters",
        **fields,
    )


CLAIMS = (
    Claim(
        key="kaplan_params",
        source="kaplan",
        cite="Kaplan et al. 2020, Scaling Laws for Neural Language Models, Section 2.1, Eq. (2.1) and Table 1",
        quotes=(
            _paraphrase(
                "N ≈ 2 d_model n_layer (2 d_attn + d_ff) = 12 n_layer d_model^2, with the standard d_attn = d_ff/4 "
                "= d_model"
            ),
        ),
        symbols="n_layer = L, d_model = d_attn = d, d_ff = 4 d",
        quantity="parameters",
        unit="",
        formula=lambda n: 12 * L * d**2,
        n="",
        authors="non-embedding parameters",
        note="N is defined as the non-embedding parameters; the paper says biases and other sub-leading terms are "
        "left out.",
    ),
    Claim(
        key="kaplan_forward",
        source="kaplan",
        cite="Kaplan et al. 2020, Section 2.1, Eq. (2.2); Table 1's total row reads C_forward = 2N + 2 n_layer n_ctx "
        "d_attn",
        quotes=_verbatim("C_forward ≈ 2N + 2 n_layer n_ctx d_model"),
        symbols="N = 12 n_layer d_model^2, n_ctx = T, d_attn = d_model = d; per token, in add-multiply operations",
        quantity="forward",
        unit="per token",
        formula=lambda n: 2 * n + 2 * L * T * d,
        n="the blocks' weight matrices",
        authors="torch, no lm_head",
        note="Table 1 counts the de-embedding, 2 d_model n_vocab, apart, and leaves it out of the non-embedding "
        "total. Its 'Attention: Mask' row, 2 n_layer n_ctx d_attn, is half of what the two T x T products (q k^T "
        "and P v) cost in full: one of them, or both over half the context (a causal average).",
    ),
    Claim(
        key="kaplan_training",
        source="kaplan",
        cite="Kaplan et al. 2020, Section 2.1",
        quotes=_verbatim(
            "C ≈ 6N floating point operators per training token",
            "we do not include context-dependent terms in our training compute estimate",
        ),
        symbols="N = 12 n_layer d_model^2",
        quantity="training",
        unit="per token",
        formula=lambda n: 6 * n,
        n="the blocks' weight matrices",
        authors="torch, no lm_head, no attention products",
        note="The backward pass is taken as twice the forward pass, and the context-dependent term is dropped, as "
        "for d_model > n_ctx/12 it is small.",
    ),
    Claim(
        key="chinchilla_6nd",
        source="chinchilla",
        cite="Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, Section 3.3 and Appendix F",
        quotes=(
            *_verbatim("FLOPs(N, D) ≈ 6ND"),
            _paraphrase("for N parameters and D training tokens; Appendix F counts the embedding matrices in N"),
        ),
        symbols="N = every parameter, embeddings included; per token: 6N",
        quantity="training",
        unit="per token",
        formula=lambda n: 6 * n,
        n="all parameters",
        authors="torch",
        note="With N = every parameter, 6N charges 6 FLOPs to each bias, LayerNorm weight and position embedding, "
        "which do no matrix product, and nothing to the attention products.",
    ),
    Claim(
        key="chinchilla_appendix_f",
        source="chinchilla",
        cite="Hoffmann et al. 2022, Appendix F (FLOPs computation), as written; said to be used for Table A4",
        quotes=(
            _paraphrase(
                "forward: embeddings 2 seq vocab d_model; per layer 2·3 seq d_model (key_size num_heads) + 2 seq^2 "
                "(key_size num_heads) + 3 num_heads seq^2 + 2 seq^2 (key_size num_heads) + 2 seq (key_size "
                "num_heads) d_model + 2 seq (2 d_model ffw_size); logits 2 seq d_model vocab; backward = 2 x forward"
            ),
        ),
        symbols="seq = T, vocab = V, d_model = d, key_size num_heads = d, num_heads = H, ffw_size = 4 d",
        quantity="training",
        unit="per iteration",
        formula=_appendix_f,
        n="",
        authors="torch",
        note="Per sequence, times the B sequences of a step. The embedding lookup is charged as a matrix product "
        "with one-hot rows, and the softmax 3 per score; PyTorch's FlopCounterMode counts neither. Table A4's "
        "printed ratios are not reproduced by this count as written, only without its embeddings and logits: see "
        "the Table A4 section.",
    ),
    Claim(
        key="megatron_recompute",
        source="megatron",
        cite="Narayanan et al. 2021, Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM, "
        "Section 5.1, Eq. (3)",
        quotes=(
            _paraphrase("F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h)) per iteration, with"),
            *_verbatim("activation recomputation (an extra forward pass)"),
        ),
        symbols="s = T, l = L, h = d, B = B, V = V",
        quantity="training",
        unit="per iteration",
        formula=lambda n: 96 * B * T * L * d**2 * (1 + T / (6 * d) + V / (16 * L * d)),
        n="",
        authors="torch, blocks recomputed",
        note="The transformer layers' forward pass runs twice (activation recomputation), the logits layer's once.",
    ),
    Claim(
        key="megatron_model",
        source="megatron",
        cite="Korthikanti et al. 2022, Reducing Activation Recomputation in Large Transformer Models, Appendix A "
        "(FLOPs Calculation), Eq. (7)",
        quotes=(
            _paraphrase("model FLOPs per iteration = 72 B L s h^2 (1 + s/(6h) + v/(12 h L)), without recomputation"),
        ),
        symbols="s = T, L = L, h = d, B = B, v = V",
        quantity="training",
        unit="per iteration",
        formula=lambda n: 72 * B * T * L * d**2 * (1 + T / (6 * d) + V / (12 * L * d)),
        n="",
        authors="torch",
        note="Model FLOPs count no recomputation, whatever the implementation recomputes; hardware FLOPs with full "
        "recomputation are the row megatron_recompute, with selective recomputation megatron_selective.",
    ),
    Claim(
        key="megatron_selective",
        source="megatron",
        cite="Korthikanti et al. 2022, Appendix A (FLOPs Calculation), Eq. (8)",
        quotes=(
            _paraphrase(
                "hardware FLOPs per iteration with selective activation recomputation = 72 B L s h^2 (1 + s/(3h) + "
                "v/(12 h L))"
            ),
        ),
        symbols="s = T, L = L, h = d, B = B, v = V",
        quantity="training",
        unit="per iteration",
        formula=lambda n: 72 * B * T * L * d**2 * (1 + T / (3 * d) + V / (12 * L * d)),
        n="",
        authors="torch, attention recomputed",
        note="Selective recomputation recomputes, in the backward pass, the attention's own operations (q k^T, the "
        "mask, softmax, dropout, P v) and not its Linear layers: complexa derives it by recomputing the forward "
        "row of transformer.h.{i}.attn alone (recomputed(..., nested=False)). In torch's convention that adds the "
        "two T x T products' forward pass, 4 B L T^2 d; Eq. (8) adds 12 B L T^2 d, three times that: the "
        "products' forward and backward pass.",
    ),
    Claim(
        key="megatron_activations",
        source="megatron",
        cite="Korthikanti et al. 2022, Section 4.1, Eq. (1) (Eq. (2) is its tensor-parallel form) and Table 2",
        quotes=(
            _paraphrase(
                "activations memory per transformer layer = sbh(34 + 5as/h) bytes, 16-bit activations, with "
                "dropout, no parallelism"
            ),
        ),
        symbols="s = T, b = B, h = d, a = H",
        quantity="activations",
        unit="bytes per layer",
        formula=lambda n: 34 * T * B * d + 5 * H * T**2 * B,
        n="",
        authors="torch",
        note="complexa's count is what autograd saves in one of nanoGPT's blocks in bfloat16 (memory(..., "
        "layout='torch'), checked against torch's real saved tensors); that GPT has no dropout. The paper's "
        "2sbh + 3as^2b are dropout's: the masks of the two residual dropouts and of the attention dropout, a byte "
        "each, and the attention dropout's output. complexa's extra terms are LayerNorm's statistics (mean and "
        "1/std, 2 per token for each of the two LayerNorms; bfloat16 on the CPU, float32 on a GPU) and nanoGPT's "
        "causal mask, T^2 bools made every forward pass; Megatron's fused softmax keeps neither.",
    ),
    Claim(
        key="megatron_activations_selective",
        source="megatron",
        cite="Korthikanti et al. 2022, Section 5 and Table 2 (selective activation recomputation, t = 1)",
        quotes=(
            _paraphrase(
                "activations memory per transformer layer with selective activation recomputation = 34 sbh bytes "
                "(sbh(34/t) with tensor and sequence parallelism of degree t)"
            ),
        ),
        symbols="s = T, b = B, h = d",
        quantity="activations",
        unit="bytes per layer",
        formula=lambda n: 34 * T * B * d,
        n="",
        authors="torch, attention recomputed",
        note="Selective recomputation checkpoints the attention's own operations (q k^T, the mask, softmax, "
        "dropout, P v): the region keeps q, k and v, its input, and saves nothing in T^2. complexa counts that "
        "block without dropout: the paper's 2 sbh are its two residual dropouts' masks.",
    ),
    Claim(
        key="palm",
        source="palm",
        cite="Chowdhery et al. 2022, PaLM: Scaling Language Modeling with Pathways, Section 4.1 and Appendix B",
        quotes=(
            _paraphrase(
                "6N + 12LHQT FLOPs per token, for N parameters, L layers, H heads, head dimension Q, sequence "
                "length T (model FLOPs: no rematerialization)"
            ),
        ),
        symbols="N = every parameter, L = L, H Q = d, T = T",
        quantity="training",
        unit="per token",
        formula=lambda n: 6 * n + 12 * L * T * d,
        n="all parameters",
        authors="torch",
        note="PaLM itself has no biases, no position embedding and a shared input/output embedding, so its N is "
        "close to its weight matrices; nanoGPT's estimate_mfu takes N = every parameter but the position "
        "embedding.",
    ),
    # issue 22: Llama 2 and 3, Mixtral, and the decode rule of thumb, on complexa's Llama kinds
    _parameters_claim(
        key="llama1_7b_params",
        source="llama",
        cite="Touvron et al. 2023, LLaMA: Open and Efficient Foundation Language Models, Table 2 (params)",
        quotes=(_paraphrase("the smallest LLaMA model has 6.7B parameters (dimension 4096, 32 heads, 32 layers)"),),
        symbols="N = every parameter; Llama-2-7B's architecture (vocabulary 32,000, d_ff 11,008), LLaMA 7B's too",
        model="llama",
        printed="6.7B",
        at="Llama-2-7B",
    ),
    _parameters_claim(
        key="llama2_7b_params",
        source="llama",
        cite="Touvron et al. 2023, Llama 2: Open Foundation and Fine-Tuned Chat Models, Table 1 (Params)",
        quotes=(_paraphrase("Llama 2 comes in 7B, 13B, 34B and 70B parameters"),),
        symbols="N = every parameter (Hugging Face's Llama-2-7b-hf, the shipped config llama-2-7b)",
        model="llama",
        printed="7B",
        at="Llama-2-7B",
        note="7B is a model's name, to the nearest billion.",
    ),
    _parameters_claim(
        key="llama3_8b_params",
        source="llama",
        cite="Dubey et al. 2024, The Llama 3 Herd of Models, Table 3",
        quotes=(_paraphrase("Llama 3 comes in 8B, 70B and 405B parameters"),),
        symbols="N = every parameter (Meta-Llama-3-8B, the shipped config llama-3-8b)",
        model="llama",
        printed="8B",
        at="Llama-3-8B",
    ),
    _parameters_claim(
        key="llama3_405b_params",
        source="llama",
        cite="Dubey et al. 2024, The Llama 3 Herd of Models, abstract and Table 3",
        quotes=_verbatim(
            "Our largest model is a dense Transformer with 405B parameters and a context window of up to 128K tokens"
        ),
        symbols="N = every parameter; Table 3: 126 layers, model dimension 16,384, FFN dimension 53,248, 128 heads, "
        "8 key/value heads",
        model="llama",
        printed="405B",
        at="Llama-3-405B",
        note="405B is the model's name: its parameters are 405.85B, 406B to the nearest billion (405.84B with Table "
        "3's vocabulary of 128,000).",
    ),
    Claim(
        key="llama3_405b_flops",
        source="llama",
        cite="Dubey et al. 2024, The Llama 3 Herd of Models, Sections 1 and 3 (pre-training of the 405B model)",
        quotes=(
            _paraphrase(
                "the flagship model was pre-trained with 3.8 x 10^25 FLOPs, on 15.6T tokens, with a context window "
                "of 8K tokens"
            ),
        ),
        symbols="D = 15.6 x 10^12 tokens, T = 8,192; checked against 6N per token times D",
        quantity="training",
        unit="per token",
        formula=lambda n: 6 * n,
        n="all parameters",
        authors="torch",
        model="llama",
        printed="3.8e25",
        at="Llama-3-405B",
        tokens=15_600_000_000_000,
        note="The paper does not say how it counts; 3.8e25 is 6ND with N every parameter (3.799e25), not the FLOPs "
        "of the model's matrix products at its context of 8,192 tokens (4.096e25), which add the attention products "
        "12 L T H hd per token, 8% more. The last stage of pre-training (long context, up to 128K tokens) is not "
        "modelled.",
    ),
    _parameters_claim(
        key="mixtral_params",
        source="mixtral",
        cite="Jiang et al. 2024, Mixtral of Experts, abstract and Section 2",
        quotes=_verbatim(
            "each token has access to 47B parameters, but only uses 13B active parameters during inference"
        ),
        symbols="N = every parameter: 8 experts a layer (the shipped config mixtral-8x7b)",
        model="mixtral",
        printed="47B",
        at="Mixtral-8x7B",
    ),
    Claim(
        key="mixtral_active",
        source="mixtral",
        cite="Jiang et al. 2024, Mixtral of Experts, abstract and Section 2",
        quotes=_verbatim(
            "each token has access to 47B parameters, but only uses 13B active parameters during inference"
        ),
        symbols="N = the parameters a token uses: every parameter but the experts it is not routed to (top 2 of 8)",
        quantity="parameters",
        unit="",
        formula=lambda n: n,
        n="active parameters",
        authors="active parameters",
        model="mixtral",
        printed="13B",
        at="Mixtral-8x7B",
        note="A token is routed to k = 2 of the E = 8 experts of each layer; the router's E rows and everything "
        "outside the experts (attention, norms, embedding, head) it uses whatever the routing.",
    ),
    Claim(
        key="moe_6n",
        source="mixtral",
        cite="Kaplan et al. 2020, Section 2.1's C ≈ 6N, with N a mixture of experts' active parameters",
        quotes=(
            _paraphrase(
                "training FLOPs of a mixture of experts ≈ 6 N_active D, N_active the parameters a token uses "
                "(the common reading of '13B active parameters')"
            ),
        ),
        symbols="N = the active parameters (every parameter but the experts a token is not routed to)",
        quantity="training",
        unit="per token",
        formula=lambda n: 6 * n,
        n="active parameters",
        authors="torch",
        model="mixtral",
        note="In torch's convention a training step is 3 x 2 FLOPs per multiply-add of the k experts' SwiGLUs, the "
        "router, the attention's projections, the attention products and lm_head. 6 N_active charges the router "
        "and lm_head rightly, and 6 FLOPs to each embedding row and norm weight, which do no matrix product; it "
        "leaves out the attention products, 12 L T H hd per token.",
    ),
    Claim(
        key="decode_2n",
        source="inference",
        cite="Kaplan et al. 2020, Section 2.1, Eq. (2.2)'s 2N, as the rule of thumb for a generated token",
        quotes=(
            *_verbatim("C_forward ≈ 2N + 2 n_layer n_ctx d_model"),
            _paraphrase("a generated token costs 2N FLOPs, N the parameters (the common inference arithmetic)"),
        ),
        symbols="N = every parameter (7B for Llama-2-7B); a decode step with C tokens cached",
        quantity="decode",
        unit="per generated token",
        formula=lambda n: 2 * n,
        n="all parameters",
        authors="torch",
        model="llama",
        note="A decode step over C cached tokens: in torch's convention 2 FLOPs per multiply-add of every weight "
        "matrix once (q, k, v, o, gate, up, down, lm_head), and the two attention products of the new token's H "
        "query heads over the C + 1 keys (C cached and its own), 4 L H hd (C + 1): grouped-query attention shrinks "
        "the cache, not these products. 2N with N every parameter also charges the token embedding and the norms' "
        "weights, which do no product. Relative errors at C = T - 1.",
    ),
    Claim(
        key="decode_2n_moe",
        source="inference",
        cite="Kaplan et al. 2020, Section 2.1, Eq. (2.2)'s 2N with N a mixture of experts' active parameters",
        quotes=(_paraphrase("a generated token of a mixture of experts costs 2 N_active FLOPs"),),
        symbols="N = the active parameters (13B for Mixtral-8x7B: every parameter but the experts a token is not "
        "routed to); a decode step with C tokens cached",
        quantity="decode",
        unit="per generated token",
        formula=lambda n: 2 * n,
        n="active parameters",
        authors="torch",
        model="mixtral",
        note="As decode_2n: the attention products over the C + 1 keys are what 2N leaves out.",
    ),
    Claim(
        key="decode_kaplan_context",
        source="inference",
        cite="Kaplan et al. 2020, Section 2.1, Eq. (2.2), with n_ctx the C + 1 keys of a decode step",
        quotes=_verbatim("C_forward ≈ 2N + 2 n_layer n_ctx d_model"),
        symbols="N = the blocks' weight matrices (Kaplan's 12 n_layer d_model^2 for GPT), n_ctx = C + 1, d_attn = H hd",
        quantity="decode",
        unit="per generated token",
        formula=lambda n: 2 * n + 2 * L * (C + 1) * H * hd,
        n="the blocks' weight matrices",
        authors="torch, no lm_head",
        model="llama",
        note="Kaplan's context term, 2 n_layer n_ctx d_attn, is half the two attention products of a token over "
        "n_ctx keys: a training token attends to its position's keys, on average half the context, but a decode "
        "step's token attends to all C + 1. As in kaplan_forward, the de-embedding (lm_head, 2 d V) is apart.",
    ),
)

REFERENCES = ("authors", "torch", "exact")
"""What a formula's relative error is taken against: the count in its authors' convention, torch's, the exact one."""
READINGS = ("all parameters", "non-embedding parameters", "weight matrices", "the blocks' weight matrices")
"""The readings of N, in the order the audit tries them."""


@dataclass(frozen=True)
class LLMRow:
    """One published statement, checked.

    **Attributes:**

    - `key`, `source`, `cite`, `quotes`, `symbols`, `quantity`, `unit`, `note`: as in its `Claim`; each quote is
      marked verbatim or paraphrase.
    - `published`: the formula in V, T, d, L, H, B, with the paper's own N.
    - `exact`: complexa's exact count in the same unit (every operation; every parameter); for a formula with
      recomputation, the exact count with the same recomputation.
    - `torch`: PyTorch's ``FlopCounterMode`` count, the whole model (every parameter for `parameters`); for a formula
      with recomputation, with the same recomputation.
    - `authors`, `in_authors`: the convention the authors describe, and the count in it.
    - `dropped`: `in_authors` - `published`: what the formula leaves out of its own convention (negative terms
      are what it adds); 0 when it is exact there.
    - `dropped_torch`: `torch` - `published`.
    - `exact_in`: every convention (for N-formulas, ``"convention, N = reading"``) the formula equals.
    - `errors`: config name -> ``{"authors": ..., "torch": ...,  "exact": ...}``: published / count - 1, against
      `in_authors`, `torch` and `exact`.
    """

    key: str
    source: str
    cite: str
    quotes: tuple[Quote, ...]
    symbols: str
    quantity: str
    unit: str
    note: str
    published: sympy.Expr
    exact: sympy.Expr
    torch: sympy.Expr
    authors: str
    in_authors: sympy.Expr
    dropped: sympy.Expr
    dropped_torch: sympy.Expr
    exact_in: tuple[str, ...]
    errors: dict[str, dict[str, float]]
    printed: str = ""
    at: str = ""
    values: dict[str, sympy.Expr] | None = None
    rule: str = ""

    @property
    def verdict(self) -> str:
        """``"exact in <the authors' convention>"``, or what the formula drops from it and where it is exact; for a
        printed number, whether it is the count in the authors' convention rounded, and where it is."""
        if self.printed:
            assert self.values is not None
            value = self.values["authors"]
            if rounds_to(value, self.printed):
                said = f"{self.printed} is {self.authors} at {self.at}, {_number(value)}, rounded"
            else:
                said = (
                    f"{self.printed} is not {self.authors} at {self.at}, {_number(value)} "
                    f"({100 * self.errors[self.at]['authors']:+.3g}%); "
                    + (f"it is {self.exact_in[0]}, rounded" if self.exact_in else "nothing tried rounds to it")
                )
            return said + (f"; {self.rule} {_signed(self.dropped)} from {self.authors}" if self.dropped != 0 else "")
        if self.dropped == 0:
            return f"exact in {self.authors}"
        where = f"exact in {self.exact_in[0]}" if self.exact_in else "exact in no convention tried"
        return f"{_signed(self.dropped)} from {self.authors}; {where}"


def _number(value: sympy.Expr) -> str:
    """A count as a reader compares it with a printed number: in full below 10^15, else to four digits."""
    return f"{int(value):,}" if value < 10**15 and value == int(value) else f"{float(value):.4g}"


def text_formula(expr: sympy.Expr) -> str:
    from complexa._format import text_expr

    return text_expr(expr)


def _signed(expr: sympy.Expr) -> str:
    """What a difference says: the terms missing (``drops ...``) and the terms in excess (``adds ...``)."""
    from complexa._format import text_expr

    terms = sympy.Add.make_args(sympy.expand(expr))
    missing = sympy.Add(*(t for t in terms if t.could_extract_minus_sign() is False))
    extra = -sympy.Add(*(t for t in terms if t.could_extract_minus_sign()))
    said = [f"drops {text_expr(missing)}"] if missing != 0 else []
    said += [f"adds {text_expr(extra)}"] if extra != 0 else []
    return ", ".join(said)


def _per(unit: str, expr: sympy.Expr) -> sympy.Expr:
    per = {"per token": B * T, "per generated token": B}.get(unit, 1)
    return sympy.expand(expr / per)


def printed_value(printed: str) -> tuple[sympy.Rational, sympy.Rational]:
    """A printed number and half a unit of its last digit: ``"7B"`` -> (7e9, 0.5e9), ``"3.8e25"`` -> (3.8e25,
    0.05e25)."""
    mantissa, _, power = printed.partition("e")
    scale = sympy.Integer(10) ** int(power) if power else sympy.Integer(1)
    if mantissa[-1] in "MB":
        scale, mantissa = scale * {"M": 10**6, "B": 10**9}[mantissa[-1]], mantissa[:-1]
    decimals = len(mantissa.partition(".")[2])
    return sympy.Rational(mantissa) * scale, scale / (2 * 10**decimals)


def rounds_to(count: sympy.Expr, printed: str) -> bool:
    """Whether `count` (a number) printed to the precision of `printed` is `printed`, half a unit either side."""
    value, half = printed_value(printed)
    return bool(value - half <= count < value + half)


def _error(published: sympy.Expr, count: sympy.Expr, values: dict[sympy.Symbol, int]) -> float:
    return float(sympy.Rational(published.xreplace(values)) / sympy.Rational(count.xreplace(values)) - 1)


def _row(claim: Claim) -> LLMRow:
    model = _model_of(claim.model)
    if claim.printed:
        return _printed_row(claim, model)
    if claim.quantity == "parameters":
        candidates = dict(model.params)
        exact = torch = model.params["all parameters"]
        published = sympy.expand(claim.formula(sympy.Integer(0)))
        exact_in = tuple(name for name, count in candidates.items() if sympy.expand(count - published) == 0)
    else:
        candidates = {name: _per(claim.unit, count) for name, count in model.flops[claim.quantity].items()}
        recompute = next((r for r in TORCH_RECOMPUTE[1:] if claim.authors.endswith(r)), "")
        exact = candidates["exact" + recompute]
        torch = candidates["torch" + recompute]
        n = model.params[claim.n] if claim.n else sympy.Integer(0)
        published = sympy.expand(claim.formula(n))
        found = []
        readings = (claim.n, *(r for r in model.params if r != claim.n)) if claim.n else ("",)
        for reading in readings:  # the paper's own N first
            formula = sympy.expand(claim.formula(model.params[reading])) if reading else published
            for name, count in candidates.items():
                if sympy.expand(count - formula) == 0:
                    found.append(f"{name}, N = {reading}" if reading else name)
        exact_in = tuple(found)
    in_authors = candidates[claim.authors]
    references = dict(zip(REFERENCES, (in_authors, torch, exact)))
    configs = FAMILIES[claim.model]
    errors = {c.name: {r: _error(published, v, c.values) for r, v in references.items()} for c in configs}
    return _checked_row(claim, published, exact, torch, in_authors, exact_in, errors)


def _checked_row(
    claim: Claim,
    published: sympy.Expr,
    exact: sympy.Expr,
    torch: sympy.Expr,
    in_authors: sympy.Expr,
    exact_in: tuple[str, ...],
    errors: dict[str, dict[str, float]],
    **printed: object,
) -> LLMRow:
    """The `LLMRow` of `claim`, its counts and its findings (`printed`: a printed number's fields)."""
    return LLMRow(
        key=claim.key,
        source=claim.source,
        cite=claim.cite,
        quotes=claim.quotes,
        symbols=claim.symbols,
        quantity=claim.quantity,
        unit=claim.unit,
        note=claim.note,
        published=published,
        exact=exact,
        torch=torch,
        authors=claim.authors,
        in_authors=in_authors,
        dropped=sympy.expand(in_authors - published),
        dropped_torch=sympy.expand(torch - published),
        exact_in=exact_in,
        errors=errors,
        **printed,  # type: ignore[arg-type]
    )


def _printed_row(claim: Claim, model: _Model) -> LLMRow:
    """A printed number (a parameter count, the FLOPs of a training run), checked at the configuration `claim.at`:
    the published formula and the counts are symbolic as in `_row`; `values` are them at the configuration (times
    the run's tokens), and `exact_in` every convention and reading of N whose value rounds to the printed number."""
    config = next(c for c in FAMILIES[claim.model] if c.name == claim.at)
    n = model.params[claim.n]
    published = sympy.expand(claim.formula(n))
    if claim.quantity == "parameters":
        candidates = dict(model.params)
        exact = torch = model.params["all parameters"]
        formulas, rule = {}, "N"
    else:
        candidates = {name: _per(claim.unit, c) for name, c in model.flops[claim.quantity].items()}
        exact, torch = candidates["exact"], candidates["torch"]
        readings = (claim.n, *(r for r in model.params if r != claim.n))
        rule = text_formula(claim.formula(sympy.Symbol("N")))
        rule += "*D" if claim.tokens else ""
        formulas = {f"{rule}, N = {r}": claim.formula(model.params[r]) for r in readings}
    in_authors = candidates[claim.authors]
    times = claim.tokens or 1

    def at(expr: sympy.Expr) -> sympy.Expr:
        return sympy.Rational(expr.xreplace(config.values)) * times

    printed = printed_value(claim.printed)[0]
    values = {"published": at(published), "authors": at(in_authors), "torch": at(torch), "exact": at(exact)}
    tried = {**formulas, **candidates}
    exact_in = tuple(name for name, c in tried.items() if rounds_to(at(c), claim.printed))
    errors = {config.name: {r: float(printed / values[r] - 1) for r in REFERENCES}}
    return _checked_row(
        claim,
        published,
        exact,
        torch,
        in_authors,
        exact_in,
        errors,
        printed=claim.printed,
        at=config.name,
        values=values,
        rule=rule,
    )


@dataclass(frozen=True)
class LLMAudit:
    """Published LLM FLOP formulas, checked against complexa's GPT: made by `complexa.audit` with a source's name.

    Prints as aligned text (``str``); `markdown`, `latex` and `as_json` give the other formats.

    **Attributes:**

    - `sources`: the sources audited (``kaplan``, ``chinchilla``, ``megatron``, ``palm``, ``llama``, ``mixtral``,
      ``inference``).
    - `rows`: one `LLMRow` per published statement.
    - `configs`: the configurations of the relative errors.
    """

    sources: tuple[str, ...]
    rows: tuple[LLMRow, ...]
    configs: tuple[Config, ...] = CONFIGS

    def row(self, key: str) -> LLMRow:
        """The row called `key`."""
        for row in self.rows:
            if row.key == key:
                return row
        raise ComplexaError(f"key = {show(key)}: the audit has rows {', '.join(r.key for r in self.rows)}")

    def __str__(self) -> str:
        from complexa._audit_llm_format import llm_text  # the renderers import this module

        return llm_text(self)

    def markdown(self) -> str:
        """The audit as Markdown: the verdicts, the relative errors, the expressions and the sources' words."""
        from complexa._audit_llm_format import llm_markdown  # the renderers import this module

        return llm_markdown(self)

    def latex(self) -> str:
        """The verdict table as a LaTeX ``array``."""
        from complexa._audit_llm_format import llm_latex  # the renderers import this module

        return llm_latex(self)

    def as_json(self) -> dict[str, object]:
        """The audit as JSON-ready data."""
        from complexa._audit_llm_format import llm_json  # the renderers import this module

        return llm_json(self)


def audit_llm(*sources: str) -> LLMAudit:
    """The published formulas of `sources` (each one of `SOURCES`; every source when none is given), checked.

    >>> a = audit_llm("megatron")
    >>> [r.key for r in a.rows][:3], a.row("megatron_model").verdict
    (['megatron_recompute', 'megatron_model', 'megatron_selective'], 'exact in torch')
    """
    for source in sources:
        if source not in SOURCES:
            raise ComplexaError(f"name = {show(source)}: must be one of {', '.join(AUDITS)}")
    chosen = sources or SOURCES
    claims = [c for c in CLAIMS if c.source in chosen]
    families = [m for m in FAMILIES if any(c.model == m for c in claims)]
    configs = tuple(c for m in families for c in FAMILIES[m])
    return LLMAudit(sources=tuple(chosen), rows=tuple(_row(c) for c in claims), configs=configs)


@dataclass(frozen=True)
class A4Model:
    """A model of Hoffmann et al. 2022, Table A4, as printed: its parameters (rounded as printed), layers, d_model,
    ffw_size, heads, key/query size, and the printed ratio of Appendix F's FLOPs to 6ND."""

    params: str
    n_params: int
    n_layers: int
    d_model: int
    ffw_size: int
    n_heads: int
    kq_size: int
    ratio: float


TABLE_A4 = (
    A4Model("73M", 73_000_000, 10, 640, 2560, 10, 64, 1.03),
    A4Model("305M", 305_000_000, 20, 1024, 4096, 16, 64, 1.10),
    A4Model("552M", 552_000_000, 24, 1280, 5120, 10, 128, 1.08),
    A4Model("1.1B", 1_100_000_000, 26, 1792, 7168, 14, 128, 1.04),
    A4Model("1.6B", 1_600_000_000, 28, 2048, 8192, 16, 128, 1.03),
    A4Model("6.8B", 6_800_000_000, 40, 3584, 14336, 28, 128, 0.99),
)
"""Hoffmann et al. 2022, Table A4 (vocabulary 32,000, sequence length 2,048): every model has ffw_size = 4 d_model
and heads x key size = d_model, as `Network.gpt` has."""
A4_VOCAB, A4_SEQ = 32_000, 2_048
A4_READINGS = ("as written", "no embeddings or logits")
"""Appendix F's count as written, and without its embeddings and logits terms (the terms in V)."""


def _half_unit(printed: str) -> sympy.Rational:
    """Half a unit of the last digit of a printed parameter count: ``"1.1B"`` -> 0.05e9, ``"73M"`` -> 0.5e6."""
    mantissa, scale = printed[:-1], {"M": 10**6, "B": 10**9}[printed[-1]]
    decimals = len(mantissa.partition(".")[2])
    return sympy.Rational(scale, 2 * 10**decimals)


@dataclass(frozen=True)
class A4Row:
    """A Table A4 model, recomputed. D is one sequence of 2,048 tokens (it cancels).

    - `ratios`: reading of Appendix F -> its count / 6ND, N the printed parameters.
    - `reproduces`: reading -> whether the printed ratio is reached with N anywhere in the printed parameters'
      rounding (``"1.1B"``: 1.05e9 to 1.15e9), the printed ratio read as rounded to two decimals.
    - `torch`: complexa's torch count of the GPT of that size (Network.gpt) / 6ND.
    """

    model: A4Model
    ratios: dict[str, float]
    reproduces: dict[str, bool]
    torch: float


def table_a4() -> tuple[A4Row, ...]:
    """Table A4 of Hoffmann et al. 2022 recomputed from Appendix F's count, the formula of the row
    ``chinchilla_appendix_f``, in both readings, beside the printed ratios.

    >>> rows = table_a4()
    >>> [round(r.ratios["no embeddings or logits"], 2) for r in rows]
    [1.04, 1.1, 1.08, 1.09, 1.03, 0.99]
    >>> [round(r.ratios["as written"], 2) for r in rows]
    [1.6, 1.32, 1.23, 1.19, 1.11, 1.03]
    >>> [all(r.reproduces[k] for r in rows) for k in A4_READINGS]
    [False, True]
    """
    written = sympy.expand(_appendix_f(sympy.Integer(0)))
    counts = {"as written": written, "no embeddings or logits": _terms(written, lambda t: not t.has(V))}
    torch = _model().flops["training"]["torch"]
    half = sympy.Rational(1, 200)
    out = []
    for m in TABLE_A4:
        values = {V: A4_VOCAB, T: A4_SEQ, d: m.d_model, L: m.n_layers, H: m.n_heads, B: 1}
        n, u, printed = sympy.Integer(m.n_params), _half_unit(m.params), sympy.Rational(str(m.ratio))
        ratios, reproduces = {}, {}
        for k, c in counts.items():
            count = sympy.Rational(c.xreplace(values))
            ratios[k] = float(count / (6 * n * A4_SEQ))
            low, high = count / (6 * (n + u) * A4_SEQ), count / (6 * (n - u) * A4_SEQ)
            reproduces[k] = bool(low - half <= printed <= high + half)
        out.append(A4Row(m, ratios, reproduces, float(sympy.Rational(torch.xreplace(values)) / (6 * n * A4_SEQ))))
    return tuple(out)
