"""Mutation testing for complexa: does the test suite catch plausible mistakes in the code that decides its claims?

Usage (from anywhere in the repository, with the test dependencies installed)::

    python tools/mutate.py                      # every mutation, 2 at a time
    python tools/mutate.py --jobs 4 --only cpu-kernel,grammar
    python tools/mutate.py --only 'cpu-fwd-*' --keep
    python tools/mutate.py --list               # the mutations, run nothing
    python tools/mutate.py --check              # is every snippet still there exactly once? run nothing
    python tools/mutate.py --diff parse-unary-minus
    python tools/mutate.py --rev HEAD           # mutate the last commit rather than the working tree

The mutations are a hand-written list, `tools/mutations.py`: each replaces one exact snippet of one file by a
plausible mistake (an off-by-one count, a dropped term, a wrong sample index, a `>` for a `>=`, a wrong exit status)
and names the tests that should catch it. The runner copies the working tree once (tracked and untracked files that
git does not ignore), then for each mutant copies that snapshot into a temporary directory, applies the one mutation
and runs ``python -m pytest -x -q`` there, with that copy first on ``PYTHONPATH`` (so it, not the editable install,
is what ``import complexa`` finds: checked before any mutant runs) and a fresh ``NUMBA_CACHE_DIR`` (the kernels use
``cache=True``, and numba does not notice when a function a cached kernel calls has changed; a cache shared between
mutants could also serve a kernel compiled for another one). The working tree itself is never written to.

A mutant is *caught* when pytest fails (or crashes or times out), *survived* when it passes, *stale* when its
snippet is not in its file exactly once, *skipped* when it needs a CUDA GPU and there is none. The score is caught
over all mutants that ran, less those marked ``equivalent`` (they change nothing observable; the list says why).
The exit status is 1 when a mutant of a strict area (`mutations.STRICT_AREAS`: counting rules, kernels, their
layout, the grammar) survives, or when any mutation is stale, invalid or its tests cannot run; else 0.

Why not mutmut or cosmic-ray: they generate thousands of blind operator swaps, most of them in messages and
docstrings, and every mutant that touches the kernels costs a numba compile (about 10 s); mutmut 3 injects a
trampoline into every function, which numba cannot compile inside an ``@njit`` kernel; older mutmut and cosmic-ray
rewrite the files in place, which a tree that others edit at the same time cannot allow, and which numba's on-disk
cache (keyed by file path and timestamp) can mask. A short list of meaningful mutations, each with the tests that
should catch it and checked against the code on every run, gives a score that means something in minutes.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import fnmatch
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutations import AREAS, MUTATIONS, STRICT_AREAS, Mutation

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
R = TypeVar("R")

CAUGHT, SURVIVED, EQUIVALENT, TIMEOUT, STALE, INVALID, SKIPPED, ERROR = (
    "caught",
    "SURVIVED",
    "equivalent",
    "timeout",
    "STALE",
    "INVALID",
    "skipped",
    "ERROR",
)


@dataclass
class Result:
    mutation: Mutation
    status: str
    detail: str = ""
    seconds: float = 0.0
    log: str = ""


# --- the snapshot and the copies ---------------------------------------------------------------------------------


def snapshot(dest: Path, rev: str | None) -> None:
    """Copy the working tree (tracked and untracked, not ignored), or commit `rev`, into `dest`."""
    dest.mkdir(parents=True)
    if rev is not None:
        archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12 and later
                tar.extractall(dest, filter="data")
            else:
                tar.extractall(dest)  # our own repository's archive
        return
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree, or a submodule
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def check(mutation: Mutation, source: Path) -> tuple[str, str]:
    """(status, detail): ("", "") when `mutation` applies to the snapshot at `source`."""
    path = source / mutation.file
    if not path.is_file():
        return STALE, f"{mutation.file} does not exist"
    text = path.read_text()
    found = text.count(mutation.old)
    if found != 1:
        return STALE, f"the snippet occurs {found} times in {mutation.file}, not once"
    if mutation.old == mutation.new:
        return INVALID, "old and new are the same"
    mutated = text.replace(mutation.old, mutation.new)
    try:
        ast.parse(mutated, filename=mutation.file)
    except SyntaxError as error:
        return INVALID, f"the mutant is not valid Python: {error}"
    return "", ""


def environment(copy: Path, cache: Path, extra: dict[str, str]) -> dict[str, str]:
    """The mutant's environment: its copy first on PYTHONPATH, its own numba cache, and what its tests need."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "NUMBA_ENABLE_CUDASIM")}
    env["PYTHONPATH"] = os.pathsep.join([str(copy), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["NUMBA_CACHE_DIR"] = str(cache)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def make_copy(source: Path, work: Path, name: str, mutation: Mutation | None) -> tuple[Path, Path]:
    """A fresh copy of the snapshot under `work`/`name`, mutated by `mutation`; (copy, its numba cache)."""
    base = work / name
    copy = base / "repo"
    shutil.copytree(source, copy, symlinks=True)
    if mutation is not None:
        path = copy / mutation.file
        path.write_text(path.read_text().replace(mutation.old, mutation.new))
    cache = base / "numba-cache"
    cache.mkdir()
    return copy, cache


# --- running pytest ---------------------------------------------------------------------------------------------


def node_id(line: str) -> str:
    """The test of a ``FAILED nodeid - message`` line; a parametrized id may hold " - " itself, inside brackets."""
    text = line.split(" ", 1)[1]
    start = 0
    while (cut := text.find(" - ", start)) != -1:
        if text.count("[", 0, cut) == text.count("]", 0, cut):
            return text[:cut]
        start = cut + 1
    return text


def first_failure(output: str, returncode: int) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return node_id(line)
    if returncode < 0:
        return f"crashed: {signal.Signals(-returncode).name}"
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:100] if lines else f"exit status {returncode}"


_children: set[subprocess.Popen[str]] = set()
_lock = threading.Lock()


def pytest(copy: Path, cache: Path, mutation: Mutation, seed: int, timeout: float) -> tuple[int | None, str, float]:
    """Run the mutation's tests in `copy`; (exit status or None on timeout, output, seconds)."""
    # One process a mutant (-n 0): --jobs runs mutants side by side instead.
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider"]
    command.append(f"--hypothesis-seed={seed}")
    command += list(mutation.tests)
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=copy,
        env=environment(copy, cache, mutation.env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so a timeout ends the tests' own subprocesses too
    )
    with _lock:
        _children.add(process)
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output, time.monotonic() - start
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output, time.monotonic() - start
    finally:
        with _lock:
            _children.discard(process)


def run_one(mutation: Mutation, source: Path, work: Path, args: argparse.Namespace, timeout: float) -> Result:
    copy, cache = make_copy(source, work, mutation.id, mutation)
    try:
        returncode, output, seconds = pytest(copy, cache, mutation, args.seed, timeout)
    finally:
        if not args.keep:
            shutil.rmtree(copy.parent, ignore_errors=True)
    if returncode is None:
        return Result(mutation, TIMEOUT, f"no result after {timeout:.0f} s", seconds, output)
    if returncode in (4, 5):  # usage error, or no tests collected: the list is wrong, not the code
        return Result(mutation, ERROR, f"pytest exit status {returncode}: {first_failure(output, 0)}", seconds, output)
    if returncode == 0:
        status = EQUIVALENT if mutation.equivalent else SURVIVED
        return Result(mutation, status, mutation.equivalent or "", seconds, output)
    return Result(mutation, CAUGHT, first_failure(output, returncode), seconds, output)


# --- checks before any mutant runs ------------------------------------------------------------------------------

PROBE = """
import complexa, os
from numba.core import config
print(complexa.__file__)
print(config.CACHE_DIR)
"""


def probe_imports(source: Path, work: Path) -> None:
    """Fail unless a copy's environment imports the copy's complexa and gives numba the copy's own cache."""
    copy, cache = make_copy(source, work, "probe", None)
    env = environment(copy, cache, {})
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=copy, env=env, capture_output=True, text=True)
    lines = result.stdout.split()
    if result.returncode != 0 or len(lines) != 2:
        sys.exit(f"mutate: importing complexa in a copy failed:\n{result.stderr}")
    imported, cache_dir = Path(lines[0]).resolve(), Path(lines[1]).resolve()
    if copy.resolve() not in imported.parents:
        sys.exit(f"mutate: a copy imports {imported}, not its own complexa: check PYTHONPATH and .pth files")
    if cache_dir != cache.resolve():
        sys.exit(f"mutate: numba caches in {cache_dir}, not in the copy's own {cache}")
    shutil.rmtree(copy.parent, ignore_errors=True)


