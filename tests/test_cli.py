"""The complexa command: its output, its JSON against the documented schemas, its errors, and the docs' examples."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sympy

import complexa
from complexa import Network, derive
from complexa._parse import parse
from complexa.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = {p.name: json.loads(p.read_text()) for p in (ROOT / "docs" / "schema").glob("*.json")}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# --- the examples in the docs ---------------------------------------------------------------------------------------

CONSOLE = re.compile(r"^```console\n(.*?)^```", re.S | re.M)


def _examples() -> list[tuple[str, str, str]]:
    """(page, command, expected output) for every ``$ complexa ...`` line of a console block in the docs."""
    examples = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in CONSOLE.findall(page.read_text()):
            command: str | None = None
            expected: list[str] = []
            for line in [*block.splitlines(), "$ "]:
                if line.startswith("$ "):
                    if command is not None:
                        examples.append((page.name, command, "\n".join(expected)))
                    command, expected = (line[2:] if line.startswith("$ complexa ") else None), []
                elif command is not None:
                    expected.append(line)
    return examples


EXAMPLES = _examples()


def test_the_docs_have_console_examples() -> None:
    pages = {page for page, _, _ in EXAMPLES}
    assert {"index.md", "cli.md"} <= pages
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("page", "command", "expected"), EXAMPLES, ids=[f"{p}:{c}" for p, c, _ in EXAMPLES])
def test_docs_console_example_prints_what_the_page_shows(
    capsys: pytest.CaptureFixture[str], page: str, command: str, expected: str
) -> None:
    if command.startswith("complexa torch ") and importlib.util.find_spec("torch") is None:
        pytest.skip("complexa torch needs PyTorch")
    status, out, err = run(capsys, *shlex.split(command)[1:])
    assert (out + err).rstrip("\n") == expected, f"{page}: $ {command}"
    assert status == (2 if err else 0)


# --- derive ---------------------------------------------------------------------------------------------------------


def test_derive_text_fits_one_screen(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "derive", "784", "h", "h", "10")
    lines = out.splitlines()
    assert status == 0 and err == ""
    assert len(lines) <= 30 and max(map(len, lines)) <= 100
    assert lines[0] == "exact model of Network([784, h, h, 10]), 1 training step"
    assert "n_mul                  h^2 + 794*h          O(h^2)" in lines


def test_derive_text_expressions_read_back(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "derive", "784", "h", "h", "10")
    d = derive(Network([784, "h", "h", 10]))
    rows = {line.split()[0]: line for line in out.splitlines()[-6:]}
    for name, value in d.quantities.items():
        text = re.split(r"\s{2,}", rows[name])[1]
        assert parse(text) == value


def test_derive_essay_assumptions_and_override(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["derive", "n", "--depth", "L", "--model", "essay", "--iterations", "T"]
    _, out, _ = run(capsys, *argv)
    assert "big-O as every symbol grows, with L = n, T = n" in out
    assert "O(n^6)" in out
    _, out, _ = run(capsys, *argv, "--assume")
    assert "O(L*T*n^4)" in out and "with L" not in out
    _, out, _ = run(capsys, *argv, "--assume", "L=n", "T=1")
    assert "time_gradient_descent  L*T*n^4 - T*n^4 + T*n^3 + T*n^2  O(n^5)" in out


def test_derive_essay_notes_sizes_that_differ(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "derive", "784", "h", "10", "--model", "essay")
    assert status == 0
    assert out.splitlines()[-1].startswith("note: The essay gives time_error")


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_derive_every_format(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    status, out, err = run(capsys, "derive", "784", "h", "h", "10", "--format", fmt)
    assert status == 0 and err == ""
    marker = {"text": "time_gradient_descent", "markdown": "| `n_mul` |", "latex": r"\begin{array}", "json": '"kind"'}
    assert marker[fmt] in out


# --- JSON -----------------------------------------------------------------------------------------------------------


def _resolve(ref: str, here: str) -> tuple[dict[str, Any], str]:
    name, _, pointer = ref.partition("#")
    name = name or here
    node: Any = SCHEMAS[name]
    for part in filter(None, pointer.split("/")):
        node = node[part]
    return node, name


def validate(value: Any, schema: dict[str, Any], here: str, path: str = "$") -> None:
    """A JSON Schema check for the keywords docs/schema/*.json use; raises AssertionError naming the path."""
    if "$ref" in schema:
        target, name = _resolve(schema["$ref"], here)
        validate(value, target, name, path)
    types = {"integer": int, "number": (int, float), "string": str, "boolean": bool, "object": dict, "array": list}
    types["null"] = type(None)
    if "type" in schema:
        wanted = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        ok = any(
            isinstance(value, types[t]) and not (t in ("integer", "number") and isinstance(value, bool)) for t in wanted
        )
        assert ok, f"{path}: {value!r} is not of type {wanted}"
    if "const" in schema:
        assert value == schema["const"], f"{path}: {value!r} != {schema['const']!r}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], f"{path}: {value!r} < {schema['minimum']}"
    if "oneOf" in schema:
        passed = 0
        for option in schema["oneOf"]:
            try:
                validate(value, option, here, path)
                passed += 1
            except AssertionError:
                pass
        assert passed == 1, f"{path}: {value!r} matches {passed} of oneOf"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{path}: missing {key!r}"
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                validate(item, properties[key], here, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                raise AssertionError(f"{path}: unexpected key {key!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                validate(item, schema["additionalProperties"], here, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], here, f"{path}[{i}]")


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    status, out, err = run(capsys, *argv, "--format", "json")
    assert err == ""
    assert status == 0
    document: dict[str, Any] = json.loads(out)
    return document


@pytest.mark.parametrize(
    "argv",
    [
        ["derive", "784", "h", "h", "10"],
        ["derive", "2", "3", "1", "--iterations", "4", "--batch", "3"],
        ["derive", "n", "--depth", "L", "--model", "essay", "--iterations", "T"],
        ["derive", "n", "--depth", "L", "--batch", "B", "--iterations", "T", "--assume", "L=n", "T=n", "B=n"],
        ["derive", "784", "h/2 + 1", "10", "--model", "essay"],
        ["derive", "3", "5", "--no-bias", "--activation", "identity"],
        ["derive", "784", "h", "10", "--batch", "B", "--flops", "torch", "--memory", "--dtype", "float32"],
        ["derive", "784", "30", "10", "--flops", "ptflops"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_derive_json_matches_schema_and_reads_back(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """The JSON validates against docs/schema/derive.json and holds what `derive` computes for the same network.

    The comparison with `derive` tests the serialisation only: the command calls `derive` itself, so a wrong count
    would be wrong on both sides. test_derive_json_by_hand checks values worked out by hand.
    """
    doc = _json(capsys, *argv)
    validate(doc, SCHEMAS["derive.json"], "derive.json")
    assert doc["complexa"] == complexa.__version__
    d = _derivation_of(argv)
    for phase, ops in d.counts.items():
        for op, value in ops.items():
            entry = doc["counts"][phase][op]
            assert _read(entry["value"]) == value
            assert isinstance(entry["value"], int) == value.is_Integer
    for name, value in d.quantities.items():
        assert _read(doc["quantities"][name]["value"]) == value
        if doc["quantities"][name]["big_o"] is not None:
            assert parse(doc["quantities"][name]["big_o"]).free_symbols <= value.free_symbols | {parse("n")}


# [2, 3, 1], B = 3, T = 4, sigmoid, mse, biases: 9 weights, 13 parameters. Per step: forward 3 * 9 mul and add,
# 3 * 4 act; error: output 3 add, 3 mul, 3 act_grad, hidden 3 * 3 * (1 + 1) mul and 3 * 3 act_grad; gradients
# 3 * 9 mul, 2 * 13 add; update 13 mul, 13 add. Over 4 steps: backward mul 4 * (3 + 18 + 27) = 192, add
# 4 * (3 + 26) = 116, act_grad 4 * (3 + 9) = 48. Quantities per step: time_forward 27 + 27 + 12 = 66,
# time_error 21 + 3 + 12 = 36, time_weights 36 + 27 + 26 = 89; time_gradient_descent 4 * (66 + 89 + 26) = 724.
BY_HAND: list[tuple[list[str], dict[str, Any], dict[str, Any]]] = [
    (
        ["derive", "2", "3", "1", "--iterations", "4", "--batch", "3"],
        {
            "forward": {"mul": 108, "add": 108, "act": 48, "act_grad": 0},
            "backward": {"mul": 192, "add": 116, "act": 0, "act_grad": 48},
            "update": {"mul": 52, "add": 52, "act": 0, "act_grad": 0},
        },
        {"n_mul": 27, "n_g": 12, "time_forward": 66, "time_error": 36, "time_weights": 89,
         "time_gradient_descent": 724},
    ),
    # The essay's formulas for n neurons in L + 1 layers, as docs/essay.md quotes them: n_mul = (L - 1) n^3 + n^2,
    # n_g = L n, time_error = n^2 + n^4 (L - 1), time_weights = time_error + n^3, time_gradient_descent = T
    # time_weights.
    (
        ["derive", "n", "--depth", "L", "--model", "essay", "--iterations", "T"],
        {"forward": {"mul": "L*n**3 - n**3 + n**2", "act": "L*n"}},
        {"n_mul": "L*n**3 - n**3 + n**2", "n_g": "L*n", "time_forward": "L*n**3 + L*n - n**3 + n**2",
         "time_error": "L*n**4 - n**4 + n**2", "time_weights": "L*n**4 - n**4 + n**3 + n**2",
         "time_gradient_descent": "L*T*n**4 - T*n**4 + T*n**3 + T*n**2"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "counts", "quantities"), BY_HAND, ids=[" ".join(argv) for argv, _, _ in BY_HAND])
def test_derive_json_by_hand(
    capsys: pytest.CaptureFixture[str], argv: list[str], counts: dict[str, Any], quantities: dict[str, Any]
) -> None:
    doc = _json(capsys, *argv)
    assert {phase: {op: entry["value"] for op, entry in ops.items()} for phase, ops in doc["counts"].items()} == counts
    assert {name: entry["value"] for name, entry in doc["quantities"].items()} == quantities


def _derivation_of(argv: list[str]) -> Any:
    """The derivation a derive command line asks for, built through the Python API."""
    options: dict[str, Any] = {"batch": "1", "iterations": "1", "model": "exact"}
    sizes: list[str] = []
    rest = argv[1:]
    depth = None
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--depth":
            depth, i = rest[i + 1], i + 2
        elif arg in ("--batch", "--iterations", "--model", "--activation"):
            options[arg[2:]], i = rest[i + 1], i + 2
        elif arg == "--no-bias":
            options["bias"], i = False, i + 1
        elif arg in ("--flops", "--dtype"):
            i += 2
        elif arg == "--memory":
            i += 1
        elif arg == "--assume":
            break
        else:
            sizes.append(arg)
            i += 1
    kwargs = {k: options[k] for k in ("batch", "activation", "bias") if k in options}
    network = Network.uniform(sizes[0], depth, **kwargs) if depth else Network(sizes, **kwargs)
    return derive(network, model=options["model"], iterations=options["iterations"])


def _read(value: int | str) -> sympy.Expr:
    return sympy.Integer(value) if isinstance(value, int) else parse(value)


def test_measure_json_matches_schema(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "measure", "3", "4", "2", "--batch", "2", "--iterations", "3", "--seed", "7")
    validate(doc, SCHEMAS["measure.json"], "measure.json")
    assert doc["agree"] is True and doc["differences"] == 0
    assert doc["counts"]["forward"]["mul"] == {"measured": 120, "derived": 120}
    assert (doc["seed"], doc["iterations"], doc["network"]["sizes"]) == (7, 3, [3, 4, 2])


TORCH_MODEL = """
from torch import nn

def build():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LayerNorm(4))
"""


def test_torch_json_matches_schema(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    pytest.importorskip("torch")
    path = tmp_path / "model.py"
    path.write_text(TORCH_MODEL)
    doc = _json(capsys, "torch", f"{path}:build", "--input", "B,3")
    validate(doc, SCHEMAS["torch.json"], "torch.json")
    assert (doc["kind"], doc["inputs"], doc["parameters"]) == ("torch", [["B", 3]], 24)
    assert doc["flops"]["torch"] == {"forward": "24*B", "backward": "24*B"}
    # fvcore: 12 multiply-adds and 5 per LayerNorm element; ptflops: 16 MACs, the ReLU twice, the LayerNorm once.
    assert doc["flops"]["fvcore"] == {"forward": "32*B"} and doc["flops"]["ptflops"] == {"forward": "28*B"}
    assert doc["by_layer"]["0"]["counts"]["forward"]["mul"] == "12*B"


def test_audit_json_matches_schema(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "audit", "--max-n", "4")
    validate(doc, SCHEMAS["audit.json"], "audit.json")
    assert doc["ns"] == [2, 3, 4] and doc["counts_agree"] is True
    row = doc["rows"][0]
    assert row["key"] == "n_mul" and row["exact"]["1"]["measured"] == [8, 27, 64]
    for row in doc["rows"]:
        for side in row["exact"].values():
            assert _read(side["assumed"]) == sympy.cancel(
                _read(side["expr"]).subs({parse("L"): parse("n"), parse("T"): parse("n")})
            )
            assert [_read(v) for v in side["measured"]] == [_read(v) for v in side["model"]] or row["bound"]


def test_a_gpts_json_matches_schema(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "derive", "--gpt", "V, T, d, L, H, tied=false", "--batch", "B")
    validate(doc, SCHEMAS["derive.json"], "derive.json")
    assert doc["network"]["gpt"]["tied"] is False and doc["network"]["seq"] == "T"
    assert doc["network"]["layers"][2]["kind"] == "Repeat" and doc["network"]["layers"][2]["layer"]["kind"] == "Block"
    assert "transformer.h.{i}.attn" in doc["by_layer"]
    doc = _json(capsys, "measure", "--gpt", "11, 3, 4, 1, 2", "--batch", "2")
    validate(doc, SCHEMAS["measure.json"], "measure.json")
    assert doc["agree"] is True


@pytest.mark.parametrize("name", ["kaplan", "chinchilla", "megatron", "palm", "llama", "mixtral", "inference"])
def test_llm_audit_json_matches_schema(capsys: pytest.CaptureFixture[str], name: str) -> None:
    doc = _json(capsys, "audit", name)
    validate(doc, SCHEMAS["audit_llm.json"], "audit_llm.json")
    assert doc["sources"] == [name]


def test_the_schemas_describe_every_top_level_field(capsys: pytest.CaptureFixture[str]) -> None:
    for name, argv in [("derive.json", ["derive", "2", "3"]), ("measure.json", ["measure", "2", "3"])]:
        doc = _json(capsys, *argv)
        assert set(doc) == set(SCHEMAS[name]["required"])
        optional = set(SCHEMAS[name]["properties"]) - set(SCHEMAS[name]["required"])
        if optional:  # the tables that --flops and --memory add
            full = _json(capsys, *argv, "--flops", "exact", "--memory")
            assert set(full) == set(SCHEMAS[name]["properties"])


# --- measure --------------------------------------------------------------------------------------------------------


def test_measure_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "measure", "5", "--depth", "3", "--batch", "4", "--loss", "bce")
    assert status == 0 and err == ""
    assert out.splitlines()[0] == "measured Network([5, 5, 5, 5], batch=4, loss='bce') on cpu, 1 training step, seed 0"
    assert out.splitlines()[-1] == "all 12 counts agree"


def test_measure_exits_1_on_a_difference(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import complexa.reference

    real = complexa.reference.measure

    def off_by_one(network: Network, **kwargs: Any) -> Any:
        measured = real(network, **kwargs)
        measured.counts["backward"]["add"] += 1
        return measured

    monkeypatch.setattr(complexa.reference, "measure", off_by_one)
    status, out, err = run(capsys, "measure", "2", "3", "1")
    assert status == 1 and err == ""
    assert "          add              2        1          +1" in out
    assert out.splitlines()[-1] == "1 of 12 counts differ"
    status, out, _ = run(capsys, "measure", "2", "3", "1", "--format", "json")
    assert status == 1 and json.loads(out)["differences"] == 1


# --- errors ---------------------------------------------------------------------------------------------------------

ERRORS = [
    # (argv, what the one line on stderr must contain)
    ([], "complexa: error: the following arguments are required: COMMAND"),
    (["frob"], "argument COMMAND: invalid choice: 'frob'"),
    (["derive"], "complexa derive: error: the following arguments are required: SIZE"),
    (["derive", "784", "-3", "10"], "sizes[1] = -3: must be a positive integer or a symbol"),
    (["derive", "784", "0"], "sizes[1] = 0: must be a positive integer or a symbol"),
    (["derive", "784", "2h"], "sizes[1]: '2h': unexpected 'h' after a complete expression; write 2*h, not 2h"),
    (["derive", "784", "h("], "sizes[1]: 'h('"),
    (["derive", "784", "1.5"], "sizes[1]: '1.5': unexpected character '.'"),
    (["derive", "784", "__import__"], "sizes[1]: '__import__': unexpected character '_'"),
    (["derive", "784", "h-h"], "sizes[1] = 0: must be a positive integer or a symbol"),
    (["derive", "784"], "sizes = ['784']: a network needs at least two sizes"),
    (["derive", "2", "3", "--format", "xml"], "argument --format: 'xml' must be one of text, latex, json, markdown"),
    (["derive", "2", "3", "--units", "SI"], "argument --units: 'SI' must be one of auto, exact, si"),
    (["measure", "2", "3", "--units", "metric"], "argument --units: 'metric' must be one of auto, exact, si"),
    (["derive", "--gpt", "64, 8, 16, 3, 2", "--levels", "0"], "argument --levels: '0' must be a positive integer"),
    (["derive", "784", "h", "10", "--levels", "2"], "--levels: shape a stack's layer table, and a network of SIZE"),
    (["derive", "784", "h", "10", "--expand"], "--expand: shape a stack's layer table, and a network of SIZE has"),
    (["derive", "--gpt", "64, 8, 16, 3, 2", "--levels", "two"], "argument --levels: 'two' must be a positive integer"),
    (["derive", "2", "3", "--flops", "thop"], "argument --flops: 'thop' must be one of exact, torch, fvcore, ptflops"),
    (["derive", "2", "3", "--memory", "--dtype", "int8"], "argument --dtype: 'int8' must be one of float64, float32"),
    (["derive", "2", "3", "--model", "best"], "argument --model: 'best' must be one of exact, essay"),
    (["derive", "2", "3", "--activation", "gelu"], "argument --activation: 'gelu' must be one of"),
    (["derive", "2", "3", "--loss", "bce", "--activation", "relu"], "binary cross-entropy needs sigmoid outputs"),
    (["derive", "2", "3", "--batch", "0"], "batch = 0: must be a positive integer or a symbol"),
    (["derive", "2", "3", "--batch", "B", "--model", "essay"], "the essay counts one input vector"),
    (["derive", "2", "3", "--iterations", "-1"], "iterations = -1: must be a positive integer or a symbol"),
    (["derive", "2", "3", "--depth", "2"], "--depth 2 with 2 sizes: give one size, the width, with --depth"),
    (["derive", "n", "--depth", "0"], "depth = 0: must be a positive integer or a symbol"),
    (["derive", "784", "h", "--assume", "h"], "--assume 'h': must be NAME=EXPR, such as L=n"),
    (["derive", "784", "h", "--assume", "=n"], "--assume '=n': must be NAME=EXPR"),
    (["derive", "784", "h", "--assume", "L=n"], "--assume 'L=n': L is not a symbol of this derivation (it has: h)"),
    (["derive", "784", "h", "--assume", "h=1/x"], "must be a polynomial in symbols with rational coefficients"),
    (["derive", "784", "h", "--assume", "h=n/"], "ends too early"),
    (["derive", "784", "h", "--bogus"], "complexa derive: error: unrecognized arguments: --bogus"),
    (["measure", "784", "h"], "sizes[1] = h: measure trains a real network"),
    (["measure", "3", "2", "--batch", "B"], "batch = B: measure trains a real network"),
    (["measure", "3", "2", "--iterations", "T"], "argument --iterations: 'T' must be a positive integer"),
    (["measure", "3", "2", "--iterations", "0"], "argument --iterations: '0' must be a positive integer"),
    (["measure", "3", "2", "--seed", "-1"], "argument --seed: '-1' must be a non-negative integer"),
    (["measure", "3", "2", "--backend", "tpu"], "argument --backend: 'tpu' must be one of cpu, cuda"),
    (["audit", "--max-n", "2"], "argument --max-n: '2' must be an integer from 3 to 64"),
    (["audit", "--max-n", "65"], "argument --max-n: '65' must be an integer from 3 to 64"),
    (["audit", "--format", "yaml"], "argument --format: 'yaml' must be one of"),
    (["latex", "2", "0"], "complexa latex: error: sizes[1] = 0"),
    (
        ["latex", "2", "3", "--fragment", "--iterations", "x^17"],
        "iterations = x**17: a size has a degree of at most 16",
    ),
    (["latex", "2", "3", "--iterations", "x^4097"], "an exponent must be an integer constant from -4096 to 4096"),
]


@pytest.mark.parametrize(("argv", "message"), ERRORS, ids=[" ".join(a) or "(nothing)" for a, _ in ERRORS])
def test_error_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("complexa") and ": error: " in err
    assert message in err
    assert "Traceback" not in err


def test_help_on_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ["", "derive", "measure", "audit", "latex", "scale"]:
        status, out, err = run(capsys, *filter(None, [command, "--help"]))
        assert status == 0 and err == ""
        assert out.startswith(f"usage: complexa {command}".rstrip())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"complexa {complexa.__version__}\n", "")


# --- as a program ---------------------------------------------------------------------------------------------------


def test_python_m_complexa_and_exit_status() -> None:
    ok = subprocess.run([sys.executable, "-m", "complexa", "derive", "2", "3", "1"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stderr == ""
    assert ok.stdout.startswith("exact model of Network([2, 3, 1]), 1 training step\n")
    bad = subprocess.run([sys.executable, "-m", "complexa", "derive", "2", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == "complexa derive: error: sizes[1] = 0: must be a positive integer or a symbol\n"


def test_derive_never_imports_numba() -> None:
    code = (
        "import sys\n"
        "from complexa.cli import main\n"
        "for fmt in ('text', 'json', 'markdown', 'latex'):\n"
        "    assert main(['derive', '784', 'h', 'h', '10', '--format', fmt]) == 0\n"
        "assert main(['latex', 'n', '--depth', 'L', '--model', 'essay']) == 0\n"
        "assert main(['derive', '2', '0']) == 2\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_help_and_argument_errors_import_neither_sympy_nor_numpy() -> None:
    # They answer at once: the parser is built from complexa._choices, and sympy and numpy come with the work.
    code = (
        "import contextlib, io, sys\n"
        "from complexa.cli import main\n"
        "quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())\n"
        "with quiet[0], quiet[1]:\n"
        "    statuses = [main(['--help']), main(['derive', '--help']), main(['scale', '--help']),\n"
        "                main(['derive', '3', '--format', 'xml']), main(['scale', '--sizes', 'x']),\n"
        "                main(['measure', '3', '3', '--iterations', '0']), main(['audit', '--max-n', '2'])]\n"
        "assert statuses == [0, 0, 0, 2, 2, 2, 2], statuses\n"
        "assert 'sympy' not in sys.modules and 'numpy' not in sys.modules, 'imported'\n"
        "assert main(['derive', '2', '3']) == 0 and 'sympy' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("mutate", "complaint"),
    [
        (lambda doc: doc["counts"]["forward"]["mul"].update(value=1.5), "is not of type"),
        (lambda doc: doc["counts"]["forward"]["mul"].update(extra=1), "unexpected key 'extra'"),
        (lambda doc: doc.pop("notes"), "missing 'notes'"),
        (lambda doc: doc["network"].update(activation="gelu"), "not in"),
        (lambda doc: doc["network"].update(bias=1), "is not of type"),
    ],
)
def test_the_schema_check_rejects_bad_documents(
    capsys: pytest.CaptureFixture[str], mutate: Any, complaint: str
) -> None:
    doc = _json(capsys, "derive", "784", "h", "10")
    mutate(doc)
    with pytest.raises(AssertionError, match=complaint):
        validate(doc, SCHEMAS["derive.json"], "derive.json")


def test_dtype_implies_memory(capsys: pytest.CaptureFixture[str]) -> None:
    # --dtype means nothing without the memory table, so it brings the table rather than being silently ignored.
    _, with_dtype, _ = run(capsys, "derive", "784", "128", "10", "--dtype", "float32")
    _, both, _ = run(capsys, "derive", "784", "128", "10", "--memory", "--dtype", "float32")
    assert with_dtype == both
    assert "memory (float32)" in with_dtype
    # [784, 128, 10] with biases: 101,770 parameters and as many gradients, 2 * 138 + 784 activations (z and a, and
    # the input), 138 deltas: 204,738 elements of 4 bytes.
    assert with_dtype.splitlines()[-1].split() == ["bytes", "818,952", "(819", "kB)"]
    _, plain, _ = run(capsys, "derive", "784", "128", "10")
    assert "memory" not in plain
    _, default, _ = run(capsys, "derive", "784", "128", "10", "--memory")
    assert "memory (float64)" in default and "1,637,904  (1.64 MB)" in default
    _, out, _ = run(capsys, "derive", "--help")
    assert "implies --memory" in " ".join(out.split())
    # [2, 3] in float16: 9 parameters, 9 gradients, 2 + 2 * 3 activations, 3 deltas, of 2 bytes each.
    assert _json(capsys, "derive", "2", "3", "--dtype", "float16")["memory"]["bytes"]["value"] == 2 * (9 + 9 + 8 + 3)


def test_numbers_are_right_aligned_and_bytes_read_in_si_units(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "derive", "784", "128", "10", "--flops", "torch", "--memory")
    lines = out.splitlines()
    flops = lines.index("FLOPs (torch)    count")
    assert lines[flops + 1 : flops + 3] == ["forward        203,264", "training       409,088"]
    memory = lines.index("memory (float64)      count")
    assert lines[memory + 1] == "parameters          101,770"
    assert lines[memory + 4] == "deltas                  138"
    assert lines[memory + 6] == "bytes             1,637,904  (1.64 MB)"
    # Every table of a concrete network ends its numbers in one column.
    counts = [line for line in lines if re.match(r"^(forward|backward|update|\s)+ +\w+ +[\d,]+$", line)]
    assert len(counts) == 12 and len({len(line) for line in counts}) == 1
    # A symbolic network's counts are expressions, read from the left, and have no SI figure.
    _, out, _ = run(capsys, "derive", "784", "h", "10", "--memory")
    assert out.splitlines()[-1].split() == ["bytes", "12744*h", "+", "6672", "O(h)"]


def test_markdown_numbers_are_plain_and_expressions_code_in_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    _, derived, _ = run(capsys, "derive", "784", "128", "10", "--memory", "--format", "markdown")
    assert "| forward | mul | 101,632 |" in derived
    assert "| `n_mul` | 101,632 |" in derived
    assert "| bytes | 1,637,904 | (1.64 MB) |" in derived
    assert "`" not in "".join(line for line in derived.splitlines() if not line.startswith("| `"))
    _, measured, _ = run(capsys, "measure", "784", "128", "10", "--format", "markdown")
    assert "| forward | mul | 101,632 | 101,632 |  |" in measured
    _, symbolic, _ = run(capsys, "derive", "784", "h", "10", "--format", "markdown")
    assert "| forward | mul | `794*h` | `O(h)` |" in symbolic
    assert "| forward | act_grad | 0 |  |" in symbolic


def test_derive_flops_and_memory_tables_are_complexa_flops_and_memory(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "derive", "784", "h", "10", "--batch", "B", "--flops", "torch", "--memory")
    network = Network([784, "h", 10], batch="B")
    assert _read(doc["flops"]["forward"]["value"]) == complexa.flops(network, convention="torch")
    assert _read(doc["flops"]["training"]["value"]) == complexa.flops(network, convention="torch", phase="training")
    m = complexa.memory(network)
    for name in ("parameters", "activations", "gradients", "deltas", "elements", "bytes"):
        assert _read(doc["memory"][name]["value"]) == getattr(m, name)
    assert "flops" not in _json(capsys, "derive", "2", "3")
    _, out, _ = run(capsys, "derive", "784", "30", "10", "--flops", "fvcore")
    assert out.splitlines()[-1].split() == ["training", "forward", "only"]
