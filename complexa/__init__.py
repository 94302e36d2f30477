"""complexa: the exact, symbolic cost of a feed-forward network, checked against a network that counts its work."""

from complexa.asymptotics import big_o
from complexa.derivation import MODELS, QUANTITIES, Derivation, Evaluation, Step, derive
from complexa.errors import ComplexaError
from complexa.network import ACTIVATIONS, LOSSES, Network

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "MODELS",
    "QUANTITIES",
    "ComplexaError",
    "Derivation",
    "Evaluation",
    "Network",
    "Step",
    "__version__",
    "big_o",
    "derive",
]