def have_gpu() -> bool:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    code = "from numba import cuda; print(cuda.is_available())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return result.stdout.strip() == "True"


TestSet = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]
"""A mutation's tests and environment: mutants with the same one share a baseline."""


def key(m: Mutation) -> TestSet:
    return (m.tests, tuple(sorted(m.env.items())))


def baselines(runnable: list[Mutation], source: Path, work: Path, args: argparse.Namespace) -> dict[TestSet, float]:
    """Run each distinct test set, unmutated; exit if one fails. Returns each set's seconds."""
    sets: dict[TestSet, Mutation] = {}
    for m in runnable:
        sets.setdefault(key(m), m)
    print(f"baseline: {len(sets)} test sets on the unmutated copy", file=sys.stderr)

    def one(item: tuple[int, Mutation]) -> tuple[TestSet, int | None, str, float]:
        n, m = item
        copy, cache = make_copy(source, work, f"baseline-{n}", None)
        returncode, output, seconds = pytest(copy, cache, m, args.seed, args.timeout or 1800)
        leaked = sorted(str(p.relative_to(copy)) for p in copy.rglob("*.nbi"))
        if leaked and returncode == 0:  # each mutant must compile into its own NUMBA_CACHE_DIR, nowhere else
            returncode, output = 1, f"numba cached kernels inside the copy, not in NUMBA_CACHE_DIR: {leaked}"
        shutil.rmtree(copy.parent, ignore_errors=True)
        return key(m), returncode, output, seconds

    times = {}
    failed = []
    for k, returncode, output, seconds in parallel(one, list(enumerate(sets.values())), args.jobs):
        times[k] = seconds
        label = " ".join(k[0]) + "".join(f" {name}={value}" for name, value in k[1])
        label = label.strip() or "(the whole suite)"
        print(f"  {seconds:6.1f} s  {label}", file=sys.stderr)
        if returncode != 0:
            failed.append(f"{label}: {first_failure(output, returncode or 0)}\n{output[-3000:]}")
    if failed:
        sys.exit("mutate: the unmutated suite fails, so no mutant can be judged:\n" + "\n".join(failed))
    return times


