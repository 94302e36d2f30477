"""``complexa derive --phase prefill|decode|generate``: an `Inference` as text, Markdown, LaTeX or JSON
(docs/inference.md; the JSON document's schema is docs/schema/inference.json)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

import sympy

from complexa._format import (
    SCHEMA_VERSION,
    human,
    json_expr,
    json_order,
    markdown_expr,
    markdown_order,
    text_expr,
    text_order,
)
from complexa._inference import Inference
from complexa.asymptotics import big_o
from complexa.errors import ComplexaError
from complexa.network import Network

__all__ = ["INFERENCE_PHASES", "inference_of", "render"]

INFERENCE_PHASES = ("prefill", "decode", "generate")
"""The phases ``--phase`` takes beside ``training``."""


def inference_of(args: argparse.Namespace, network: Network) -> Inference:
    """The `Inference` the command line asks for; a size its phase does not take is refused."""
    from complexa._inference import generate
    from complexa.derivation import derive

    given = {"--prompt": args.prompt, "--cache": args.cache, "--new": args.new}
    takes = {"prefill": ("--prompt",), "decode": ("--cache",), "generate": ("--prompt", "--new")}[args.phase]
    for flag, value in given.items():
        if value is not None and flag not in takes:
            raise ComplexaError(f"{flag} with --phase {args.phase}: it takes {' and '.join(takes)} only")
        if value is None and flag in takes:
            raise ComplexaError(f"--phase {args.phase} needs {flag}, a positive integer or a symbol")
    if args.model != "exact" or args.iterations != "1":
        raise ComplexaError(
            f"--phase {args.phase} with --model or --iterations: inference is counted in the exact model, one phase "
            "at a time; drop them"
        )
    if args.phase == "generate":
        return generate(network, prompt=args.prompt, new=args.new)
    return derive(network, phase=args.phase, prompt=args.prompt, cache=args.cache)


def _order(value: sympy.Expr, assume: Mapping[str, sympy.Expr]) -> sympy.Expr | None:
    if not value.free_symbols:
        return None
    have = {s.name for s in value.free_symbols if isinstance(s, sympy.Symbol)}
    return big_o(value, **{k: v for k, v in assume.items() if k in have})


def _rows(d: Inference, dtype: str) -> list[tuple[str, str, sympy.Expr]]:
    """(phase, what, value) for every line of the tables: each op, the torch FLOPs, and the KV cache."""
    rows = []
    for phase, ops in d.counts.items():
        rows += [(phase, op, v) for op, v in ops.items()]
        rows.append((phase, "FLOPs (exact)", sympy.Add(*ops.values())))
        rows.append((phase, "FLOPs (torch)", d.torch_flops[phase]))
    rows.append(("KV cache", "tokens a sequence", d.kv_tokens))
    rows.append(("KV cache", "elements", d.kv_elements))
    rows.append(("KV cache", f"bytes ({dtype})", d.kv_bytes(dtype)))
    return rows


def _title(d: Inference) -> str:
    sizes = ", ".join(f"{n} = {v}" for n, v in (("P", d.prompt), ("C", d.cache), ("G", d.new)) if v is not None)
    return f"{d.phase} of {d.network!r}, {sizes}; logits at the {d.logits} position{'s' if d.logits == 'all' else ''}"


def _shown(value: sympy.Expr, si: bool, plain: Callable[[sympy.Expr], str], unit: str = "") -> str:
    """`value` in SI units where the table uses them and it is an integer of 1,000 or more, else `plain`."""
    if si and value.is_Integer:
        return human(int(value), unit, digits=4) or plain(value)
    return plain(value)


def render(d: Inference, fmt: str, assume: Mapping[str, sympy.Expr], dtype: str, units: str = "auto") -> object:
    """`d` in `fmt` (``text``, ``markdown``, ``latex`` or ``json``), its counts in `units` (``--units``: one answer
    for the whole table; JSON always exact)."""
    from complexa._format_derive import uses_si

    rows = _rows(d, dtype)
    si = uses_si(units, [v for _, _, v in rows], auto=fmt == "text")
    if fmt == "json":
        return _json(d, assume, dtype)
    if fmt == "latex":
        lines = [f"\\text{{{phase}, {what}}} &= {sympy.latex(v)}" for phase, what, v in rows]
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
    if fmt == "markdown":
        out = [f"**{_title(d)}**", "", "| phase | count | value | big-O |", "|---|---|---|---|"]
        for p, w, v in rows:
            shown = _shown(v, si, markdown_expr, "B" if w.startswith("bytes") else "")
            out.append(f"| {p} | {w} | {shown} | {markdown_order(_order(v, assume))} |")
        return "\n".join(out)
    width = max(len(f"{p} {w}") for p, w, _ in rows)
    values = [_shown(v, si, text_expr, "B" if w.startswith("bytes") else "") for _, w, v in rows]
    span = max(len(v) for v in values)
    out = [_title(d)]
    for (phase, what, v), shown in zip(rows, values):
        order = text_order(_order(v, assume))
        out.append(f"  {f'{phase} {what}':<{width}}  {shown:<{span}}  {order}".rstrip())
    return "\n".join(out)


def _json(d: Inference, assume: Mapping[str, sympy.Expr], dtype: str) -> dict[str, object]:
    from complexa import __version__
    from complexa._format_json import network_json

    def count(value: sympy.Expr) -> dict[str, object]:
        return {"value": json_expr(value), "big_o": json_order(_order(value, assume))}

    def size(value: sympy.Expr | None) -> object:
        return None if value is None else json_expr(value)

    return {
        "kind": "inference",
        "schema_version": SCHEMA_VERSION,
        "complexa": __version__,
        "phase": d.phase,
        "network": network_json(d.network),
        "prompt": size(d.prompt),
        "cache": size(d.cache),
        "new": size(d.new),
        "logits": d.logits,
        "assumptions": {k: json_expr(v) for k, v in assume.items()},
        "counts": {phase: {op: count(v) for op, v in ops.items()} for phase, ops in d.counts.items()},
        "flops": {
            phase: {"exact": count(sympy.Add(*ops.values())), "torch": count(d.torch_flops[phase])}
            for phase, ops in d.counts.items()
        },
        "kv_cache": {
            "tokens": json_expr(d.kv_tokens),
            "elements": count(d.kv_elements),
            "dtype": dtype,
            "bytes": count(d.kv_bytes(dtype)),
        },
        "by_layer": {
            path: {"layer": shown, "counts": {p: {op: json_expr(v) for op, v in ops.items()} for p, ops in c.items()}}
            for path, (shown, c) in d.by_layer.items()
        },
    }
