"""The losses, summed over the batch, and the gradient each hands to the last layer.

The loss value is computed for reporting only and is not counted; what is counted is the gradient of the loss with
respect to the last layer's output, per sample of n outputs:

- ``mse``, 1/2 sum (y_hat - y)^2: y_hat - y (n add);
- ``bce``, binary cross-entropy on the outputs of a final Sigmoid: with the sigmoid, the gradient with respect to its
  input is y_hat - y (n add), so that Sigmoid's own backward is not performed;
- ``cross_entropy``, softmax over the last dimension and the negative log-likelihood of an integer class, as
  ``torch.nn.CrossEntropyLoss(reduction="sum")`` on the logits: the softmax p = exp(z - max z) / sum exp(z - max z)
  (n - 1 cmp, n add, n exp, n - 1 add, n div) and p - onehot(y), which subtracts 1 at the target only (1 add).
"""

from __future__ import annotations

from complexa.models._layers import Value

__all__ = ["error", "USES", "FUSES"]

USES = {"mse": (), "bce": (), "cross_entropy": ("div", "exp", "cmp")}
"""The ops beyond `complexa.nn._base.BASE_OPS` each loss counts."""
FUSES = {"mse": False, "bce": True, "cross_entropy": False}
"""Whether the loss takes in the final Sigmoid's backward (its gradient is with respect to the sigmoid's input)."""


def error(loss: str, n: Value, batch: Value) -> dict[str, Value]:
    """The loss's gradient for `batch` samples of `n` outputs."""
    if loss == "cross_entropy":
        return {"add": batch * 2 * n, "div": batch * n, "exp": batch * n, "cmp": batch * (n - 1)}
    return {"add": batch * n}
