"""How the audit of LLM FLOP formulas reads: aligned text, Markdown (docs/audit-llm.md is made of it), LaTeX, JSON."""

from __future__ import annotations

import textwrap

from complexa._audit_llm import (
    A4_READINGS,
    A4_SEQ,
    A4_VOCAB,
    FAMILIES,
    REFERENCES,
    Config,
    LLMAudit,
    LLMRow,
    table_a4,
)
from complexa._format import SCHEMA_VERSION, WIDTH, Table, json_expr, latex_math, latex_text, text_expr

__all__ = ["llm_text", "llm_markdown", "llm_latex", "llm_json"]

SYMBOLS = "V vocabulary, T context (sequence length), d d_model, L layers, H heads, B sequences a step"
LLAMA_SYMBOLS = (
    "K key/value heads, hd head dimension, f d_ff, E experts, k experts a token (top_k), C tokens cached before a "
    "decode step (T - 1 in the relative errors)"
)
AGAINST = {
    "authors": "the count in the convention the authors describe",
    "torch": "PyTorch's FlopCounterMode convention, the whole model (for parameters: every parameter)",
    "exact": "complexa's exact count, every operation (for parameters: every parameter)",
}


def _percent(value: float) -> str:
    return "0%" if value == 0 else f"{100 * value:+.3g}%"


def _symbols(a: LLMAudit) -> str:
    llama = any(c.n_kv_heads is not None for c in a.configs)
    return f"{SYMBOLS}; {LLAMA_SYMBOLS}" if llama else SYMBOLS


def _intro(a: LLMAudit) -> str:
    if not any(c.n_kv_heads is None for c in a.configs):  # issue 22's sources alone: the Llama kinds
        return (
            f"Published parameter counts and FLOP statements ({', '.join(a.sources)}) against complexa's counts of "
            f"the Llama kinds (Network.llama with grouped-query attention, SwiGLU and an untied head; Network.mixtral "
            f"with E experts, top k; every size a symbol; {_symbols(a)}): the exact count of every operation, and "
            "PyTorch's FlopCounterMode convention (matrix products only, 2 FLOPs per multiply-add), split into the "
            "blocks' Linear layers (and router), the attention's two products and lm_head. A decode step's counts "
            "are derive(..., phase='decode', cache=C)'s (docs/inference.md). A formula is exact in a convention when "
            "it equals complexa's count there, symbolically; a printed number is checked at its model's "
            "configuration, to its printed precision. Relative errors are published / count - 1, one sequence."
        )
    return (
        f"Published FLOP and memory formulas ({', '.join(a.sources)}) against complexa's counts of GPT-2 as nanoGPT "
        f"writes it (Network.gpt; {SYMBOLS}): the exact count of every operation, and PyTorch's FlopCounterMode "
        "convention (matrix products only, 2 FLOPs per multiply-add), split into the blocks' Linear layers, the "
        "attention's two T x T products and lm_head; for memory, the bytes autograd saves (memory(..., "
        "layout='torch')). A formula is exact in a convention when it equals complexa's count there, symbolically. "
        "Relative errors are published / count - 1, one sequence a step (B = 1)."
        + (
            f" The rows of llama, mixtral and inference are checked on complexa's Llama kinds ({LLAMA_SYMBOLS})."
            if any(c.n_kv_heads is not None for c in a.configs)
            else ""
        )
    )


def _wrap(text: str, bullet: str = "") -> list[str]:
    indent = " " * len(bullet)
    return textwrap.wrap(text, WIDTH, initial_indent=bullet, subsequent_indent=indent, break_on_hyphens=False)


def _unit(row: LLMRow) -> str:
    return row.unit or "parameters"


def _published(row: LLMRow) -> str:
    """The published formula, and the number printed where the source prints one."""
    return f"{row.printed} at {row.at}, {row.rule}" if row.printed else text_expr(row.published)


def _values(row: LLMRow) -> str:
    """A printed row's counts at its configuration (times its tokens), as a reader compares them with the number."""
    assert row.values is not None
    from complexa._audit_llm import _number

    return ", ".join(f"{name} {_number(v)}" for name, v in row.values.items())


def _errors(a: LLMAudit, reference: str, code: bool, family: tuple[Config, ...] = ()) -> Table:
    """Each row's relative errors at the configurations of its model (blank at the others); with `family`, the
    rows checked at those configurations alone, at them."""
    configs = family or a.configs
    names = {c.name for c in configs}
    body = [
        [
            f"`{r.key}`" if code else r.key,
            *(_percent(r.errors[c.name][reference]) if c.name in r.errors else "" for c in configs),
        ]
        for r in a.rows
        if names & set(r.errors)
    ]
    return Table(["row", *(c.name for c in configs)], body, "<" + ">" * len(configs))