def parallel(function: Callable[[T], R], items: list[T], jobs: int) -> list[R]:
    """`function` over `items`, `jobs` at a time, in order; on Ctrl-C the running tests are ended first."""
    pool = ThreadPoolExecutor(jobs)
    try:
        return list(pool.map(function, items))
    except KeyboardInterrupt:
        with _lock:
            for process in list(_children):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- selection and reports --------------------------------------------------------------------------------------


def select(patterns: str | None) -> list[Mutation]:
    if not patterns:
        return list(MUTATIONS)
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    chosen = []
    for m in MUTATIONS:
        area = m.area.replace(" ", "-")
        if any(fnmatch.fnmatch(m.id, p) or p in (m.area, area) for p in wanted):
            chosen.append(m)
    if not chosen:
        sys.exit(f"mutate: --only {patterns!r} matches no mutation id (glob) or area ({', '.join(AREAS)})")
    return chosen


def validate_list() -> None:
    ids = [m.id for m in MUTATIONS]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        sys.exit(f"mutate: duplicate mutation ids: {', '.join(duplicates)}")
    unknown = sorted({m.area for m in MUTATIONS} - set(AREAS))
    if unknown:
        sys.exit(f"mutate: unknown areas: {', '.join(unknown)}")


def print_list(chosen: list[Mutation]) -> None:
    for m in chosen:
        tests = " ".join(m.tests) or "(the whole suite)"
        tests += "".join(f" with {name}={value}" for name, value in m.env.items())
        flags = (" [equivalent]" if m.equivalent else "") + (" [gpu]" if m.gpu else "")
        print(f"{m.id:34} {m.area:14} {m.file}{flags}\n{'':34} {m.why}\n{'':34} tests: {tests}")


def print_diff(mutation_id: str) -> None:
    matches = [m for m in MUTATIONS if m.id == mutation_id]
    if not matches:
        sys.exit(f"mutate: no mutation {mutation_id!r}")
    m = matches[0]
    text = (ROOT / m.file).read_text()
    if text.count(m.old) != 1:
        sys.exit(f"mutate: {m.id} is stale: its snippet occurs {text.count(m.old)} times in {m.file}")
    diff = difflib.unified_diff(
        text.splitlines(keepends=True),
        text.replace(m.old, m.new).splitlines(keepends=True),
        f"a/{m.file}",
        f"b/{m.file}",
    )
    sys.stdout.writelines(diff)


