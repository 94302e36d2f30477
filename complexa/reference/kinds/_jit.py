"""What every CPU kernel module shares: the phase and op indices of a counts array, and numba's decorators.

Each counter is incremented inside the loop that performs the operation it counts, never computed from a formula:
that is what makes the counts a check on the derivation rather than a second copy of it. Every kernel module builds
its kernels twice from one source, counting and plain (`count` a closure constant, so numba compiles the plain ones
with every counting branch removed); the benchmark compares the two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit

__all__ = [
    "FORWARD",
    "BACKWARD",
    "UPDATE",
    "MUL",
    "ADD",
    "DIV",
    "SQRT",
    "EXP",
    "CMP",
    "ACT",
    "ACT_GRAD",
    "jit",
    "fast_jit",
    "cached",
]

FORWARD, BACKWARD, UPDATE = 0, 1, 2
"""Rows of a counts array (`complexa.reference.PHASES`)."""
MUL, ADD, DIV, SQRT, EXP, CMP, ACT, ACT_GRAD = range(8)
"""Columns of a counts array (`complexa.nn.OPS`)."""


def jit(function: Callable[..., Any], **options: Any) -> Any:
    """`njit(cache=True)`, or plain `njit` when numba has nowhere writable to cache.

    numba raises at decoration when no cache locator is writable: neither the package's ``__pycache__``, nor the
    user's cache directory, nor ``NUMBA_CACHE_DIR`` (a read-only install with a read-only HOME). Its locator for a
    package inside a zip file does not check, and fails at the first call instead, so the chosen directory is
    checked here too. Importing complexa must not fail for either: the kernels then compile in every process.
    """
    try:
        dispatcher = njit(cache=True, **options)(function)
    except RuntimeError:
        return njit(**options)(function)
    # numba internals, read defensively: should they move, caching stays on, as numba chose.
    locator = getattr(getattr(getattr(dispatcher, "_cache", None), "_impl", None), "locator", None)
    try:
        if locator is not None:
            locator.ensure_cache_path()
    except OSError:
        return njit(**options)(function)
    return dispatcher


def fast_jit(function: Callable[..., Any]) -> Any:
    """`jit` that lets LLVM reorder a dot product's additions (and fuse each product into its addition), so it can
    split the sum across SIMD lanes. Only the rounding changes, as from one BLAS to another; the operations counted
    are the ones the source performs."""
    return jit(function, fastmath={"reassoc", "contract"})


def cached(dispatcher: Any) -> bool:
    """Whether `dispatcher` caches on disk (False after the fallback to plain `njit`)."""
    return type(getattr(dispatcher, "_cache", None)).__name__ not in ("NullCache", "NoneType")
