"""The JSON documents of ``derive`` and ``measure`` (docs/json.md, docs/schema/): JSON-ready dicts, exact integers as
JSON integers and any other expression as a string that complexa's grammar reads back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import sympy

from complexa._format import SCHEMA_VERSION, json_expr, json_order
from complexa._format_derive import MEMORY_FIELDS, Resources, layer_labels, order_of, orders
from complexa._format_measure import Counts, measure_rows

if TYPE_CHECKING:
    from complexa.derivation import Derivation
    from complexa.network import Network
    from complexa.nn import Layer
    from complexa.reference import Measurement

__all__ = ["derive_json", "layer_json", "measure_json", "network_json", "optimizer_json"]


def network_json(network: Network) -> dict[str, object]:
    """A network as JSON: sizes (null for a symbolic depth or a stack), width (null unless uniform), depth, batch,
    options; a stack's `layers`; the optimizer unless it is the default plain SGD."""
    out: dict[str, object] = {
        "sizes": [json_expr(s) for s in network.sizes] if network.listed and not network.is_stack else None,
        "width": None if network.width is None else json_expr(network.width),
        "depth": json_expr(network.depth),
        "batch": json_expr(network.batch),
        "bias": network.bias,
        "activation": network.activation or None,
        "loss": network.loss,
    }
    if network.is_stack:
        out["layers"] = [layer_json(layer) for layer in network.layers]
    if network.seq != 1:
        out["seq"] = json_expr(network.seq)
    if network.gpt_config is not None:
        out["gpt"] = {key: _argument(value) for key, value in network.gpt_config.items()}
    if network.llama_config is not None:  # Network.llama, Network.mixtral, Network.from_config
        out["llama"] = {key: _argument(value) for key, value in network.llama_config.items()}
    if network.optimizer != "sgd":
        out["optimizer"] = optimizer_json(network.optimizer)
    return out


def _argument(value: object) -> object:
    if isinstance(value, sympy.Basic):
        return json_expr(value)
    from complexa.nn import Layer

    if isinstance(value, Layer):  # a run of nn.Layers
        return layer_json(value)
    if isinstance(value, tuple):
        return [_argument(v) for v in value]
    return value


def layer_json(layer: Layer) -> dict[str, object]:
    """A layer as its torch class name (``kind``) and its arguments by name, as ``--layers`` and `complexa.nn` take
    them: ``{"kind": "Linear", "in_features": 784, "out_features": "h", "bias": true}``; a Residual's body as
    ``layers``, a Repeat's layer as ``layer``."""
    from complexa._stack_parse import LAYER, LAYERS, signature

    out: dict[str, object] = {"kind": layer.kind}
    for name, kind in signature(type(layer)):
        if kind == LAYERS:
            out[name] = [layer_json(child) for child in layer.children()]
        elif kind == LAYER:
            out[name] = layer_json(getattr(layer, name))
        else:
            out[name] = _argument(getattr(layer, name))
    return out


def optimizer_json(optimizer: object) -> dict[str, object]:
    """An optimizer of `complexa.nn` as its torch class name (``kind``) and its hyperparameters by name."""
    from complexa._stack_parse import signature

    out: dict[str, object] = {"kind": type(optimizer).__name__}
    for name, _ in signature(type(optimizer)):
        out[name] = _argument(getattr(optimizer, name))
    return out


def _by_layer_json(d: Derivation) -> dict[str, object] | None:
    """A stack's `Derivation.by_layer`: path -> its layer (as `repr` prints it) and its counts, phase -> op ->
    value; None for a network given by its sizes and under the essay model."""
    if d.model != "exact" or not d.network.is_stack:
        return None
    names = layer_labels(d.network)
    return {
        path: {
            "layer": names[path],
            "counts": {phase: {op: json_expr(v) for op, v in ops.items()} for phase, ops in by_phase.items()},
        }
        for path, by_phase in d.by_layer.items()
    }


def derive_json(
    d: Derivation, assume: Mapping[str, sympy.Expr], resources: Resources | None = None
) -> dict[str, object]:
    """A derivation as JSON-ready data (docs/json.md)."""
    from complexa import __version__

    counts_o, quantities_o = orders(d, assume)
    return {
        "kind": "derive",
        "schema_version": SCHEMA_VERSION,
        "complexa": __version__,
        "model": d.model,
        "network": network_json(d.network),
        "iterations": json_expr(d.iterations),
        "assumptions": {k: json_expr(v) for k, v in assume.items()},
        "counts": {
            p: {op: {"value": json_expr(v), "big_o": json_order(counts_o[p][op])} for op, v in ops.items()}
            for p, ops in d.counts.items()
        },
        "quantities": {  # the essay's terms, for its dense networks only: none for a stack of layers
            n: {"value": json_expr(v), "big_o": json_order(quantities_o[n])}
            for n, v in (d.quantities.items() if not d.network.is_stack else ())
        },
        "notes": list(d.notes),
        "by_layer": _by_layer_json(d),
        **_resources_json(resources, assume),
    }


def _resources_json(res: Resources | None, assume: Mapping[str, sympy.Expr]) -> dict[str, object]:
    if res is None:
        return {}

    def count(value: sympy.Expr | None) -> dict[str, object] | None:
        return None if value is None else {"value": json_expr(value), "big_o": json_order(order_of(value, assume))}

    out: dict[str, object] = {}
    if res.convention is not None:
        out["flops"] = {"convention": res.convention, "forward": count(res.forward), "training": count(res.training)}
    if res.memory is not None:
        out["memory"] = {
            "dtype": res.memory.dtype,
            **{name: count(getattr(res.memory, name)) for name in MEMORY_FIELDS},
        }
    return out


def measure_json(m: Measurement, derived: Counts) -> dict[str, object]:
    """Measured beside derived as JSON-ready data (docs/json.md)."""
    from complexa import __version__

    rows = measure_rows(m.counts, derived)
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for phase, op, got, want in rows:
        counts.setdefault(phase, {})[op] = {"measured": got, "derived": want}
    differ = sum(g != w for _, _, g, w in rows)
    return {
        "kind": "measure",
        "schema_version": SCHEMA_VERSION,
        "complexa": __version__,
        "network": network_json(m.network),
        "backend": m.backend,
        "seed": m.seed,
        "iterations": m.iterations,
        "counts": counts,
        "differences": differ,
        "agree": differ == 0,
    }