def _families(a: LLMAudit) -> list[tuple[Config, ...]]:
    """The audit's configurations by the model they are of (GPT, Llama, Mixtral), for tables a terminal holds."""
    return [f for f in (tuple(c for c in family if c in a.configs) for family in FAMILIES.values()) if f]


LLAMA_SIZES = ("K", "hd", "f", "E", "k")
"""The Llama kinds' sizes beside V, T, d, L and H: key/value heads, head dimension, d_ff, experts, experts a token."""


def _llama_sizes(c: Config) -> tuple[int | None, ...]:
    return (c.n_kv_heads, c.head_dim, c.d_ff, c.n_experts, c.top_k)


def _configs(a: LLMAudit) -> Table:
    more = any(c.n_kv_heads is not None for c in a.configs)
    body = [
        [
            c.name,
            *(f"{v:,}" for v in (c.vocab, c.seq, c.d_model, c.n_layers, c.n_heads)),
            *(("" if v is None else f"{v:,}" for v in _llama_sizes(c)) if more else ()),
        ]
        for c in a.configs
    ]
    headers = ["configuration", "V", "T", "d", "L", "H", *(LLAMA_SIZES if more else ())]
    return Table(headers, body, "<" + ">" * (len(headers) - 1))


def _quotes(row: LLMRow) -> str:
    """The row's words, each marked: verbatim in quotation marks, a paraphrase as ``[paraphrase] ...``."""
    return " ... ".join(str(q) for q in row.quotes)


def _config_notes(a: LLMAudit) -> list[str]:
    return [f"{c.name}: {c.note}." for c in a.configs if c.note]


def _a4(code: bool) -> Table:
    """Hoffmann et al. 2022, Table A4 beside Appendix F's count in both readings (count / 6ND)."""
    mark = {True: "", False: " (not reproduced)"}
    body = [
        [
            r.model.params,
            *(f"{v:,}" for v in (r.model.n_layers, r.model.d_model, r.model.ffw_size, r.model.n_heads)),
            f"{r.model.ratio:.2f}",
            *(f"{r.ratios[k]:.3f}{mark[r.reproduces[k]]}" for k in A4_READINGS),
            f"{r.torch:.3f}",
        ]
        for r in table_a4()
    ]
    headers = ["parameters", "layers", "d_model", "ffw_size", "heads", "printed", *A4_READINGS, "torch"]
    return Table(headers, body, "<" + ">" * (len(headers) - 1))


def _a4_intro() -> str:
    rows = table_a4()
    said = [f"{k}: {sum(r.reproduces[k] for r in rows)} of {len(rows)} printed ratios reproduced" for k in A4_READINGS]
    return (
        f"Hoffmann et al. 2022, Table A4 (vocabulary {A4_VOCAB:,}, sequence {A4_SEQ:,}): Appendix F's FLOPs / 6ND "
        "for its models, N the printed parameters, beside the printed ratio; torch is complexa's torch count of the "
        "GPT of the same size / 6ND. A ratio is reproduced when N within the printed parameters' rounding gives the "
        f"printed ratio to two decimals. {'; '.join(said)}. The reading that reproduces them all: "
        f"{', '.join(k for k in A4_READINGS if all(r.reproduces[k] for r in rows)) or 'none'}. Appendix F as "
        "written is the row chinchilla_appendix_f."
    )


def llm_text(a: LLMAudit) -> str:
    """The audit for a terminal: each statement with its expressions and verdict, then the relative errors."""
    lines = [*_wrap(_intro(a)), ""]
    for r in a.rows:
        lines += _wrap(f"{r.key}: {r.cite}")
        lines += _wrap(f"said: {_quotes(r)}", "  ")
        fields = [
            ("symbols", r.symbols),
            ("published", f"{text_expr(r.published)} ({_unit(r)})"),
            *((("printed", f"{r.printed} at {r.at}: {_values(r)}"),) if r.printed else ()),
            ("authors'", f"{r.authors}: {text_expr(r.in_authors)}"),
            ("torch", text_expr(r.torch)),
            ("exact", text_expr(r.exact)),
            ("verdict", r.verdict),
            ("exact in", "; ".join(r.exact_in) or "none of the conventions tried"),
        ]
        for name, value in fields:
            lines += textwrap.wrap(
                f"  {name + ':':<11}{value}", WIDTH, subsequent_indent=" " * 13, break_on_hyphens=False
            )
        lines.append("")
    lines += _configs(a).text()
    lines += [line for note in _config_notes(a) for line in _wrap(note)]
    for reference in REFERENCES:
        lines += ["", f"relative error against {AGAINST[reference]}:"]
        for family in _families(a):
            lines += ["", *_errors(a, reference, code=False, family=family).text()]
    if "chinchilla" in a.sources:
        lines += ["", *_wrap(_a4_intro()), "", *_a4(code=False).text()]
    return "\n".join(lines)