def report(results: list[Result]) -> int:
    width = max(len(r.mutation.id) for r in results)
    print(f"\n{'mutation':{width}}  {'area':14} {'result':10} {'seconds':>7}  first failing test / reason")
    for r in results:
        detail = r.detail if len(r.detail) <= 100 else r.detail[:99] + "…"
        print(f"{r.mutation.id:{width}}  {r.mutation.area:14} {r.status:10} {r.seconds:7.1f}  {detail}")
    count = {s: sum(r.status == s for r in results) for s in (CAUGHT, TIMEOUT, SURVIVED, EQUIVALENT)}
    judged = count[CAUGHT] + count[TIMEOUT] + count[SURVIVED]
    caught = count[CAUGHT] + count[TIMEOUT]
    score = f"{caught}/{judged} ({100 * caught / judged:.0f}%)" if judged else "nothing ran"
    print(f"\nscore: {score} caught; {count[EQUIVALENT]} equivalent (not counted)", end="")
    others = {s: sum(r.status == s for r in results) for s in (STALE, INVALID, ERROR, SKIPPED)}
    print("".join(f"; {n} {s.lower()}" for s, n in others.items() if n))
    marked = [r.mutation.id for r in results if r.status == CAUGHT and r.mutation.equivalent]
    if marked:
        print(f"marked equivalent but caught (remove the mark): {', '.join(marked)}")
    strict = [r.mutation.id for r in results if r.status == SURVIVED and r.mutation.area in STRICT_AREAS]
    if strict:
        print(f"survivors in strict areas: {', '.join(strict)}")
    broken = others[STALE] + others[INVALID] + others[ERROR]
    return 1 if strict or broken else 0


# --- main -------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/mutate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--only", metavar="IDS", help="comma-separated mutation ids (globs allowed) or areas")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--check", action="store_true", help="check every snippet applies; run no tests")
    parser.add_argument("--diff", metavar="ID", help="print one mutation as a diff of the working tree and exit")
    parser.add_argument("--rev", help="mutate this commit (git archive) instead of the working tree")
    parser.add_argument("--full", action="store_true", help="run the whole suite for every mutant")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default: 4 x its baseline + 60)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed, for reproducible runs (default 0)")
    parser.add_argument("--no-baseline", action="store_true", help="skip running each test set unmutated first")
    parser.add_argument("--keep", action="store_true", help="keep every mutant's copy (under the printed directory)")
    parser.add_argument("--verbose", action="store_true", help="print the pytest output of survivors and errors")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")

    validate_list()
    if args.diff:
        print_diff(args.diff)
        return 0
    chosen = select(args.only)
    if args.full:
        chosen = [dataclasses.replace(m, tests=()) for m in chosen]
    if args.list:
        print_list(chosen)
        return 0

    work = Path(tempfile.mkdtemp(prefix="complexa-mutate-"))
    try:
        source = work / "source"
        snapshot(source, args.rev)
        results: dict[str, Result] = {}
        runnable = []
        for m in chosen:
            status, detail = check(m, source)
            if status:
                results[m.id] = Result(m, status, detail)
            else:
                runnable.append(m)
        if args.check:
            for m in chosen:
                if m.id in results:
                    print(f"{m.id}: {results[m.id].status}: {results[m.id].detail}")
            print(f"{len(runnable)} of {len(chosen)} mutations apply")
            return 1 if results else 0
        if any(m.gpu for m in runnable) and not have_gpu():
            for m in runnable:
                if m.gpu:
                    results[m.id] = Result(m, SKIPPED, "needs a CUDA GPU: the simulator cannot show a race")
            runnable = [m for m in runnable if not m.gpu]
        probe_imports(source, work)
        times = {} if args.no_baseline else baselines(runnable, source, work, args)
        print(f"running {len(runnable)} mutants, {args.jobs} at a time, in {work}", file=sys.stderr)

        def one(m: Mutation) -> Result:
            timeout = args.timeout or (4 * times[key(m)] + 60 if key(m) in times else 1800)
            result = run_one(m, source, work, args, timeout)
            print(f"  {result.status:10} {result.seconds:6.1f} s  {m.id}", file=sys.stderr)
            return result

        for result in parallel(one, runnable, args.jobs):
            results[result.mutation.id] = result
        ordered = [results[m.id] for m in chosen]
        if args.verbose:
            for r in ordered:
                if r.status in (SURVIVED, ERROR):
                    print(f"\n--- {r.mutation.id}: pytest output ---\n{r.log[-4000:]}")
        return report(ordered)
    except KeyboardInterrupt:
        print("mutate: interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"copies kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
