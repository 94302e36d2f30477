"""The ``complexa`` command: ``derive``, ``measure``, ``audit``, ``latex`` and ``scale`` (docs/cli.md).

Every mistake a user can make ends the same way: one line on stderr naming the bad argument and the rule, and exit
status 2; never a traceback. ``measure`` exits with status 1 when a measured count differs from the derived one. A
reader that goes away (``complexa audit | head``) ends it quietly with status 1, output that cannot be written (a full
disk, a closed stdout) with one line and status 1, and Ctrl-C with status 130, whenever they come: this module
imports nothing heavy, so that the handlers cover the imports of sympy and numpy too.
"""

from __future__ import annotations

import errno
import os
import signal
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing, as mypy reads it

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``complexa`` command with `argv` (default: the process's arguments) and return its exit status.

    **Arguments:**

    - `argv`: the arguments after the program name, such as ``["derive", "784", "h", "h", "10"]``.

    **Returns:** 0 on success; 1 when ``measure`` finds a measured count that differs from the derived one, or when
    the output cannot be written; 2 for a bad argument, after printing one line on stderr that names it; 130 on
    Ctrl-C.

    >>> main(["derive", "2", "3", "1", "--format", "json"]) == 0  # doctest: +ELLIPSIS
    {
      "kind": "derive",
    ...
    True
    >>> main(["derive", "2", "0"])
    2
    """
    interrupted = _Interrupts()
    try:
        with interrupted:
            from complexa._cli import run

            status = run(argv)
        if interrupted.seen:  # swallowed where it struck (a ctypes callback), but Ctrl-C all the same
            raise KeyboardInterrupt
        return status
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as error:
        if interrupted.seen:  # Ctrl-C inside numba's compiler comes out as its own error (a RuntimeError): still Ctrl-C
            return _interrupted()
        if not isinstance(error, OSError) or not _is_output_error(error):
            raise
        # Nothing more can reach stdout: point it at /dev/null so that Python's own flush at exit stays quiet.
        _silence_stdout()
        if error.errno != errno.EPIPE:  # the reader went away: nothing to say
            _say(f"complexa: error: cannot write the output: {error.strerror or error}")
        return 1


def _interrupted() -> int:
    """Say Ctrl-C in one line. A compile it cut short leaves llvmlite's objects half made, and their destructors fail
    as Python collects them, later, at exit: printed as "Exception ignored in ..." (seen once in 4 runs of CI's
    Ctrl-C test). Those are silenced; any other goes to the hook as before."""
    _say("complexa: interrupted")
    previous = sys.unraisablehook

    def quiet(unraisable: Any) -> None:
        owner = getattr(unraisable.object, "__module__", None) or type(unraisable.object).__module__
        if not str(owner).startswith("llvmlite"):
            previous(unraisable)

    sys.unraisablehook = quiet
    return 130


class _Interrupts:
    """While in use, Ctrl-C raises KeyboardInterrupt as Python's own handler does, and is remembered: code that turns
    the KeyboardInterrupt into an error of its own (numba's compiler, LLVM's callbacks) cannot hide it."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: object = None
        self._hook = sys.unraisablehook

    def _handle(self, signum: int, frame: object) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def _unraisable(self, unraisable: Any) -> None:
        # A KeyboardInterrupt raised inside a ctypes callback (LLVM's, while numba compiles) cannot propagate: Python
        # prints it as "Exception ignored" and goes on. It is remembered here; main reports it in one line.
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            self.seen = True
            return
        self._hook(unraisable)

    def __enter__(self) -> _Interrupts:
        try:
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: Python's handler stays
            pass
        self._hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        sys.unraisablehook = self._hook
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]


def _is_output_error(error: OSError) -> bool:
    return isinstance(error, BrokenPipeError) or getattr(error, "complexa_output", False)


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, AttributeError, ValueError):  # stderr closed too
        pass


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
    except OSError:
        pass
