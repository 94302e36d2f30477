"""The command line's stacks of layers: the ``--layers`` and ``--optimizer`` grammar, its errors, and derive, measure
and latex for a stack in every format, the JSON against docs/schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from typing import Any

import pytest
import sympy
from hypothesis import given, settings
from test_cli import SCHEMAS, run, validate  # tests/test_cli.py: pytest puts tests/ on sys.path

from complexa import ComplexaError, Network, derive, flops, nn
from complexa._format_json import network_json
from complexa._parse import parse
from complexa._stack_parse import MAX_LAYERS, parse_layers, parse_optimizer, signature
from complexa.strategies import layer_stacks

STACK = "Linear(784, h) ReLU LayerNorm(h) Residual(Linear(h, h) GELU) Linear(h, 10)"
STACK_NET = Network(
    [
        nn.Linear(784, "h"),
        nn.ReLU(),
        nn.LayerNorm("h"),
        nn.Residual(nn.Linear("h", "h"), nn.GELU()),
        nn.Linear("h", 10),
    ],
    batch="B",
    loss="cross_entropy",
    optimizer=nn.Adam(lr=1e-3),
)
STACK_ARGV = ["--layers", STACK, "--batch", "B", "--loss", "cross_entropy", "--optimizer", "Adam(lr=1e-3)"]
SMALL = "Linear(4, 8) ReLU LayerNorm(8) Residual(Linear(8, 8) GELU(approximate=tanh)) Linear(8, 3)"
SMALL_NET = Network(
    [
        nn.Linear(4, 8),
        nn.ReLU(),
        nn.LayerNorm(8),
        nn.Residual(nn.Linear(8, 8), nn.GELU(approximate="tanh")),
        nn.Linear(8, 3),
    ],
    batch=3,
    loss="cross_entropy",
    optimizer=nn.SGD(lr=0.1, momentum=0.9),
)
SMALL_ARGV = ["--layers", SMALL, "--batch", "3", "--loss", "cross_entropy", "--optimizer", "SGD(lr=0.1, momentum=0.9)"]


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    status, out, err = run(capsys, *argv, "--format", "json")
    assert (status, err) == (0, "")
    document: dict[str, Any] = json.loads(out)
    return document


def _read(value: int | str) -> sympy.Expr:
    return sympy.Integer(value) if isinstance(value, int) else parse(value)


# --- the grammar: what reads, and what it reads as ------------------------------------------------------------------

GOOD: list[tuple[str, list[nn.Layer]]] = [
    ("Linear(784, h) ReLU Linear(h, 10)", [nn.Linear(784, "h"), nn.ReLU(), nn.Linear("h", 10)]),
    ("Linear(784, h), ReLU(), Linear(h, 10)", [nn.Linear(784, "h"), nn.ReLU(), nn.Linear("h", 10)]),
    ("  Linear( 784 ,h ,)\tReLU\nLinear(h,10)  ", [nn.Linear(784, "h"), nn.ReLU(), nn.Linear("h", 10)]),
    ("Linear(2,3)ReLU", [nn.Linear(2, 3), nn.ReLU()]),
    ("Linear(784, 2*h + 1, bias=false)", [nn.Linear(784, "2*h + 1", bias=False)]),
    ("Linear(784, h, False)", [nn.Linear(784, "h", bias=False)]),
    ("Linear(in_features=784, out_features=(h+1)^2, bias=True)", [nn.Linear(784, "(h+1)**2")]),
    ("Linear(3, h/2 + 1)", [nn.Linear(3, "h/2 + 1")]),
    ("Linear(3, 4) Sigmoid Tanh ReLU Identity GELU", [nn.Linear(3, 4), nn.Sigmoid(), nn.Tanh(), nn.ReLU(),
                                                       nn.Identity(), nn.GELU()]),
    ("Linear(3, 4) GELU(approximate=tanh) GELU(approximate='tanh') GELU(\"none\")",
     [nn.Linear(3, 4), nn.GELU(approximate="tanh"), nn.GELU(approximate="tanh"), nn.GELU()]),
    ("LayerNorm(h)", [nn.LayerNorm("h")]),
    ("LayerNorm(h, eps=1e-6, elementwise_affine=false)", [nn.LayerNorm("h", eps=1e-6, elementwise_affine=False)]),
    ("LayerNorm(h, 0.001, False)", [nn.LayerNorm("h", 0.001, False)]),
    ("LayerNorm(normalized_shape=h, eps=.5)", [nn.LayerNorm("h", eps=0.5)]),
    ("Linear(3, h) Residual(Linear(h, h) GELU)", [nn.Linear(3, "h"), nn.Residual(nn.Linear("h", "h"), nn.GELU())]),
    ("Linear(3, h) Residual(Linear(h, h), GELU(),)", [nn.Linear(3, "h"), nn.Residual(nn.Linear("h", "h"), nn.GELU())]),
    ("Linear(3, h) Residual(Residual(ReLU) LayerNorm(h))",
     [nn.Linear(3, "h"), nn.Residual(nn.Residual(nn.ReLU()), nn.LayerNorm("h"))]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "layers"), GOOD, ids=[text for text, _ in GOOD])
def test_good_spellings_read_as_the_python_api_builds(
    capsys: pytest.CaptureFixture[str], text: str, layers: list[nn.Layer]
) -> None:
    assert parse_layers(text).layers == tuple(layers)
    # and through the command: the network it derives is the one the Python API builds
    doc = _json(capsys, "derive", "--layers", text, "--batch", "B")
    assert doc["network"] == network_json(Network(layers, batch="B"))
    validate(doc, SCHEMAS["derive.json"], "derive.json")


OPTIMIZERS: list[tuple[str, object]] = [
    ("sgd", "sgd"),
    (" sgd ", "sgd"),
    ("SGD", nn.SGD()),
    ("SGD()", nn.SGD()),
    ("SGD(0.1)", nn.SGD(lr=0.1)),
    ("SGD(lr=0.1, momentum=0.9)", nn.SGD(lr=0.1, momentum=0.9)),
    ("SGD(0.1, 0.9)", nn.SGD(lr=0.1, momentum=0.9)),
    ("Adam", nn.Adam()),
    ("Adam(lr=1e-3)", nn.Adam(lr=1e-3)),
    ("Adam(lr=1e-3, betas=(0.9, 0.98), eps=1e-6)", nn.Adam(lr=1e-3, betas=(0.9, 0.98), eps=1e-6)),
    ("Adam(2e-4, [0.5, 0.9])", nn.Adam(lr=2e-4, betas=(0.5, 0.9))),
]


@pytest.mark.parametrize(("text", "optimizer"), OPTIMIZERS, ids=[text for text, _ in OPTIMIZERS])
def test_optimizer_spellings(text: str, optimizer: object) -> None:
    assert parse_optimizer(text) == optimizer


def _spelled(layer: nn.Layer) -> str:
    """`layer` as a user would type it: bare names, lowercase flags, words unquoted, spaces between layers."""
    if isinstance(layer, nn.Residual):
        return f"Residual({' '.join(map(_spelled, layer.layers))})"
    args = []
    for name, kind in signature(type(layer)):
        value = getattr(layer, name)
        args.append(f"{name}={str(value).lower()}" if kind == "flag" else f"{name}={value}")
    return f"{layer.kind}({', '.join(args)})" if args else layer.kind


@settings(max_examples=100, deadline=None)
@given(layer_stacks(max_layers=8))
def test_every_drawn_stack_reads_back_from_its_repr_and_from_a_typed_spelling(network: Network) -> None:
    options = {"batch": network.batch, "loss": network.loss, "optimizer": network.optimizer}
    for text in (", ".join(map(repr, network.layers)), " ".join(map(_spelled, network.layers))):
        assert Network(list(parse_layers(text).layers), **options) == network  # type: ignore[arg-type]
    if network.optimizer != "sgd":
        assert parse_optimizer(repr(network.optimizer)) == network.optimizer


def test_every_kind_and_optimizer_of_complexa_nn_has_a_spelling() -> None:
    for kind in nn.KINDS.values():
        signature(kind)  # raises for an argument whose default gives no type
    for name in ("SGD", "Adam"):
        assert parse_optimizer(name) == getattr(nn, name)()
    # adam is accepted as Adam is (sgd is the default plain SGD, and sgd() is refused: see the table of bad input)
    assert parse_optimizer("adam") == parse_optimizer("ADAM") == nn.Adam()
    assert parse_optimizer("adam(lr=0.01, betas=(0.8, 0.9))") == nn.Adam(lr=0.01, betas=(0.8, 0.9))


def test_the_title_of_derive_reads_back(capsys: pytest.CaptureFixture[str]) -> None:
    # The title prints the layers as repr does, which --layers reads: copy them, get the same network.
    _, out, _ = run(capsys, "derive", *STACK_ARGV)
    inside = re.match(r"exact model of Network\(\[(.*)\], batch=B", out.splitlines()[0])
    assert inside is not None
    assert Network(list(parse_layers(inside.group(1)).layers), **STACK_NET.options()) == STACK_NET  # type: ignore[arg-type]


# --- bad spellings: one line, exit status 2, the position of the fault ----------------------------------------------

BAD: list[tuple[list[str], str]] = [
    # (argv, what the one line on stderr must contain)
    (["--layers", ""], "--layers '': at position 0: no layers"),
    (["--layers", "   "], "at position 0: no layers"),
    (["--layers", "Linear(784, h) Relu"], "at position 15: unknown layer 'Relu'; did you mean ReLU?"),
    (["--layers", "linear(784, h)"], "at position 0: unknown layer 'linear'; did you mean Linear?"),
    (
        ["--layers", "Conv2d(3, 8)"],
        "unknown layer 'Conv2d'; known: Attention, Block, CausalSelfAttention, Embedding, GELU",
    ),
    (["--layers", "nn.Linear(2, 3)"], "at position 0: unknown layer 'nn'"),
    (["--layers", "Linear(784 h)"], "at position 7: Linear(in_features): '784 h': unexpected 'h' after a complete"),
    (["--layers", "Linear(784, 2h)"], "at position 12: Linear(out_features): '2h': unexpected 'h'"),
    (["--layers", "Linear(0, 3)"], "at position 7: Linear(in_features) = 0: must be a positive integer or a symbol"),
    (["--layers", "Linear(1.5, 3)"], "at position 7: Linear(in_features): '1.5': unexpected character '.'"),
    (["--layers", "Linear(h-h, 3)"], "at position 7: Linear(in_features) = 0: must be a positive integer"),
    (["--layers", "Linear(784)"], "at position 0: Linear needs out_features: Linear(in_features, out_features)"),
    (["--layers", "Linear"], "at position 0: Linear needs in_features and out_features"),
    (["--layers", "Linear(784, h"], "at position 13: expected ',' or ')' after an argument of Linear, found the end"),
    (["--layers", "Linear(784, (h)"], "at position 15: expected ',' or ')' after an argument of Linear"),
    (["--layers", "Linear(784, (h"], "at position 12: Linear(out_features): a '(' is never closed"),
    (["--layers", "Linear(784, (h, 3))"], "at position 12: Linear(out_features): '(h, 3)': unexpected character ','"),
    (["--layers", "Linear(3, 4, bias=1)"], "at position 18: Linear(bias): expected true or false, found '1'"),
    (["--layers", "Linear(3, 4, bias=yes)"], "at position 18: Linear(bias): expected true or false, found 'yes'"),
    (["--layers", "Linear(3, 4, biass=true)"], "at position 13: Linear has no argument 'biass'; it takes in_features"),
    (["--layers", "Linear(3, 4, bias=true, bias=false)"], "at position 24: Linear(bias) is given twice"),
    (["--layers", "Linear(3, 4, in_features=3)"], "at position 13: Linear(in_features) is given twice"),
    (["--layers", "Linear(bias=true, 3, 4)"], "at position 18: Linear: a positional argument after a keyword"),
    (["--layers", "Linear(3, 4, true, 5)"], "at position 19: Linear takes at most 3 arguments"),
    (["--layers", "Linear(2, 3) ReLU(3)"], "at position 18: ReLU takes no arguments"),
    (["--layers", "Linear(2, 3) ReLU(inplace=true)"], "at position 18: ReLU has no argument 'inplace'"),
    (["--layers", "Linear(2, 3) GELU(approximate=fast)"], "at position 30: GELU(approximate) = 'fast': must be one"),
    (["--layers", "Linear(2, 3) GELU(approximate='tanh)"], "GELU(approximate): expected a word and a closing '"),
    (["--layers", "LayerNorm(3, eps=-1)"], "at position 17: LayerNorm(eps) = -1.0: must be a positive finite"),
    (["--layers", "LayerNorm(3, eps=1e999)"], "at position 17: LayerNorm(eps) = inf: must be a positive finite"),
    (["--layers", "LayerNorm(3, eps=nan)"], "at position 17: LayerNorm(eps): expected a number such as 0.9"),
    (["--layers", "LayerNorm(3, eps=1e)"], "LayerNorm(eps): expected a number such as 0.9 or 1e-3, found '1e'"),
    (["--layers", "LayerNorm(3, (3))"], "at position 13: LayerNorm(eps): expected a number"),
    (["--layers", "Linear(2, 3) Residual()"], "at position 13: Residual(): give the layers of its body"),
    (["--layers", "Linear(2, 3) Residual"], "at position 13: Residual(): give the layers of its body"),
    (["--layers", "Linear(2, 3) Residual(ReLU"], "at position 26: expected a layer or ')', found the end of the text"),
    (["--layers", "Linear(2, 3) Residual(Linear(3, 4))"], "at position 13: layer 1 (Residual(Linear(3, 4))) must keep"),
    (["--layers", "Linear(2, 3) ReLU Linear(4, 5)"], "at position 18: layer 2 (Linear(4, 5)) takes 4 inputs, but"),
    (["--layers", "Linear(2, h) Residual(ReLU Linear(g, h))"], "at position 27: layer 1.1 (Linear(g, h)) takes g"),
    (["--layers", "ReLU Linear(2, 3)"], "at position 0: layer 0 (ReLU()): a network cannot start with ReLU"),
    (["--layers", "Linear(2, 3),,ReLU"], "at position 13: expected a layer such as Linear(784, h) or ReLU, found ','"),
    (["--layers", ",ReLU"], "at position 0: expected a layer such as Linear(784, h) or ReLU, found ','"),
    (["--layers", "Linear(2, 3) )"], "at position 13: expected a layer, ',' or the end after a layer, found ')'"),
    (["--layers", "Linear(2, 3) $"], "at position 13: expected a layer, ',' or the end after a layer, found '$'"),
    (["--layers", "Linear(2, 3); ReLU"], "at position 12: expected a layer, ',' or the end after a layer, found ';'"),
    (["--layers", "Linear(٣, 3)"], "Linear(in_features): '٣': unexpected character '٣'"),
    (["--layers", "Linear(__import__('os').system('true'), 3)"], "unexpected character '_' at position 0"),
    (["--layers", "Linear(2, 3)", "--loss", "bce"], "binary cross-entropy needs sigmoid outputs; end the stack"),
    (["--layers", "Linear(2, 3)", "--batch", "0"], "batch = 0: must be a positive integer or a symbol"),
    # --layers with what describes a network of sizes
    (["2", "3", "--layers", "Linear(2, 3)"], "SIZE '2 3' with --layers: give the network one way"),
    (["--layers", "Linear(2, 3)", "--depth", "3"], "--depth '3' with --layers: applies to a network given by its"),
    (["--layers", "Linear(2, 3)", "--activation", "relu"], "--activation relu with --layers: applies to a network"),
    (["--layers", "Linear(2, 3)", "--no-bias"], "--no-bias with --layers: applies to a network given by its sizes"),
    ([], "the following arguments are required: SIZE (or --layers, or --gpt)"),
    (["--layers", "Linear(2, 3)", "--model", "essay"], "the essay models dense networks only"),
    # --optimizer
    (["2", "3", "--optimizer", "adamw"], "--optimizer 'adamw': at position 0: unknown optimizer 'adamw'; did you mean"),
    (["2", "3", "--optimizer", "RMSprop(lr=0.1)"], "unknown optimizer 'RMSprop'; known: Adam, SGD, sgd"),
    (["2", "3", "--optimizer", ""], "--optimizer '': at position 0: expected sgd, SGD(lr=...) or Adam(lr=...)"),
    (["2", "3", "--optimizer", "sgd()"], "unknown optimizer 'sgd'; did you mean SGD?"),
    (["2", "3", "--optimizer", "SGD(lr=-1)"], "at position 7: SGD(lr) = -1.0: must be a real number in (0, inf)"),
    (["2", "3", "--optimizer", "SGD(momentum=1.5)"], "at position 13: SGD(momentum) = 1.5: must be a real number"),
    (["2", "3", "--optimizer", "Adam(betas=0.9)"], "at position 11: Adam(betas): expected numbers in parentheses"),
    (["2", "3", "--optimizer", "Adam(betas=(0.9,))"], "at position 11: Adam(betas) = (0.9,): must be two numbers"),
    (["2", "3", "--optimizer", "Adam(betas=(0.9 0.99))"], "expected ',' or ')' in Adam(betas), found '0.99'"),
    (["2", "3", "--optimizer", "Adam(lr=1e-3) Adam"], "at position 14: unexpected 'Adam' after the end"),
    (["2", "3", "--optimizer", "Adam(gamma=0.1)"], "Adam has no argument 'gamma'; it takes lr, betas, eps"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(a) or "(nothing)" for a, _ in BAD])
def test_bad_spelling_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, "derive", *argv)
    assert (status, out) == (2, "")
    assert err.startswith("complexa derive: error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err


def test_measure_and_latex_take_the_same_spellings_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("measure", "latex"):
        status, _, err = run(capsys, command, "--layers", "Linear(2, 3) Relu")
        assert status == 2
        assert err == (
            f"complexa {command}: error: --layers 'Linear(2, 3) Relu': at position 13: unknown layer 'Relu'; "
            "did you mean ReLU?\n"
        )
    status, _, err = run(capsys, "measure", "--layers", "Linear(3, h) ReLU Linear(h, 2)")
    assert status == 2
    assert err == (
        "complexa measure: error: layer 0 = Linear(3, h): measure trains a real network, so every size and the batch "
        "must be an integer\n"
    )


def test_a_parse_error_is_a_complexa_error_with_the_position() -> None:
    with pytest.raises(ComplexaError, match=r"^--layers 'Linear\(2, 3\) Relu': at position 13: unknown layer"):
        parse_layers("Linear(2, 3) Relu")
    with pytest.raises(ComplexaError, match=r"^--optimizer 3: must be a string$"):
        parse_optimizer(3)  # type: ignore[arg-type]


def test_the_limits_refuse_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(ComplexaError, match=rf"at position {5 * MAX_LAYERS}: more than 2,000 layers"):
        parse_layers("ReLU " * (MAX_LAYERS + 1))
    with pytest.raises(ComplexaError, match=r"nested more than 32 levels deep"):
        parse_layers("Linear(2, 2) " + "Residual(" * 33 + "ReLU" + ")" * 33)
    with pytest.raises(ComplexaError, match=r"a stack is limited to 1,000,000 characters"):
        parse_layers(" " * 1_000_001)
    with pytest.raises(ComplexaError, match=r"a number has more than 4000 digits"):
        parse_layers("LayerNorm(3, eps=" + "1" * 4001 + ")")
    assert time.perf_counter() - start < 30
    # nesting as deep as the limit reads
    deep = "Linear(2, 2) " + "Residual(" * 32 + "ReLU" + ")" * 32
    assert len(parse_layers(deep).positions) == 34


# --- derive, flops and latex of a stack, in every format ------------------------------------------------------------


def test_derive_text_of_a_stack(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "derive", *STACK_ARGV)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"exact model of {STACK_NET!r}, 1 training step"
    d = derive(STACK_NET)
    # every op the network counts, and only those, in the counts table
    counts = lines[lines.index("") + 2 : lines.index("", lines.index("") + 1)]
    ops: dict[str, list[str]] = {}
    for line in counts:
        cells = re.split(r"\s{2,}", line.strip())
        if not line.startswith(" "):
            phase = cells.pop(0)
        ops.setdefault(phase, []).append(cells[0])
    assert ops == {phase: list(by_op) for phase, by_op in d.counts.items()}
    assert ops["update"] == ["mul", "add", "div", "sqrt", "exp", "cmp", "act", "act_grad"]
    assert "          sqrt      B                                            O(B)" in lines
    # the layer table: one row per path, the sum of every op of each phase
    start = lines.index(next(line for line in lines if line.startswith("layer  module")))
    table = lines[start:]
    assert [row.split()[0] for row in table[1:]] == list(d.by_layer)
    assert table[4].split()[:2] == ["3", "Residual"]
    assert table[5].startswith("3.0    Linear(h, h)    2*B*h^2  ")
    for row in table[1:]:
        path = row.split()[0]
        cells = re.split(r"\s{2,}", row.strip())
        assert [parse(c) for c in cells[2:]] == [sympy.Add(*ops.values()) for ops in d.by_layer[path].values()]


def test_derive_rows_add_up_to_the_counts(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "derive", *STACK_ARGV)
    for phase, ops in doc["counts"].items():
        for op, entry in ops.items():
            total = sympy.Add(*(_read(row["counts"][phase][op]) for row in doc["by_layer"].values()))
            assert sympy.expand(total - _read(entry["value"])) == 0


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
@pytest.mark.parametrize("argv", [STACK_ARGV, SMALL_ARGV], ids=["symbolic", "concrete"])
def test_derive_every_format_of_a_stack(capsys: pytest.CaptureFixture[str], fmt: str, argv: list[str]) -> None:
    status, out, err = run(capsys, "derive", *argv, "--format", fmt, "--iterations", "2")
    assert (status, err) == (0, "")
    marker = {
        "text": "3.1    GELU(",
        "markdown": "| 3.0 | `Linear(",
        "latex": r"\text{3.0} & \text{Linear(",
        "json": '"by_layer": {',
    }
    assert marker[fmt] in out
    if fmt == "markdown":
        assert "| layer | module | forward | backward | update |" in out
        assert "| loss | `cross_entropy` |" in out
    if fmt == "latex":
        # the counts and the layers; no quantities table: the essay's terms are for its dense networks
        assert out.count(r"\begin{array}") == 2 and r"\text{cross\_entropy}" in out
        assert "n_{" not in out and "time" not in out


@pytest.mark.parametrize(
    "argv",
    [
        STACK_ARGV,
        SMALL_ARGV,
        ["--layers", "Linear(784, h, bias=false) Tanh Linear(h, 10) Sigmoid", "--loss", "bce", "--iterations", "T"],
        ["--layers", "LayerNorm(n, elementwise_affine=false) Linear(n, n) Identity", "--batch", "n"],
        ["784", "h", "10", "--loss", "cross_entropy", "--optimizer", "Adam(lr=1e-3, betas=(0.9, 0.98))"],
        ["n", "--depth", "L", "--optimizer", "SGD(lr=0.1, momentum=0.9)", "--iterations", "T"],
    ],
    ids=["symbolic stack", "concrete stack", "bce stack", "layernorm first", "sizes with adam", "uniform momentum"],
)
@pytest.mark.parametrize("convention", [None, "exact", "torch", "fvcore", "ptflops"])
def test_derive_json_of_a_stack_matches_the_schema_and_the_python_api(
    capsys: pytest.CaptureFixture[str], argv: list[str], convention: str | None
) -> None:
    extra = ["--flops", convention] if convention else []
    doc = _json(capsys, "derive", *argv, *extra)
    validate(doc, SCHEMAS["derive.json"], "derive.json")
    from complexa._args import network as network_of
    from complexa._cli import _parser

    args = _parser().parse_args(["derive", *argv])
    network = network_of(args, args.batch)
    assert doc["network"] == network_json(network)
    d = derive(network, iterations=args.iterations)
    assert {p: {op: _read(e["value"]) for op, e in ops.items()} for p, ops in doc["counts"].items()} == d.counts
    if network.is_stack:
        assert list(doc["by_layer"]) == list(d.by_layer)
        for path, row in doc["by_layer"].items():
            assert {p: {op: _read(v) for op, v in ops.items()} for p, ops in row["counts"].items()} == d.by_layer[path]
    else:
        assert doc["by_layer"] is None
    if convention:
        assert _read(doc["flops"]["forward"]["value"]) == flops(network, convention=convention)


def test_derive_json_of_dense_networks_has_no_by_layer(capsys: pytest.CaptureFixture[str]) -> None:
    assert _json(capsys, "derive", "784", "h", "10")["by_layer"] is None
    essay = _json(capsys, "derive", "n", "--depth", "L", "--model", "essay")
    assert essay["by_layer"] is None and "optimizer" not in essay["network"]


def test_the_schema_check_rejects_a_bad_layer(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "derive", *SMALL_ARGV)
    doc["network"]["layers"][0]["bias"] = "yes"
    with pytest.raises(AssertionError, match="matches 0 of oneOf"):
        validate(doc, SCHEMAS["derive.json"], "derive.json")
    doc = _json(capsys, "derive", *SMALL_ARGV)
    doc["by_layer"]["0"]["counts"]["forward"]["mul"] = 1.5
    with pytest.raises(AssertionError, match="is not of type"):
        validate(doc, SCHEMAS["derive.json"], "derive.json")


def test_loss_cross_entropy_everywhere_the_loss_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["derive", "784", "h", "10"], ["latex", "784", "h", "10", "--fragment"], ["measure", "3", "4", "2"]):
        status, out, err = run(capsys, *argv, "--loss", "cross_entropy")
        assert (status, err) == (0, ""), err
    for command in ("derive", "measure", "latex", "scale"):
        status, out, _ = run(capsys, command, "--help")
        assert status == 0 and "cross_entropy" in out


def test_latex_of_a_stack(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "latex", *STACK_ARGV)
    assert (status, err) == (0, "")
    assert out.startswith("\\documentclass") and r"\text{3.0} & \text{Linear(h, h)}" in out
    status, out, err = run(capsys, "latex", *STACK_ARGV, "--fragment")
    assert (status, err) == (0, "") and out.startswith("\\begin{aligned}")


# --- measure ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_measure_every_format_of_a_stack(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    status, out, err = run(capsys, "measure", *SMALL_ARGV, "--iterations", "2", "--format", fmt)
    assert (status, err) == (0, "")
    if fmt == "json":
        doc = json.loads(out)
        validate(doc, SCHEMAS["measure.json"], "measure.json")
        assert doc["agree"] and doc["network"] == network_json(SMALL_NET)
        assert set(doc["counts"]["forward"]) == {"mul", "add", "div", "sqrt", "exp", "cmp", "act", "act_grad"}
    elif fmt == "text":
        assert out.splitlines()[0] == f"measured {SMALL_NET!r} on cpu, 2 training steps, seed 0"
        assert out.splitlines()[-1] == "all 24 counts agree"
        assert "          sqrt" in out
    else:
        assert "sqrt" in out


# --- the process ---------------------------------------------------------------------------------------------------


def test_a_bad_layers_text_with_a_usage_error_imports_neither_sympy_nor_numpy() -> None:
    code = (
        "import contextlib, io, sys\n"
        "from complexa.cli import main\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    status = main(['derive', '--layers', 'Linear(2, 3)', '--format', 'xml'])\n"
        "assert status == 2, status\n"
        "assert 'sympy' not in sys.modules and 'numpy' not in sys.modules, 'imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
