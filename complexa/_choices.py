"""The names each option accepts, in a module that imports nothing: the command's parser is built from them, so
``complexa --help`` and a mistyped option answer without importing sympy or numpy."""

from __future__ import annotations

__all__ = ["ACTIVATIONS", "AUDITS", "BACKENDS", "CONVENTIONS", "DTYPES", "FORMATS", "LOSSES", "MODELS", "UNITS"]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
"""Activation functions; ``identity`` has no activation to evaluate and a derivative of 1 to multiply by."""
LOSSES = ("mse", "bce", "cross_entropy")
"""``mse``: 1/2 sum (a_L - y)^2. ``bce``: binary cross-entropy on sigmoid outputs, whose output delta is a_L - y.
``cross_entropy``: softmax over the outputs and the negative log-likelihood of integer class targets."""
MODELS = ("exact", "essay")
"""``exact``: what a dense network performs (docs/counting.md). ``essay``: the essay's own formulas."""
CONVENTIONS = ("exact", "torch", "fvcore", "ptflops")
"""How `flops` counts, for the dense layers z = W a + b of a batch of B samples (docs/flops.md):

- ``exact``: every scalar operation of complexa's exact model (docs/counting.md): mul + add + act + act_grad.
- ``torch``: PyTorch's ``FlopCounterMode``: 2 m n k per matrix product; the bias, activations, loss and optimizer
  step are free; backward computes no gradient for the network's input.
- ``fvcore``: ``fvcore.nn.FlopCountAnalysis``: one per multiply-add of a matrix product, bias ignored; forward only.
- ``ptflops``: ptflops' ``nn.Linear`` rule, in MACs: one per multiply-add plus one per bias addition; forward only.
"""
DTYPES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2}
"""Bytes per element, by dtype name."""
BACKENDS = ("cpu", "cuda")
"""Where `measure` can train: numba's CPU target, or a CUDA device (or numba's CUDA simulator)."""
AUDITS = ("essay", "kaplan", "chinchilla", "megatron", "palm", "llama", "mixtral", "inference")
"""What `complexa.audit` checks: the essay's claims (the default), or one source of LLM FLOP formulas (``llama``,
``mixtral``, ``inference``: issue 22's, on the Llama kinds)."""
FORMATS = ("text", "latex", "json", "markdown")
"""What ``--format`` accepts."""
UNITS = ("auto", "exact", "si")
"""What ``--units`` accepts (`complexa._format_derive.UNITS` says what each prints)."""
