"""Inputs a hostile or careless user gives: each ends quickly, in a correct result or in one line and exit status 2.

Every case here once hung complexa, exhausted memory or ended in a traceback (docs/limits.md lists the limits that
stop them). The time budget is generous, for a loaded CI machine: it catches a hang, it does not measure speed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complexa import ComplexaError, parse
from complexa._limits import MAX_DEGREE
from complexa._printers import sstr
from complexa.cli import main

BUDGET = 30.0
"""Seconds any one case may take: minutes or gigabytes were what these inputs took before."""

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str]) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue(), time.perf_counter() - start


SYMBOLS_400 = [f"h{k}" for k in range(1, 401)]
SYMBOLS_1000 = [f"h{k}" for k in range(1, 1001)]


def _SUM(name: str) -> str:
    return "+".join(f"{name}{k}" for k in range(12))


REFUSED = [
    # expressions that expand past every limit
    (["derive", "(a+b+c+d)^64", "3"], "expands to more than 250,000 products of terms"),
    (["derive", "(((h+1)^64)^64)^64", "3"], "expands to more than 250,000 products of terms"),
    (["derive", "((((((h^64)^64)^64)^64)^64)^64)^64", "3"], "has a degree above 4096"),
    (["derive", "(a+b)^500", "3"], "expands to more than 250,000 products of terms"),
    (["derive", "h^17", "3"], "a size has a degree of at most 16"),
    (["derive", "(h+1)^17", "3"], "a size expands to at most 16 terms, not 18"),
    (["derive", "(a+b+c+d+e+f)^2", "3"], "a size expands to at most 16 terms, not 21"),
    (["derive", "2", "3", "--iterations", "(T+1)^64^64"], "an exponent must be an integer constant from -4096 to"),
    (["derive", "2", "3", "--iterations", "(T+1)^64^2"], "expands to more than 250,000 products of terms"),
    (["derive", "2", "3", "--iterations", "T^64^2*T"], "has a degree above 4096"),
    (["derive", "h", "3", "--assume", "h=(a+b+c)^40"], "a size"),
    (["derive", "h", "3", "--batch", "9^9^9"], "an exponent must be an integer constant from -4096 to 4096"),
    (["derive", "h", "3", "--batch", "10^4000"], "a number has more than 4000 digits"),
    # huge integers, quoted short
    (["derive", "1" + "0" * 150, "3"], r"sizes[0] = 1000000000...0 (a 151-digit integer): a size has at most 100"),
    (["derive", "-" + "9" * 5000, "3"], "a number has more than 4000 digits"),
    (["measure", "3", "3", "--iterations", "1000000000000"], "more than measure performs (1e+12, hours of work)"),
    (["measure", "3", "3", "--iterations", "9" * 5000], "must be a positive integer"),
    (["measure", "3", "3", "--seed", "9" * 200], "must be a non-negative integer"),
    (["measure", "3", "--depth", "10000000000"], "more than measure performs"),
    # text that is not ASCII digits or not an expression
    (["measure", "3", "٣"], "unexpected character '٣'"),
    (["derive", "3", "３"], "unexpected character '３'"),
    (["measure", "3", "3", "--iterations", "٣"], "'٣' must be a positive integer"),
    (["scale", "--sizes", "4..٣٢"], "must be LO..HI"),
    (["derive", "h", "3", "--assume", "h=x", "h=y"], "h is already assumed (h=x); give each once"),
    (["derive", "h" * 300, "3"], None),  # a long name is a name: accepted
    (["derive", "h+" * 10 + "(", "3"], "ends too early; expected a number, a name or '('"),
    (["derive", "(h+1", "3"], "a '(' is never closed"),
    (["derive", "(" * 40 + "h" + ")" * 40, "3"], "nested more than 32 levels deep"),
    # a stack of layers: bounded before it is read, its sizes as every size, nothing evaluated
    (["derive", "--layers", "Linear(2, 2) " + "Residual(" * 40 + "ReLU" + ")" * 40], "nested more than 32 levels"),
    (["derive", "--layers", "Linear(h, h) ReLU " * 1001], "at position 18000: more than 2,000 layers"),
    (["derive", "--layers", " " * 1_000_001], "a stack is limited to 1,000,000 characters"),
    (["derive", "--layers", "Linear((a+b+c+d)^64, 3)"], "expands to more than 250,000 products of terms"),
    (["derive", "--layers", "Linear(" + "(" * 40 + "h" + ")" * 40 + ", 3)"], "nested more than 32 levels deep"),
    (["derive", "--layers", "Linear(" + "9" * 5000 + ", 3)"], "a number has more than 4000 digits"),
    (["derive", "--layers", "LayerNorm(3, eps=" + "1" * 5000 + ")"], "a number has more than 4000 digits"),
    (["derive", "--layers", "LayerNorm(3, eps=" + "9" * 400 + ")"], "LayerNorm(eps) = inf: must be a positive"),
    (["derive", "--layers", "Linear(__import__('os').system('true'), 3)"], "unexpected character '_'"),
    (["derive", "--layers", "Linear(2, 3) eval('1')"], "unknown layer 'eval'"),
    (["derive", "--layers", "Linear(3, ３)"], "unexpected character '３'"),
    (["derive", "2", "3", "--optimizer", "Adam(lr=1e999)"], "Adam(lr) = inf: must be a real number in (0, inf)"),
    (["derive", "2", "3", "--optimizer", "Adam(betas=(" + "0.5, " * 5000 + "0.5))"], "must be two numbers"),
    (["derive", "2", "3", "--optimizer", "Adam(betas=" + "(" * 40 + "))"], "expected a number such as 0.9"),
    # issue 20, the surfaces added since: keyword-only arguments, a missing layer
    (["derive", "--gpt", "V, T, d, L, H, 7"], "at position 15: Network.gpt takes at most 5 arguments by position"),
    (["derive", "--layers", "Linear(h,h) Repeat(times=3)"], "at position 12: Repeat needs layer: Repeat(layer, times)"),
    (["derive", "--layers", "Linear(h,h) Repeat()"], "Repeat needs layer and times: Repeat(layer, times)"),
    # smaller: options another command's, Python's None, a non-ASCII letter, a float's exponent
    (["audit", "kaplan", "--max-n", "5", "--backend", "cuda"], "--max-n 5 and --backend cuda with kaplan: the essay's"),
    (["audit", "palm", "--backend", "cpu"], "--backend cpu with palm: the essay's audit measures networks"),
    (["derive", "--gpt", "V, T, d, L, None"], "Network.gpt(n_heads): None is not a size; give a size such as"),
    (["derive", "--layers", "Linear(None, 3)"], "at position 7: Linear(in_features): None is not a size"),
    (["derive", "--layers", "Lineaг(3,3)"], "unknown layer 'Lineaг': 'г' at position 5 is not an ASCII letter"),
    (["derive", "1e400", "3"], "unexpected 'e400' after a complete expression; a size is an integer: write 1*10^400"),
    # measure counts every layer's own overhead, not only its arrays: each is a Python call per step, and memory
    (["measure", "3", "--depth", "1000000"], "2,000,000 layers trained 1 time each, more than measure runs"),
    (["measure", "--gpt", "8, 2, 4, 100000, 2"], "1,000,005 layers trained 1 time each, more than measure runs"),
    (["measure", "3", "--depth", "200000", "--iterations", "3"], "400,000 layers trained 3 times each"),
    (["measure", "--layers", "Linear(3,3) " + "Repeat(" * 3 + "Linear(3,3)" + ", 1000)" * 3], "1,001,001,002 layers"),
]


@pytest.mark.parametrize(("argv", "message"), REFUSED, ids=[" ".join(c[0])[:60] for c in REFUSED])
def test_refused_quickly_in_one_line(argv: list[str], message: str | None) -> None:
    status, _, err, seconds = run(argv)
    assert seconds < BUDGET
    assert "Traceback" not in err
    if message is None:
        assert status == 0 and err == ""
        return
    assert status == 2, err
    assert len(err.splitlines()) == 1, err
    assert message in err


ANSWERED = [
    # a concrete depth has the closed form a symbolic one has, and no list of a billion layers
    (["derive", "3", "--depth", "10000000", "--units", "exact"], "90,000,000"),
    (["derive", "3", "--depth", "1000000000"], "9 G"),
    (["derive", "3", "--depth", "99999999999999999999", "--format", "json"], "899999999999999999991"),
    # many symbols: roughly linear, no recursion limit
    (["derive", *SYMBOLS_400], "h399*h400"),
    (["derive", *SYMBOLS_1000], "h1000*h999"),
    (["derive", *SYMBOLS_1000, "--format", "json"], "h1000*h999"),
    (["latex", *SYMBOLS_1000], r"h_{1000} h_{999}"),
    # expanded before it is judged: this batch is 1, which the essay model accepts
    (["derive", "3", "3", "--model", "essay", "--batch", "(h+1)^2 - h^2 - 2*h"], "essay model of"),
    (["derive", "(a+b)^2", "c"], "a^2*c + 2*a*b*c + b^2*c"),
    # the most layers a stack may have, each of its commands
    (["derive", "--layers", "Linear(h, h) ReLU " * 1000, "--batch", "B"], "1999   ReLU()"),
    (["derive", "--layers", "Linear(h, h) ReLU " * 1000, "--format", "json"], '"1998": {'),
    (["latex", "--layers", "Linear(h, h) ReLU " * 1000], r"\text{1999} & \text{ReLU()}"),
    # every symbol in thousands of terms: big-O's dominance check is no longer quadratic in them (once a minute here,
    # and over 900 s with 16 symbols a size)
    (["derive", _SUM("a"), _SUM("b"), "--batch", _SUM("z"), "--iterations", _SUM("t")], "a0*b0*t0*z0 + a0*b0*t0*z1"),
    # Python's None for an optional size is its default, not a symbol named None
    (["derive", "--gpt", "V, T, d, L, H, d_ff=None"], "exact model of Network.gpt(V, T, d, L, H), 1 training step"),
    # nested Repeats multiply: a million layers in 60 characters, listed as templates past 1,000 copies in all
    (["derive", "--layers", "Linear(h,h) Repeat(Repeat(Linear(h,h), 1000), 1000)"], "1000001*h^2"),
    (["derive", "--layers", "Linear(h,h) " + "Repeat(" * 3 + "Linear(h,h)" + ", 1000)" * 3], "1000000001*h^2"),
    (["derive", "--layers", "Linear(h,h) Repeat(Linear(h,h), 1000) " * 600, "--format", "json"], '"1199.{i}"'),
]


@pytest.mark.parametrize(("argv", "expected"), ANSWERED, ids=[" ".join(c[0])[:60] for c in ANSWERED])
def test_answered_quickly(argv: list[str], expected: str) -> None:
    status, out, err, seconds = run(argv)
    assert seconds < BUDGET
    assert (status, err) == (0, "")
    assert expected in out


def _strings(doc: object) -> list[str]:
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []


@pytest.mark.parametrize(
    "argv",
    [
        ["derive", "a", "b", "c", "d", "e", "f", "g", "--batch", "B", "--iterations", "T", "--flops", "torch"],
        ["derive", "h^16", "h^16", "--memory"],
        ["derive", "10^99", "h", "--batch", "10^99", "--iterations", "10^99"],
        ["derive", *SYMBOLS_400, "--batch", "B"],
    ],
    ids=["seven symbols", "degree 16", "100 digits", "400 symbols"],
)
def test_every_expression_printed_reads_back(argv: list[str]) -> None:
    status, out, _, _ = run([*argv, "--format", "json"])
    assert status == 0
    doc = json.loads(out)
    expressions = [s for key in ("counts", "quantities", "flops", "memory") for s in _strings(doc.get(key))]
    assert len(expressions) > 20
    for text in expressions:
        value = parse(text)
        assert sstr(value) == text  # the same text back, so the same expression


def test_every_expression_of_a_traced_module_reads_back() -> None:
    # Strided convolutions and pools: output sizes are floor divisions, which the JSON prints and complexa.parse reads.
    torch = pytest.importorskip("torch")
    from complexa import from_torch

    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 4, 3, stride=2)
    )
    d = from_torch(module, ("B", 3, "H", "W"))
    doc = d.to_json()
    read = 0
    for phase, ops in d.counts.items():
        for op, value in ops.items():
            text = doc["counts"][phase][op]["value"]
            if isinstance(text, int):  # exact integers are JSON integers
                assert text == value
                continue
            assert sympy.expand(parse(text) - value) == 0, text
            read += "floor" in text or "ceiling" in text
    assert read >= 2
    for text in _strings(doc["by_layer"]) + _strings(doc["quantities"]):
        parse(text)  # each reads


def test_plot_path_is_checked_before_the_sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    sweep = ["scale", "--sizes", "4", "8", "16", "--repeats", "1", "--quiet"]
    (tmp_path / "taken.png").mkdir()
    for plot, message in [
        ("", "plot = '': give a file name"),
        ("missing/", "plot = 'missing/': the directory does not exist"),
        ("missing/x", "the directory 'missing' does not exist"),
        ("x" * 300, "File name too long"),
        ("taken", "cannot write"),
        ("x.pdf", "give a name ending in .png or .svg"),
    ]:
        status, out, err, seconds = run([*sweep, "--plot", plot])
        assert (status, out, len(err.splitlines())) == (2, "", 1), (plot, err)
        assert message in err and seconds < BUDGET
    (tmp_path / "out").mkdir()
    status, _, err, _ = run([*sweep, "--plot", "out/"])
    assert status == 0 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["scale.png", "scale.svg"]
    status, _, err, _ = run([*sweep, "--plot", "."])
    assert status == 0 and (tmp_path / "scale.png").is_file()


# --- the process itself: streams, signals, memory limits -------------------------------------------------------


def _command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "complexa", *argv]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_output_to_a_full_device_is_one_line_and_status_1() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this platform")
    with open("/dev/full", "w") as full:
        done = subprocess.run(_command("derive", "3", "3"), stdout=full, stderr=subprocess.PIPE, text=True, env=_env())
    assert done.returncode == 1
    assert done.stderr == "complexa: error: cannot write the output: No space left on device\n"


def test_a_closed_stdout_is_one_line_and_status_1() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; os.close(1); from complexa.cli import main; sys.exit(main(['derive', '3', '3']))",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert done.returncode == 1
    assert done.stderr.startswith("complexa: error: cannot write the output") and done.stderr.count("\n") == 1


MODEL = "import torch\n\n\ndef build():\n    return torch.nn.Linear(8, 4)\n"

OUTPUTS = [
    ("scale", "--sizes", "4", "8", "16", "--repeats", "1", "--quiet"),
    ("--help",),
    ("derive", "--help"),
    ("torch", "{model}:build", "--input", "B,8"),
]


@pytest.mark.parametrize("argv", OUTPUTS, ids=[" ".join(a[:2]) for a in OUTPUTS])
@pytest.mark.parametrize("where", ["full", "closed"])
def test_every_command_output_error_is_one_line_and_status_1(argv: tuple[str, ...], where: str, tmp_path: Path) -> None:
    if argv[0] == "torch":
        pytest.importorskip("torch")
    if where == "full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this platform")
    (tmp_path / "m.py").write_text(MODEL)
    argv = tuple(a.format(model=tmp_path / "m.py") for a in argv)
    code = f"import os, sys; os.close(1); from complexa.cli import main; sys.exit(main({list(argv)!r}))"
    if where == "full":
        with open("/dev/full", "w") as full:
            done = subprocess.run(_command(*argv), stdout=full, stderr=subprocess.PIPE, text=True, env=_env())
        assert (done.returncode, done.stderr) == (
            1,
            "complexa: error: cannot write the output: No space left on device\n",
        )
    else:
        done = subprocess.run([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=_env())
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("complexa: error: cannot write the output") and done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("spec", "shape", "message"),
    [
        ("{model}:build", "10**40,8", "inputs[0] = ('10**40', '8'): its integer sizes make 8e+40 elements, more than"),
        ("{model}:build", "2**62,8", "inputs[0] = ('2**62', '8'): its integer sizes make 3.69e+19 elements"),
        ("{model}:__class__", "B,8", ":__class__': give FILE.py:FACTORY, such as model.py:build"),
        ("{model}:torch", "B,8", "m.py has no function 'torch'"),
        ("{model}:build:", "B,8", ":build:': give FILE.py:FACTORY"),
        ("{missing}:build", "B,8", "missing.py': no such file"),
        ("bad.py:build", "B,8", "build() in bad.py raised ValueError: boom (line 2)"),
        ("exits.py:build", "B,8", "running exits.py raised exit(5) (line 1)"),
        ("syntax.py:build", "B,8", "running syntax.py raised SyntaxError: '(' was never closed (syntax.py, line 1)"),
    ],
)
def test_torch_input_is_checked_in_one_line(
    spec: str, shape: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "__class__" not in spec and "missing" not in spec and not spec.endswith(":"):
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text(MODEL)
    (tmp_path / "bad.py").write_text("def build():\n    raise ValueError('boom')\n")  # the user's own mistakes
    (tmp_path / "exits.py").write_text("raise SystemExit(5)\n")
    (tmp_path / "syntax.py").write_text("x = (\n")
    spec = spec.format(model="m.py", missing="missing.py")
    status, out, err, seconds = run(["torch", spec, "--input", shape])
    assert (status, out, len(err.splitlines())) == (2, "", 1), err
    assert message in err and seconds < BUDGET


def test_torch_syntax_is_checked_before_torch_is_imported(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom complexa.cli import main\n"
        "status = main(['torch', 'no.py:build', '--input', 'B,8'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\nsys.exit(status)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path)
    assert (done.returncode, done.stderr.count("\n")) == (2, 1), done.stderr
    assert "no.py': no such file" in done.stderr


def test_a_reader_that_goes_away_ends_it_quietly() -> None:
    proc = subprocess.Popen(
        _command("derive", "3", "h", "3"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before complexa has written a byte
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=BUDGET) == 1
    assert err == b""


@pytest.mark.parametrize("after", [0.05, 0.15, 0.3, 1.0])
def test_ctrl_c_at_any_moment_is_status_130_and_one_line(after: float) -> None:
    # The child says when Python itself has started (before that, the interpreter's own start-up is interrupted, which
    # no program can handle), then imports complexa.cli (a few milliseconds); from 0.05 s to 0.3 s sympy and numpy are
    # being imported; at 1 s the sweep runs.
    code = (
        "import sys\n"
        "sys.stdout.write('started\\n'); sys.stdout.flush()\n"
        "from complexa.cli import main\n"
        "sys.exit(main(['scale', '--vary', 'width', '--quiet']))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"started\n"
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=BUDGET)
    if proc.returncode == 0:  # the sweep ended before the signal: nothing to check
        pytest.skip("finished before Ctrl-C")
    assert (proc.returncode, err) == (130, b"complexa: interrupted\n"), err.decode()


@pytest.mark.parametrize("after", [0.6, 1.0, 1.4, 2.0])
def test_ctrl_c_during_numba_s_first_compile_is_status_130(after: float, tmp_path: Path) -> None:
    # A fresh cache: numba compiles the kernels (seconds), and turns a KeyboardInterrupt inside LLVM's callbacks into a
    # RuntimeError of its own ("no compiled object yet"), 3 times in 27 before main remembered the Ctrl-C itself.
    code = (
        "import sys\n"
        "sys.stdout.write('started\\n'); sys.stdout.flush()\n"
        "from complexa.cli import main\n"
        "sys.exit(main(['measure', '3', '3']))\n"
    )
    env = {**_env(), "NUMBA_CACHE_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"started\n"
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=BUDGET)
    if proc.returncode == 0:
        pytest.skip("finished before Ctrl-C")
    assert (proc.returncode, err) == (130, b"complexa: interrupted\n"), err.decode()


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc are Linux's")
@pytest.mark.parametrize(
    ("limit", "args", "layers"),
    [
        # 500,005 layers of 4 widths: kilobytes of arrays, gigabytes of layers, refused under a 2.5 GB address space.
        ("5 * 2**29", ["measure", "--gpt", "8, 2, 4, 50000, 2"], "500,005 layers"),
        # 12 GB of arrays against a 6 GB address space: refused before numpy tries, whatever memory is free.
        ("6 * 2**30", ["measure", "2", "3", "--batch", "100000000"], "2 layers"),
    ],
)
def test_the_memory_guard_sees_an_address_space_limit(limit: str, args: list[str], layers: str) -> None:
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
        "from complexa.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=_env())
    assert done.returncode == 2, done.stderr
    assert f"bytes for its arrays and its {layers}, and only" in done.stderr and done.stderr.count("\n") == 1


# --- the grammar, fuzzed --------------------------------------------------------------------------------------

TOKENS = st.sampled_from(
    ["h", "n", "B", "x_1", "0", "1", "2", "7", "64", "65", "4096", "99999", "+", "-", "*", "/", "^", "**", "(", ")"] * 2
    + [" ", "(", ")", "^", "."]  # some tokens drawn more often, and a character outside the grammar
)


def _check_grammar(text: str) -> None:
    start = time.perf_counter()
    try:
        value = parse(text)
    except ComplexaError as error:
        assert "\n" not in str(error)
    else:
        again = parse(sstr(value))  # whatever is read prints in a form that reads back
        if value.is_polynomial():
            assert again == value  # the very expression
        elif sympy.total_degree(sympy.fraction(value)[1]) < 64:
            assert sympy.cancel(again - value) == 0  # a ratio reads back as an equal one
    assert time.perf_counter() - start < BUDGET


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKENS, max_size=40).map("".join))
def test_token_soup_reads_or_is_refused(text: str) -> None:
    _check_grammar(text)


def _expressions() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["h", "n", "a", "b", "1", "2", "3", "10"])
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from("+-*/"), inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
            st.tuples(inner, st.integers(0, MAX_DEGREE + 8)).map(lambda t: f"({t[0]})^{t[1]}"),
            inner.map(lambda e: f"-{e}"),
        ),
        max_leaves=24,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expressions())
def test_deep_and_long_expressions_read_or_are_refused(text: str) -> None:
    _check_grammar(text)


def test_after_ctrl_c_llvmlites_half_made_objects_fail_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    # Seen in CI: a compile cut short by Ctrl-C left llvmlite objects whose destructors failed at exit, printed as
    # "Exception ignored in: <function ObjectRef.__del__ ...>" after "complexa: interrupted". Only those are silenced.
    from types import SimpleNamespace

    from llvmlite.binding import ffi

    from complexa import cli

    seen: list[object] = []
    previous = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        assert cli._interrupted() == 130
        error = AttributeError("'PassBuilder' object has no attribute '_as_parameter_'")
        sys.unraisablehook(SimpleNamespace(object=ffi.ObjectRef.__del__, exc_value=error))
        other = SimpleNamespace(object=test_after_ctrl_c_llvmlites_half_made_objects_fail_quietly, exc_value=error)
        sys.unraisablehook(other)
    finally:
        sys.unraisablehook = previous
    assert seen == [other]
    assert capsys.readouterr().err == "complexa: interrupted\n"
