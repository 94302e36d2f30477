"""complexa: the exact, symbolic cost of a feed-forward network, checked against a network that counts its work."""

from complexa._audit import Audit, audit
from complexa._flops import CONVENTIONS, DTYPES, Memory, flops, flops_table, memory, params
from complexa._parse import parse
from complexa.asymptotics import big_o
from complexa.derivation import MODELS, QUANTITIES, Derivation, Evaluation, Step, derive
from complexa.errors import ComplexaError
from complexa.network import ACTIVATIONS, LOSSES, Network
from complexa.reference import BACKENDS, Measurement, measure
from complexa.scaling import Fit, ScaleResult, scale

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Audit",
    "BACKENDS",
    "CONVENTIONS",
    "DTYPES",
    "LOSSES",
    "MODELS",
    "Measurement",
    "Memory",
    "QUANTITIES",
    "ScaleResult",
    "ComplexaError",
    "Fit",
    "Derivation",
    "Evaluation",
    "Network",
    "Step",
    "__version__",
    "audit",
    "big_o",
    "derive",
    "flops",
    "flops_table",
    "measure",
    "memory",
    "params",
    "parse",
    "scale",
]