def llm_markdown(a: LLMAudit) -> str:
    """The audit as Markdown, for docs/audit-llm.md: the verdicts, the relative errors, the expressions, the words."""

    def code(s: str) -> str:
        return f"`{s}`"

    lines = [_intro(a), ""]
    body = [
        [
            code(r.key),
            f"{r.printed} = {code(r.rule)}" if r.printed else code(text_expr(r.published)),
            _unit(r),
            r.verdict,
        ]
        for r in a.rows
    ]
    lines += Table(["row", "published", "unit", "verdict"], body).markdown()
    lines += ["", "### Relative errors", "", *_configs(a).markdown()]
    lines += ["", *_config_notes(a)] if _config_notes(a) else []
    for reference in REFERENCES:
        lines += ["", f"Against {AGAINST[reference]}:", "", *_errors(a, reference, code=True).markdown()]
    lines += ["", "### Expressions", ""]
    body = [
        [
            code(r.key),
            f"{r.authors}: {code(text_expr(r.in_authors))}",
            code(text_expr(r.dropped)),
            code(text_expr(r.torch)),
            code(text_expr(r.exact)),
        ]
        for r in a.rows
    ]
    lines += Table(["row", "the authors' convention", "dropped", "torch", "exact"], body).markdown()
    lines += [
        "",
        "dropped: the count in the authors' convention less the published formula (negative: counted too much).",
        "",
    ]
    lines += ["### Where each formula is exact", ""]
    lines += [f"- `{r.key}`: {'; '.join(r.exact_in) or 'none of the conventions tried'}." for r in a.rows]
    if "chinchilla" in a.sources:
        lines += ["", "### Table A4", "", _a4_intro(), "", *_a4(code=True).markdown()]
    lines += ["", "### The statements", ""]
    lines.append("Verbatim quotes are in quotation marks; [paraphrase] marks complexa's summary of the source.")
    lines.append("")
    for r in a.rows:
        at = f" Printed {r.printed}; at {r.at}: {_values(r)}." if r.printed else ""
        lines.append(f"- `{r.key}`, {r.cite}: {_quotes(r)}. In complexa's symbols: {r.symbols}.{at} {r.note}".rstrip())
    return "\n".join(lines)


def llm_latex(a: LLMAudit) -> str:
    """The rows as a LaTeX ``array`` (math mode): published, the count in the authors' convention, what it drops."""

    def text(s: str) -> str:
        return rf"\text{{{latex_text(s)}}}"

    headers = [text(h) for h in ("row", "published", "the authors' convention", "dropped")]
    body = [[text(r.key), latex_math(r.published), latex_math(r.in_authors), latex_math(r.dropped)] for r in a.rows]
    return Table(headers, body).latex()


def llm_json(a: LLMAudit) -> dict[str, object]:
    """The audit as JSON-ready data: every expression as a string complexa's parser reads back."""
    from complexa import __version__

    rows = [
        {
            "key": r.key,
            "source": r.source,
            "cite": r.cite,
            "quotes": [{"text": q.text, "verbatim": q.verbatim} for q in r.quotes],
            "symbols": r.symbols,
            "quantity": r.quantity,
            "unit": r.unit,
            "published": json_expr(r.published),
            "authors": {"convention": r.authors, "expr": json_expr(r.in_authors)},
            "torch": json_expr(r.torch),
            "exact": json_expr(r.exact),
            "dropped": json_expr(r.dropped),
            "dropped_torch": json_expr(r.dropped_torch),
            "exact_in": list(r.exact_in),
            "verdict": r.verdict,
            "errors": r.errors,
            "note": r.note,
            **(
                {"printed": {"text": r.printed, "at": r.at, "values": {k: json_expr(v) for k, v in r.values.items()}}}
                if r.printed and r.values is not None
                else {}
            ),
        }
        for r in a.rows
    ]
    return {
        "kind": "audit_llm",
        "schema_version": SCHEMA_VERSION,
        "complexa": __version__,
        "sources": list(a.sources),
        "symbols": _symbols(a),
        "configs": [
            {
                "name": c.name,
                "V": c.vocab,
                "T": c.seq,
                "d": c.d_model,
                "L": c.n_layers,
                "H": c.n_heads,
                "B": 1,
                "note": c.note,
                **{s: v for s, v in zip(LLAMA_SIZES, _llama_sizes(c)) if v is not None},
            }
            for c in a.configs
        ],
        "rows": rows,
        "table_a4": [
            {
                "params": r.model.params,
                "n_layers": r.model.n_layers,
                "d_model": r.model.d_model,
                "ffw_size": r.model.ffw_size,
                "n_heads": r.model.n_heads,
                "kq_size": r.model.kq_size,
                "printed_ratio": r.model.ratio,
                "ratios": r.ratios,
                "reproduces": r.reproduces,
                "torch": r.torch,
            }
            for r in table_a4()
        ]
        if "chinchilla" in a.sources
        else [],
    }
