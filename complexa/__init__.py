"""complexa: the exact, symbolic cost of a feed-forward network, checked against a network that counts its work.

The names below are imported when first used, so that ``import complexa`` (and the command's ``--help``, and a
Ctrl-C while it starts) costs almost nothing until a name is needed.
"""

from __future__ import annotations

import importlib

# Not typing's: importing typing alone takes longer than everything else here (mypy reads this name as typing's).
TYPE_CHECKING = False

__version__ = "0.1.0"

_HOMES = {
    "ACTIVATIONS": "complexa._choices",
    "Audit": "complexa._audit",
    "BACKENDS": "complexa._choices",
    "CONVENTIONS": "complexa._choices",
    "ComplexaError": "complexa.errors",
    "DTYPES": "complexa._choices",
    "Derivation": "complexa.derivation",
    "Evaluation": "complexa.derivation",
    "Fit": "complexa.scaling",
    "Inference": "complexa._inference",
    "LOSSES": "complexa._choices",
    "MODELS": "complexa._choices",
    "Measurement": "complexa.reference",
    "Memory": "complexa._flops",
    "Network": "complexa.network",
    "QUANTITIES": "complexa.derivation",
    "ScaleResult": "complexa.scaling",
    "Step": "complexa.derivation",
    "audit": "complexa._audit",
    "big_o": "complexa.asymptotics",
    "derive": "complexa.derivation",
    "flops": "complexa._flops",
    "flops_table": "complexa._flops",
    "from_torch": "complexa._trace",
    "generate": "complexa._inference",
    "measure": "complexa.reference",
    "memory": "complexa._flops",
    "params": "complexa._flops",
    "parse": "complexa._parse",
    "scale": "complexa.scaling",
}

__all__ = [
    "ACTIVATIONS",
    "Audit",
    "BACKENDS",
    "CONVENTIONS",
    "ComplexaError",
    "DTYPES",
    "Derivation",
    "Evaluation",
    "Fit",
    "Inference",
    "LOSSES",
    "MODELS",
    "Measurement",
    "Memory",
    "Network",
    "QUANTITIES",
    "ScaleResult",
    "Step",
    "__version__",
    "audit",
    "big_o",
    "derive",
    "flops",
    "flops_table",
    "from_torch",
    "generate",
    "measure",
    "memory",
    "nn",
    "params",
    "parse",
    "scale",
]


_SUBMODULES = ("nn", "strategies", "testing")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"complexa.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'complexa' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES, *_SUBMODULES})


if TYPE_CHECKING:
    from typing import Any

    from complexa._audit import Audit, audit
    from complexa._choices import ACTIVATIONS, BACKENDS, CONVENTIONS, DTYPES, LOSSES, MODELS
    from complexa._flops import Memory, flops, flops_table, memory, params
    from complexa._inference import Inference, generate
    from complexa._parse import parse
    from complexa._trace import from_torch
    from complexa.asymptotics import big_o
    from complexa.derivation import QUANTITIES, Derivation, Evaluation, Step, derive
    from complexa.errors import ComplexaError
    from complexa.network import Network
    from complexa.reference import Measurement, measure
    from complexa.scaling import Fit, ScaleResult, scale
