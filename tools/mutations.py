"""The mutations `tools/mutate.py` applies, one at a time, each to a fresh copy of the repository.

A mutation replaces one exact snippet, `old`, which must occur exactly once in its file (else the runner reports it
STALE, an error: the list must move with the code), by `new`. Each is a plausible mistake in the code that decides
what complexa claims: the counting rules (each kind's in `complexa.nn` and their composition), the kernels that check
them and the runtime that drives those, the strategy the layer tests draw stacks from, the grammar that reads sizes,
big-O and the command's exit statuses. `tests` are the pytest arguments that should catch it (paths, node ids or
options, in the order to try them; ``()`` is the whole suite) and `env` what those tests need in their environment.

`equivalent` marks a mutant that survives because it changes nothing observable, with the reason; it is counted apart
from the score. `gpu` marks a mutant only a real CUDA device can catch (a race the simulator, which runs one thread at
a time, cannot show); without one it is skipped.

Snippets that span lines give their indentation exactly: ``"\\n" + 24 * " "`` is the usual way to write it below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AREAS", "STRICT_AREAS", "Mutation", "MUTATIONS"]

AREAS = (
    "counting rule",
    "cpu kernel",
    "cuda kernel",
    "runtime",
    "strategies",
    "grammar",
    "big-O",
    "cli",
    "flops",
    "polynomials",
    "validation",
)
"""Every area a mutation may name."""
STRICT_AREAS = ("counting rule", "cpu kernel", "cuda kernel", "runtime", "grammar")
"""Areas where a surviving mutant (not marked equivalent) makes `tools/mutate.py` exit with status 1."""


@dataclass(frozen=True)
class Mutation:
    id: str
    area: str
    file: str
    old: str
    new: str
    why: str
    tests: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    equivalent: str | None = None
    gpu: bool = False


def _nl(indent: int) -> str:
    """A newline and `indent` spaces, for snippets that span lines."""
    return "\n" + indent * " "


# --- test sets -----------------------------------------------------------------------------------------------------
# The narrowed sets, most direct first (pytest stops at the first failure). ``complexa`` collects every doctest. Node
# ids keep the order given; naming a whole file after one of its node ids would pull that test back to the file's
# order, so the layer sets below name every test they want, fastest first: derive-only tests (no numba compile), then
# the kernels' fixed kernel-path networks (one compile, then milliseconds), then the hypothesis tests.

COUNTING_TESTS = (
    "tests/test_exact.py",
    "tests/test_derive.py",
    "tests/test_reference.py",
    "tests/test_flops.py",
    "tests/test_essay.py",
    "tests/test_audit.py",
    "tests/test_printing.py",
    "tests/test_docs.py",
    "complexa",
)
# The kinds' cost rules (complexa/nn), their composition into the dense network and stacks (complexa/models/exact.py,
# complexa/nn/_stack.py): hand counts first, then derive against measure.
RULE_TESTS = (
    "tests/test_layers.py::test_by_layer_of_a_symbolic_stack_by_hand",
    "tests/test_layers.py::test_residuals_before_the_first_parameters_by_hand",
    "tests/test_exact.py",
    "tests/test_layers.py::test_optimizers_by_hand",
    "tests/test_layers.py::test_every_kernel_path_of_every_kind",
    "tests/test_layers.py::test_derive_equals_measure_and_the_numerics_are_the_textbook_steps",
    "tests/test_layers.py::test_the_dense_network_is_its_layers",
    "tests/test_layers.py::test_a_symbolic_dense_network_is_its_layers",
    "tests/test_layers.py::test_counts_by_layer_add_up_to_the_counts",
    "tests/test_derive.py",
    "tests/test_reference.py::test_counts_by_hand",
    "tests/test_reference.py::test_every_count_matches_derivation",
    "complexa/nn",
)
ESSAY_TESTS = (
    "tests/test_essay.py",
    "tests/test_audit.py",
    "tests/test_printing.py",
    "tests/test_cli.py",
    "tests/test_docs.py",
    "complexa",
)
# The CPU kernels (complexa/reference/kinds) and the runtime that drives them (complexa/reference/_runtime.py): every
# kind's counts and numerics at every remainder of the four-sample loops first, then the dense hand counts and the
# hypothesis tests. Not the two tests of numba's cache fallback: they compile the kernels in fresh processes (30 s)
# and check only the [2, 3, 1] network's forward mul, which the hand-counted tests check first.
KERNEL_TESTS = (
    "tests/test_layers.py::test_every_kernel_path_of_every_kind",
    "tests/test_layers.py::test_residuals_before_the_first_parameters_by_hand",
    "tests/test_layers.py::test_a_nested_residual_with_nothing_to_train_before_it",
    "tests/test_layers.py::test_plain_sgd_with_its_own_rate",
    "tests/test_reference.py::test_counts_by_hand",
    "tests/test_reference.py::test_every_kernel_path_counts_what_it_does",
    "tests/test_reference.py::test_every_kernel_path_computes_the_naive_step",
    "tests/test_layers.py::test_optimizers_by_hand",
    "tests/test_layers.py::test_derive_equals_measure_and_the_numerics_are_the_textbook_steps",
    "tests/test_layers.py::test_the_dense_network_is_its_layers",
    "tests/test_reference.py::test_every_count_matches_derivation",
    "tests/test_reference.py::test_numerics_match_naive",
    "tests/test_reference.py::test_options_match_naive",
    "tests/test_reference.py::test_one_weight_by_hand",
    "tests/test_reference.py::test_measurement_contents",
    "complexa/reference/__init__.py",
)
STRATEGY_TESTS = (
    "tests/test_layers.py::test_layer_stacks_draws_every_kind_and_option",
    "complexa/strategies.py",
    "tests/test_layers.py",
)
CUDA_TESTS = ("tests/test_cuda.py",)
CUDASIM = {"NUMBA_ENABLE_CUDASIM": "1"}
GRAMMAR_TESTS = (
    "tests/test_parse.py",
    "tests/test_errors.py",
    "complexa/_parse.py",
    "tests/test_big_o.py",
    "tests/test_hostile.py",
)
BIG_O_TESTS = (
    "tests/test_big_o.py",
    "complexa/asymptotics.py",
    "tests/test_errors.py",
    "tests/test_essay.py",
    "tests/test_flops.py",
)
CLI_TESTS = ("tests/test_cli.py", "complexa/cli.py", "tests/test_hostile.py")
FLOPS_TESTS = ("tests/test_flops.py", "complexa/_flops.py", "tests/test_torch_crosscheck.py", "tests/test_cli.py")
POLY_TESTS = (
    "tests/test_poly.py",
    "tests/test_big_o.py",
    "tests/test_exact.py",
    "tests/test_flops.py",
    "tests/test_essay.py",
)
VALIDATION_TESTS = ("tests/test_errors.py", "tests/test_parse.py", "tests/test_exact.py", "complexa")


EXACT = "complexa/models/exact.py"
ESSAY = "complexa/models/essay.py"
LAYERS = "complexa/models/_layers.py"
STACK = "complexa/nn/_stack.py"
NN = "complexa/nn/"
KINDS = "complexa/reference/kinds/"
RUNTIME = "complexa/reference/_runtime.py"
STRATEGIES = "complexa/strategies.py"
CUDA = "complexa/reference/_cuda.py"
FLOPS = "complexa/_flops.py"


def _exact(id: str, old: str, new: str, why: str) -> Mutation:
    return Mutation(id, "counting rule", EXACT, old, new, why, tests=RULE_TESTS)


def _rule(id: str, module: str, old: str, new: str, why: str) -> Mutation:
    """A kind's cost rule in complexa/nn/`module`.py."""
    return Mutation(id, "counting rule", f"{NN}{module}.py", old, new, why, tests=RULE_TESTS)


def _cpu(id: str, kind: str, old: str, new: str, why: str, equivalent: str | None = None) -> Mutation:
    """A CPU kernel in complexa/reference/kinds/`kind`.py."""
    return Mutation(id, "cpu kernel", f"{KINDS}{kind}.py", old, new, why, tests=KERNEL_TESTS, equivalent=equivalent)


def _runtime(id: str, old: str, new: str, why: str, equivalent: str | None = None) -> Mutation:
    return Mutation(id, "runtime", RUNTIME, old, new, why, tests=KERNEL_TESTS, equivalent=equivalent)


def _node(id: str, kind: str | None, old: str, new: str, why: str) -> Mutation:
    """The runtime's side of a kind: its node, in complexa/reference/kinds/`kind`.py (`kind` None: the shared
    complexa/reference/_node.py)."""
    file = f"{KINDS}{kind}.py" if kind else "complexa/reference/_node.py"
    return Mutation(id, "runtime", file, old, new, why, tests=KERNEL_TESTS)


def _strategy(id: str, old: str, new: str, why: str) -> Mutation:
    return Mutation(id, "strategies", STRATEGIES, old, new, why, tests=STRATEGY_TESTS)


def _cuda(
    id: str, kind: str | None, old: str, new: str, why: str, equivalent: str | None = None, gpu: bool = False
) -> Mutation:
    """A CUDA kernel in complexa/reference/kinds/`kind`_cuda.py, or (`kind` None) the launch in `CUDA`; run under the
    simulator, except for a race, which only a device shows."""
    file = CUDA if kind is None else f"{KINDS}{kind}_cuda.py"
    env = {} if gpu else CUDASIM
    return Mutation(id, "cuda kernel", file, old, new, why, tests=CUDA_TESTS, env=env, equivalent=equivalent, gpu=gpu)


MUTATIONS: list[Mutation] = [
    # --- counting rules: the kinds' cost rules (complexa/nn) ------------------------------------------------------
    _rule(
        "rule-linear-forward-dot-adds",
        "linear",
        '"add": batch * (nm if bias else nm - n)}',
        '"add": batch * (nm + n if bias else nm)}',
        "Linear forward: a dot product of length m counted as m additions, not m - 1",
    ),
    _rule(
        "rule-linear-forward-bias",
        "linear",
        '"add": batch * (nm if bias else nm - n)}',
        '"add": batch * (nm - n)}',
        "Linear forward: the bias addition dropped",
    ),
    _rule(
        "rule-linear-error-dot-adds",
        "linear",
        '"add": batch * (m * (n - 1))}',
        '"add": batch * (m * n)}',
        "Linear error: dx's dot products of length n counted with n additions",
    ),
    _rule(
        "rule-linear-error-square",
        "linear",
        '{"mul": batch * (n * m), "add": batch * (m * (n - 1))}',
        '{"mul": batch * (m * m), "add": batch * (m * (n - 1))}',
        "Linear error: dx's products counted m m, not m n (right for square layers only)",
    ),
    _rule(
        "rule-linear-gradients-mul",
        "linear",
        '{"mul": batch * nm, "add": (batch - 1)',
        '{"mul": (batch - 1) * nm, "add": (batch - 1)',
        "Linear gradients: dW counted with B - 1 products per weight",
    ),
    _rule(
        "rule-linear-gradients-bias",
        "linear",
        "(batch - 1) * (nm + n if bias else nm)",
        "(batch - 1) * nm",
        "Linear gradients: db's batch sums not counted",
    ),
    _rule(
        "rule-linear-input-grad",
        "linear",
        "error(m, n, batch) if input_grad else None",
        "error(m, n, batch)",
        "Linear: dx counted even where nothing before the layer has parameters (the first Linear)",
    ),
    _rule(
        "rule-activation-forward-batch",
        "activations",
        'return {"act": batch * n}',
        'return {"act": n}',
        "activation forward: one sample's acts, not the batch's",
    ),
    _rule(
        "rule-activation-error-mul",
        "activations",
        'return {"mul": batch * n, "act_grad": batch * n}',
        'return {"act_grad": batch * n}',
        "activation error: the product dy * g' not counted",
    ),
    _rule(
        "rule-activation-input-grad",
        "activations",
        "error(width, batch) if input_grad else None",
        "error(width, batch)",
        "activation: its backward counted where nothing before it has parameters",
    ),
    _rule(
        "rule-identity-counted",
        "activations",
        "return cost()",
        "return super().cost(width, batch, input_grad, convert)",
        "Identity counted as an activation: an act forward, an act_grad and a mul backward",
    ),
    _rule(
        "rule-layernorm-forward-mul",
        "norm",
        "batch * (2 + a) * n",
        "batch * (1 + a) * n",
        "LayerNorm forward: the squares of var, or xc * rstd, not counted",
    ),
    _rule(
        "rule-layernorm-forward-affine-add",
        "norm",
        "batch * ((3 + a) * n - 1)",
        "batch * (3 * n - 1)",
        "LayerNorm forward: the affine bias addition not counted",
    ),
    _rule(
        "rule-layernorm-forward-eps",
        "norm",
        "batch * ((3 + a) * n - 1)",
        "batch * ((3 + a) * n - 2)",
        "LayerNorm forward: var + eps not counted",
    ),
    _rule(
        "rule-layernorm-forward-div",
        "norm",
        '"div": 3 * batch, "sqrt"',
        '"div": 2 * batch, "sqrt"',
        "LayerNorm forward: 1 / sqrt(...) not counted as a division",
    ),
    _rule(
        "rule-layernorm-forward-sqrt",
        "norm",
        '"sqrt": batch}',
        '"sqrt": batch * n}',
        "LayerNorm forward: a square root per feature, not per sample",
    ),
    _rule(
        "rule-layernorm-error-mul",
        "norm",
        "batch * (3 + int(affine)) * n",
        "batch * (2 + int(affine)) * n",
        "LayerNorm error: s2's products g xhat not counted",
    ),
    _rule(
        "rule-layernorm-error-add",
        "norm",
        "batch * (4 * n - 2)",
        "batch * (4 * n - 1)",
        "LayerNorm error: a sum of n terms counted with n additions",
    ),
    _rule(
        "rule-layernorm-error-div",
        "norm",
        '"div": 2 * batch}',
        '"div": batch}',
        "LayerNorm error: only one of the means s1 / n, s2 / n counted",
    ),
    _rule(
        "rule-layernorm-gradients-bias",
        "norm",
        "2 * (batch - 1) * n",
        "(batch - 1) * n",
        "LayerNorm gradients: db's batch sums not counted",
    ),
    _rule(
        "rule-layernorm-gradients-no-affine",
        "norm",
        "if not affine:\n        return {}",
        "if False:\n        return {}",
        "LayerNorm gradients counted without affine parameters",
    ),
    _rule(
        "rule-layernorm-input-grad",
        "norm",
        "error(n, batch, a) if input_grad else None",
        "error(n, batch, a)",
        "LayerNorm: dx counted where nothing before it has parameters",
    ),
    _rule(
        "rule-residual-forward",
        "residual",
        'def forward(n: Value, batch: Value) -> dict[str, Value]:\n    return {"add": batch * n}',
        "def forward(n: Value, batch: Value) -> dict[str, Value]:\n    return {}",
        "Residual forward: x + body(x) not counted",
    ),
    _rule(
        "rule-residual-error",
        "residual",
        'def error(n: Value, batch: Value) -> dict[str, Value]:\n    return {"add": batch * n}',
        "def error(n: Value, batch: Value) -> dict[str, Value]:\n    return {}",
        "Residual error: dy + the body's dx not counted",
    ),
    _rule(
        "rule-residual-has-parameters",
        "residual",
        "return any(layer.has_parameters for layer in self.layers)",
        "return False",
        "a Residual's body's parameters forgotten: the layers after it compute no input gradient",
    ),
    _rule(
        "rule-loss-cross-entropy-add",
        "losses",
        '"add": batch * 2 * n',
        '"add": batch * (2 * n - 1)',
        "cross-entropy: p - onehot's subtraction not counted",
    ),
    _rule(
        "rule-loss-cross-entropy-cmp",
        "losses",
        '"cmp": batch * (n - 1)',
        '"cmp": batch * n',
        "cross-entropy: the max of n logits counted with n comparisons",
    ),
    _rule(
        "rule-loss-cross-entropy-div",
        "losses",
        '"div": batch * n,',
        '"div": batch,',
        "cross-entropy: one division per sample (a reciprocal), not one per class",
    ),
    _rule(
        "rule-loss-difference",
        "losses",
        '    return {"add": batch * n}',
        '    return {"add": batch * n, "mul": batch * n}',
        "mse and bce: the gradient counted with a product by 2 * 1/2",
    ),
    _rule(
        "rule-loss-bce-fuses",
        "losses",
        '"bce": True, "cross_entropy": False}',
        '"bce": False, "cross_entropy": False}',
        "bce does not take in the final sigmoid's backward (derive and measure both)",
    ),
    _rule(
        "rule-sgd-per-tensor",
        "optim",
        '{"mul": steps * elements, "add": steps * elements}',
        '{"mul": steps * tensors, "add": steps * elements}',
        "SGD: lr * g counted once per tensor",
    ),
    _rule(
        "rule-momentum-first-step-mul",
        "optim",
        '"mul": (2 * steps - 1) * elements',
        '"mul": 2 * steps * elements',
        "momentum: the first step's buffer counted as mu buf + g (mul)",
    ),
    _rule(
        "rule-momentum-first-step-add",
        "optim",
        '"add": (2 * steps - 1) * elements',
        '"add": 2 * steps * elements',
        "momentum: the first step's buffer counted as mu buf + g (add)",
    ),
    _rule(
        "rule-adam-mul-element",
        "optim",
        '"mul": steps * (5 * elements + 2 * tensors)',
        '"mul": steps * (4 * elements + 2 * tensors)',
        "Adam: four products per element, not five",
    ),
    _rule(
        "rule-adam-mul-tensor",
        "optim",
        '"mul": steps * (5 * elements + 2 * tensors)',
        '"mul": steps * 5 * elements',
        "Adam: the running products beta^t per tensor not counted",
    ),
    _rule(
        "rule-adam-div-element",
        "optim",
        '"div": steps * (2 * elements + tensors)',
        '"div": steps * (elements + tensors)',
        "Adam: one division per element, not two",
    ),
    _rule(
        "rule-adam-div-tensor",
        "optim",
        '"div": steps * (2 * elements + tensors)',
        '"div": steps * 2 * elements',
        "Adam: step_size = lr / bc1 per tensor not counted",
    ),
    _rule(
        "rule-adam-sqrt-tensor",
        "optim",
        '"sqrt": steps * (elements + tensors)',
        '"sqrt": steps * elements',
        "Adam: sqrt(bc2) per tensor not counted",
    ),
    # --- counting rules: which layers compute their input's gradient (complexa/nn/_stack.py) --------------------------
    Mutation(
        "stack-input-grad-only-after-parameters",
        "counting rule",
        STACK,
        "needs = needs or layer.has_parameters",
        "needs = layer.has_parameters",
        "a layer computes its input's gradient only right after a layer with parameters, not after any",
        tests=RULE_TESTS,
    ),
    Mutation(
        "stack-residual-body-input-grad",
        "counting rule",
        STACK,
        'f"{prefix}{k}.", width, needs, rows)',
        'f"{prefix}{k}.", width, True, rows)',
        "a Residual's body always computes its input's gradient, even with no parameters before the Residual",
        tests=RULE_TESTS,
    ),
    # --- counting rules: the dense network and stacks composed from the kinds (complexa/models/exact.py) -------------
    _exact(
        "exact-params-no-bias",
        "lambda k: n(k) * (n(k - 1) + b))",
        "lambda k: n(k) * (n(k - 1) + 1))",
        "parameters count a bias per unit even without biases",
    ),
    _exact(
        "exact-first-linear-input-grad",
        "layers.totals(2, 0, lambda k: linear.error(",
        "layers.totals(1, 0, lambda k: linear.error(",
        "the dense network's first Linear computes the gradient for the network's input",
    ),
    _exact(
        "exact-last-linear-input-grad",
        "layers.totals(2, 0, lambda k: linear.error(",
        "layers.totals(2, -1, lambda k: linear.error(",
        "the output layer's W^T delta not counted",
    ),
    _exact(
        "exact-linear-forward-sizes",
        "linear.forward(n(k - 1), n(k), B, bias)",
        "linear.forward(n(k), n(k - 1), B, bias)",
        "a Linear's in and out features swapped in the forward rule (right for square layers only)",
    ),
    _exact(
        "exact-identity-activation",
        "if activations.BY_NAME[activation] is not activations.Identity:",
        "if True:",
        "identity counted as an activation with a derivative to multiply by",
    ),
    _exact(
        "exact-activation-error-range",
        "layers.totals(1, -1, lambda k: activations.error(n(k), B))",
        "layers.totals(2, -1, lambda k: activations.error(n(k), B))",
        "the first hidden layer's activation backward not counted",
    ),
    _exact(
        "exact-output-activation-bce",
        "if not _losses.FUSES[loss]:",
        "if True:",
        "bce's output delta counted with the final sigmoid's backward",
    ),
    _exact(
        "exact-output-activation-mse",
        "if not _losses.FUSES[loss]:",
        "if False:",
        "mse's (and cross-entropy's) output activation backward not counted",
    ),
    _exact(
        "exact-stack-fused-last",
        "last = str(len(layers) - 1)",
        "last = str(len(layers))",
        "a stack ending in bce's sigmoid: that sigmoid's backward counted",
    ),
    _exact(
        "exact-stack-tensors",
        "return elements, len(shapes)",
        "return elements, 1",
        "every layer of a stack counted as one parameter tensor (Adam's per-tensor terms)",
    ),
    _exact(
        "exact-ops-of-kinds",
        "used |= set(row.layer.uses)",
        "pass",
        "a stack's counts do not list the ops its kinds use beyond the base ones (LayerNorm's div and sqrt)",
    ),
    # --- counting rules: sums over layers (complexa/models/_layers.py) --------------------------------------------
    Mutation(
        "layers-uniform-terms",
        "counting rule",
        LAYERS,
        "(self.depth + (hi - lo + 1)) * term(K)",
        "(self.depth + (hi - lo)) * term(K)",
        "a uniform sum over layers one term short",
        tests=COUNTING_TESTS,
    ),
    Mutation(
        "layers-uniform-totals",
        "counting rule",
        LAYERS,
        "count = self.depth + (hi - lo + 1)",
        "count = self.depth + (hi - lo)",
        "a uniform network's kind rules summed over one layer too few",
        tests=COUNTING_TESTS,
    ),
    Mutation(
        "layers-concrete-range",
        "counting rule",
        LAYERS,
        "add([term(k) for k in range(lo, int(self.depth) + hi + 1)])",
        "add([term(k) for k in range(lo, int(self.depth) + hi)])",
        "a concrete sum over layers misses its last layer",
        tests=COUNTING_TESTS,
    ),
    Mutation(
        "layers-concrete-totals",
        "counting rule",
        LAYERS,
        "for k in range(lo, int(self.depth) + hi + 1):",
        "for k in range(lo, int(self.depth) + hi):",
        "a concrete network's kind rules summed without the last layer",
        tests=COUNTING_TESTS,
    ),
    Mutation(
        "layers-general-bound",
        "counting rule",
        LAYERS,
        "(K, lo, self.depth + hi))",
        "(K, lo, self.depth + hi - 1))",
        "the general Sum's upper bound off by one",
        tests=COUNTING_TESTS,
    ),
    Mutation(
        "layers-general-totals",
        "counting rule",
        LAYERS,
        "self.total(lo, hi, _constant(value))",
        "self.total(lo + 1, hi, _constant(value))",
        "the general form's kind rules summed from one layer too late",
        tests=COUNTING_TESTS,
    ),
    # --- counting rules: the essay model (complexa/models/essay.py) -----------------------------------------------
    Mutation(
        "essay-n-mul-first-layer",
        "counting rule",
        ESSAY,
        "n(k) * n(k - 1) * n(k - 2)) + n(1) * n(0)",
        "n(k) * n(k - 1) * n(k - 2))",
        "the essay's n^(1) n^(0) term dropped from n_mul",
        tests=ESSAY_TESTS,
    ),
    Mutation(
        "essay-n-mul-range",
        "counting rule",
        ESSAY,
        "layers.total(2, 0, lambda k: n(k) * n(k - 1) * n(k - 2))",
        "layers.total(3, 0, lambda k: n(k) * n(k - 1) * n(k - 2))",
        "the essay's sum for n_mul starts a layer late",
        tests=ESSAY_TESTS,
    ),
    Mutation(
        "essay-n-g-range",
        "counting rule",
        ESSAY,
        "n_g = layers.total(1, 0, lambda k: n(k))",
        "n_g = layers.total(0, 0, lambda k: n(k))",
        "n_g counts the input layer",
        tests=ESSAY_TESTS,
    ),
    Mutation(
        "essay-time-error",
        "counting rule",
        ESSAY,
        "width**4 * (depth - 1)",
        "width**4 * depth",
        "time_error with L layers of n^4 instead of L - 1",
        tests=ESSAY_TESTS,
    ),
    Mutation(
        "essay-time-weights",
        "counting rule",
        ESSAY,
        "time_weights = time_error + width**3",
        "time_weights = time_error + width**2",
        "time_weights adds n^2, not n^3",
        tests=ESSAY_TESTS,
    ),
    Mutation(
        "essay-claimed-order",
        "counting rule",
        ESSAY,
        '"time_error": N**5,',
        '"time_error": N**4,',
        "the essay's claimed order for time_error misquoted",
        tests=ESSAY_TESTS,
    ),
    # --- CPU kernels: Linear (complexa/reference/kinds/linear.py), forward four samples at a time, then the rest -----
    _cpu(
        "cpu-linear-fwd-quad-sample-index",
        "linear",
        "x1 = a[s + 1]",
        "x1 = a[s]",
        "dot products: the second sample of a group of four reads the first sample's row",
    ),
    _cpu(
        "cpu-linear-fwd-quad-drop-term",
        "linear",
        "z3 += w[j] * x3[j]",
        "pass",
        "dot products (forward and dx): the fourth sample of a group loses every product after the first",
    ),
    _cpu(
        "cpu-linear-fwd-quad-inner-add",
        "linear",
        "z3 += w[j] * x3[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 4" + _nl(24) + "n_add += 4",
        "z3 += w[j] * x3[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 4" + _nl(24) + "n_add += 3",
        "dot products: a group's inner additions counted three, not four",
    ),
    _cpu(
        "cpu-linear-fwd-quads-bound",
        "linear",
        "quads = batch - batch % 4",
        "quads = batch // 4",
        "dot products: the number of groups used as the first left-over sample",
    ),
    _cpu(
        "cpu-linear-fwd-rest-start",
        "linear",
        "for s in range(quads, batch):",
        "for s in range(quads + 1, batch):",
        "dot products: the first left-over sample skipped",
    ),
    _cpu(
        "cpu-linear-fwd-rest-inner-add",
        "linear",
        "z0 += w[j] * x0[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 1" + _nl(24) + "n_add += 1",
        "z0 += w[j] * x0[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 1" + _nl(24) + "n_add += 0",
        "dot products: a left-over sample's additions not counted",
    ),
    _cpu(
        "cpu-linear-fwd-total-assign",
        "linear",
        "counts[FORWARD, ADD] += n_add",
        "counts[FORWARD, ADD] = n_add",
        "forward: the bias's add total overwrites the dot products' (and earlier layers' and steps')",
    ),
    _cpu(
        "cpu-linear-fwd-bias-drop",
        "linear",
        "z[s, i] += biases[i]",
        "z[s, i] += 0.0",
        "forward: the bias not added (still counted)",
    ),
    _cpu(
        "cpu-linear-fwd-bias-first-sample",
        "linear",
        "for s in range(z.shape[0]):",
        "for s in range(1, z.shape[0]):",
        "forward: sample 0 gets no bias",
    ),
    _cpu(
        "cpu-linear-fwd-bias-count",
        "linear",
        "z[s, i] += biases[i]" + _nl(20) + "if counting:" + _nl(24) + "n_add += 1",
        "z[s, i] += biases[i]" + _nl(20) + "if counting:" + _nl(24) + "n_add += 0",
        "forward: the bias additions not counted",
    ),
    # --- CPU kernels: Linear's input gradient and weight gradients ---------------------------------------------------
    _cpu(
        "cpu-linear-dw-rest-bound",
        "linear",
        "rest = 1 + (batch - 1) // 4 * 4",
        "rest = (batch - 1) // 4 * 4",
        "dW: the left-over loop starts inside the last group of four",
    ),
    _cpu(
        "cpu-linear-dx-phase",
        "linear",
        "dots(dz, transposed, dx, counts, BACKWARD)",
        "dots(dz, transposed, dx, counts, FORWARD)",
        "dx: its products and additions counted as forward work",
    ),
    _cpu(
        "cpu-linear-dx-transpose-tile",
        "linear",
        "for j in range(j0, min(j0 + 32, m)):",
        "for j in range(j0, min(j0 + 31, m)):",
        "dx: W^T's copy skips the last column of every 32-wide tile (in_features > 31 only)",
    ),
    _cpu(
        "cpu-linear-dw-pairs-bound",
        "linear",
        "pairs = n - n % 2",
        "pairs = n // 2",
        "dW: the number of row pairs used as the first row left over",
    ),
    _cpu(
        "cpu-linear-dw-pair-delta-index",
        "linear",
        "e3 = dz[s + 3, i + 1]",
        "e3 = dz[s + 2, i + 1]",
        "dW: a pair's second row takes the third sample's delta for the fourth of a group",
    ),
    _cpu(
        "cpu-linear-dw-pair-quad-add",
        "linear",
        "n_mul += 8" + _nl(24) + "n_add += 8",
        "n_mul += 8" + _nl(24) + "n_add += 7",
        "dW: a pair's group of four counted with seven additions, not eight",
    ),
    _cpu(
        "cpu-linear-dw-pair-rest-add",
        "linear",
        "h[j] += e0 * x0[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 2" + _nl(24) + "n_add += 2",
        "h[j] += e0 * x0[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 2" + _nl(24) + "n_add += 1",
        "dW: a pair's left-over samples counted with one addition, not two",
    ),
    _cpu(
        "cpu-linear-dw-odd-row-delta-index",
        "linear",
        "d3 = dz[s + 3, i]" + _nl(16) + "x0 = x[s]",
        "d3 = dz[s + 2, i]" + _nl(16) + "x0 = x[s]",
        "dW: the row left over after the pairs takes the third sample's delta for the fourth of a group",
    ),
    _cpu(
        "cpu-linear-dw-rest-add",
        "linear",
        "g[j] += d0 * x0[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 1" + _nl(24) + "n_add += 1",
        "g[j] += d0 * x0[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 1" + _nl(24) + "n_add += 0",
        "dW: the row left over after the pairs: its left-over samples' additions not counted",
    ),
    _cpu(
        "cpu-linear-db-range",
        "linear",
        "for s in range(1, batch):",
        "for s in range(0, batch):",
        "db: sample 0 added twice",
    ),
    _cpu(
        "cpu-linear-db-start",
        "linear",
        "g_biases[i] = dz[0, i]",
        "g_biases[i] = 0.0",
        "db: sample 0 left out of the sum",
    ),
    # --- CPU kernels: activations (complexa/reference/kinds/activation.py) --------------------------------------------
    _cpu(
        "cpu-activation-fwd-identity",
        "activation",
        "if code == IDENTITY:" + _nl(20) + "a[s, i] = z[s, i]",
        "if False:" + _nl(20) + "a[s, i] = z[s, i]",
        "forward: identity goes through g, and is counted as an act",
    ),
    _cpu(
        "cpu-activation-bwd-identity",
        "activation",
        "if code != IDENTITY:",
        "if True:",
        "backward: identity multiplied by its derivative 1, counted",
    ),
    _cpu(
        "cpu-activation-bwd-act-grad",
        "activation",
        "n_mul += 1" + _nl(24) + "n_grad += 1",
        "n_mul += 1" + _nl(24) + "n_grad += 0",
        "backward: the act_grad not counted",
    ),
    _cpu(
        "cpu-activation-bwd-arguments",
        "activation",
        "_derivative(z[s, i], a[s, i], code)",
        "_derivative(a[s, i], z[s, i], code)",
        "backward: g' given a and z swapped",
    ),
    _cpu(
        "cpu-activation-sigmoid",
        "activation",
        "return 1.0 / (1.0 + math.exp(-z))",
        "return 1.0 / (1.0 + math.exp(z))",
        "sigmoid of -z",
    ),
    _cpu(
        "cpu-activation-tanh-derivative",
        "activation",
        "return 1.0 - a * a",
        "return 1.0 - a",
        "tanh's derivative 1 - a",
    ),
    _cpu(
        "cpu-activation-gelu-derivative",
        "activation",
        "z * _INV_SQRT_2PI * math.exp(-0.5 * z * z)",
        "z * _INV_SQRT_2PI * math.exp(-z * z)",
        "GELU's derivative: the normal density's exponent doubled",
    ),
    _cpu(
        "cpu-activation-relu-derivative-at-zero",
        "activation",
        "return 1.0 if z > 0.0 else 0.0",
        "return 1.0 if z >= 0.0 else 0.0",
        "relu's derivative 1 at z = 0",
        equivalent="random data make z exactly 0 only where every input of the unit is exactly 0: a bias-free Linear "
        "over dead relus (or over zeros passed on by them), or a LayerNorm over one feature without its affine "
        "parameters (xhat = 0); the delta that changes then multiplies only those zero inputs (no weight gradient "
        "changes), and what flows further back is zeroed by the dead relus' derivative or by LayerNorm(1)'s input "
        "gradient, g - mean(g) = 0; so no gradient, parameter, output or count changes (measure exposes no delta)",
    ),
    # --- CPU kernels: LayerNorm (complexa/reference/kinds/layernorm.py) -----------------------------------------------
    _cpu(
        "cpu-layernorm-fwd-sum-start",
        "layernorm",
        "total = row[0]" + _nl(12) + "for j in range(1, n):",
        "total = row[0]" + _nl(12) + "for j in range(0, n):",
        "forward: the mean's sum adds x_0 twice",
    ),
    _cpu(
        "cpu-layernorm-fwd-center-sign",
        "layernorm",
        "h[j] = row[j] - mean",
        "h[j] = row[j] + mean",
        "forward: x + mean, not x - mean",
    ),
    _cpu(
        "cpu-layernorm-fwd-eps-count",
        "layernorm",
        "n_add += 1" + _nl(16) + "n_sqrt += 1",
        "n_add += 0" + _nl(16) + "n_sqrt += 1",
        "forward: var + eps not counted",
    ),
    _cpu(
        "cpu-layernorm-fwd-affine-bias",
        "layernorm",
        "out[j] = h[j] * weight[j] + bias[j]",
        "out[j] = h[j] * weight[j]",
        "forward: the affine bias skipped (still counted)",
    ),
    _cpu(
        "cpu-layernorm-dx-affine-skip",
        "layernorm",
        "g[j] = dy[s, j] * weight[j]",
        "g[j] = dy[s, j]",
        "dx: dy not multiplied by the affine weight",
    ),
    _cpu(
        "cpu-layernorm-dx-sums-add",
        "layernorm",
        "n_add += 2" + _nl(20) + "n_mul += 1",
        "n_add += 1" + _nl(20) + "n_mul += 1",
        "dx: only one of the sums s1, s2 counted",
    ),
    _cpu(
        "cpu-layernorm-dx-div",
        "layernorm",
        "n_div += 2",
        "n_div += 1",
        "dx: only one of the means s1 / n, s2 / n counted",
    ),
    _cpu(
        "cpu-layernorm-dx-sign",
        "layernorm",
        "(g[j] - m1 - h[j] * m2) * r",
        "(g[j] - m1 + h[j] * m2) * r",
        "dx: xhat m2 added, not subtracted",
    ),
    _cpu(
        "cpu-layernorm-dw-range",
        "layernorm",
        "for s in range(1, dy.shape[0]):",
        "for s in range(0, dy.shape[0]):",
        "dw, db: sample 0 added twice",
    ),
    _cpu(
        "cpu-layernorm-dw-add",
        "layernorm",
        "g_bias[j] += dy[s, j]" + _nl(16) + "if counting:" + _nl(20) + "n_mul += 1" + _nl(20) + "n_add += 2",
        "g_bias[j] += dy[s, j]" + _nl(16) + "if counting:" + _nl(20) + "n_mul += 1" + _nl(20) + "n_add += 1",
        "dw, db: only one of the two sums' additions counted",
    ),
    _cpu(
        "cpu-layernorm-db-skipped",
        "layernorm",
        "g_bias[j] += dy[s, j]",
        "g_bias[j] += 0.0",
        "db: only sample 0's gradient (the others still counted)",
    ),
    # --- CPU kernels: Residual (complexa/reference/kinds/residual.py) -------------------------------------------------
    _cpu(
        "cpu-residual-fwd-skip",
        "residual",
        "y[s, i] = x[s, i] + body[s, i]",
        "y[s, i] = body[s, i]",
        "forward: the skip connection dropped (still counted)",
    ),
    _cpu(
        "cpu-residual-fwd-count",
        "residual",
        "+ body[s, i]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 1",
        "+ body[s, i]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 0",
        "forward: x + body(x) not counted",
    ),
    _cpu(
        "cpu-residual-dx-skip",
        "residual",
        "dx[s, i] = dy[s, i] + body_dx[s, i]",
        "dx[s, i] = body_dx[s, i]",
        "dx: the skip connection's gradient dropped (still counted)",
    ),
    _cpu(
        "cpu-residual-dx-count",
        "residual",
        "+ body_dx[s, i]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 1",
        "+ body_dx[s, i]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 2",
        "dx: each addition counted twice",
    ),
    # --- CPU kernels: losses (complexa/reference/kinds/loss.py) -------------------------------------------------------
    _cpu(
        "cpu-loss-difference-sign",
        "loss",
        "d[s, i] = outputs[s, i] - targets[s, i]",
        "d[s, i] = targets[s, i] - outputs[s, i]",
        "mse, bce: y - y_hat, gradient ascent",
    ),
    _cpu(
        "cpu-loss-difference-count",
        "loss",
        "- targets[s, i]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 1",
        "- targets[s, i]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 0",
        "mse, bce: y_hat - y not counted",
    ),
    _cpu(
        "cpu-loss-softmax-cmp-taken",
        "loss",
        "top = z[i]" + _nl(16) + "if counting:" + _nl(20) + "n_cmp += 1",
        "top = z[i]" + _nl(20) + "if counting:" + _nl(24) + "n_cmp += 1",
        "cross-entropy: only the comparisons that find a new max counted",
    ),
    _cpu(
        "cpu-loss-softmax-shift-count",
        "loss",
        "n_add += 1" + _nl(20) + "n_exp += 1",
        "n_add += 0" + _nl(20) + "n_exp += 1",
        "cross-entropy: z - max z not counted",
    ),
    _cpu(
        "cpu-loss-softmax-onehot",
        "loss",
        "row[classes[s]] -= 1.0",
        "row[classes[s]] += 1.0",
        "cross-entropy: p + onehot, not p - onehot",
    ),
    _cpu(
        "cpu-loss-softmax-onehot-count",
        "loss",
        "row[classes[s]] -= 1.0" + _nl(12) + "if counting:" + _nl(16) + "n_add += 1",
        "row[classes[s]] -= 1.0" + _nl(12) + "if counting:" + _nl(16) + "n_add += 0",
        "cross-entropy: p - onehot's subtraction not counted",
    ),
    # --- CPU kernels: optimizers (complexa/reference/kinds/optim.py) --------------------------------------------------
    _cpu(
        "cpu-sgd-sign",
        "optim",
        "params[p] -= lr * grads[p]",
        "params[p] += lr * grads[p]",
        "SGD: gradient ascent",
    ),
    _cpu(
        "cpu-sgd-add-total",
        "optim",
        "counts[UPDATE, MUL] += n" + _nl(12) + "counts[UPDATE, ADD] += n\n",
        "counts[UPDATE, MUL] += n" + _nl(12) + "counts[UPDATE, ADD] += 0\n",
        "SGD: the subtractions not added to the totals",
    ),
    _cpu(
        "cpu-momentum-no-first-step",
        "optim",
        "if first:",
        "if False:",
        "momentum: the first step computes mu * 0 + g (the same numbers), counted",
    ),
    _cpu(
        "cpu-momentum-mu",
        "optim",
        "buf[p] = mu * buf[p] + grads[p]",
        "buf[p] = buf[p] + grads[p]",
        "momentum: the buffer not decayed by mu",
    ),
    _cpu(
        "cpu-momentum-step",
        "optim",
        "params[p] -= lr * buf[p]",
        "params[p] -= lr * grads[p]",
        "momentum: the step takes the gradient, not the buffer",
    ),
    _cpu(
        "cpu-adam-tensor-range",
        "optim",
        "for k in range(offsets.shape[0] - 1):",
        "for k in range(offsets.shape[0] - 2):",
        "Adam: the last tensor never updated",
    ),
    _cpu(
        "cpu-adam-bias-correction-sqrt",
        "optim",
        "n_div += 1" + _nl(16) + "n_sqrt += 1",
        "n_div += 1" + _nl(16) + "n_sqrt += 0",
        "Adam: sqrt(bc2) per tensor not counted",
    ),
    _cpu(
        "cpu-adam-powers",
        "optim",
        "powers[k, 1] *= beta2",
        "powers[k, 1] *= beta1",
        "Adam: bc2 from beta1^t",
    ),
    _cpu(
        "cpu-adam-denominator",
        "optim",
        "math.sqrt(v[p]) / bc2_sqrt + eps",
        "math.sqrt(v[p]) + eps",
        "Adam: v's bias correction dropped",
    ),
    _cpu(
        "cpu-adam-element-mul",
        "optim",
        "n_mul += 5",
        "n_mul += 4",
        "Adam: four products per element counted, not five",
    ),
    # --- the runtime that drives the kernels (complexa/reference/_runtime.py) -----------------------------------------
    _runtime(
        "runtime-fused-bce-skip",
        "nodes = plan.nodes[:-1] if plan.fused else plan.nodes",
        "nodes = plan.nodes",
        "bce: the final sigmoid's backward run on a gradient already with respect to its input",
    ),
    _runtime(
        "runtime-no-grad-break",
        "if d is None:  # no layer before this one has parameters" + _nl(16) + "break",
        "if d is None:  # no layer before this one has parameters" + _nl(16) + "continue",
        "backward: the layers before the first with parameters handed None",
    ),
    _node(
        "runtime-residual-copy",
        "residual",
        "self.backend.copy(self.dy, dy)" + _nl(8) + "d = self.dy",
        "d = dy",
        "Residual: the body's in-place activation backward overwrites the gradient the skip connection adds",
    ),
    _node(
        "runtime-activation-input-grad",
        "activation",
        "if not self.input_grad:" + _nl(12) + "return None" + _nl(8) + "self.k.backward",
        "if False:" + _nl(12) + "return None" + _nl(8) + "self.k.backward",
        "an activation's backward run where nothing before it has parameters",
    ),
    _runtime(
        "runtime-momentum-first-step",
        "self.steps == 1",
        "self.steps == 0",
        "momentum: no step is the first (the buffer starts at zero, so only the counts change)",
    ),
    _runtime(
        "runtime-adam-betas",
        "1.0 - beta1," + _nl(16) + "1.0 - beta2,",
        "1.0 - beta2," + _nl(16) + "1.0 - beta1,",
        "Adam: 1 - beta1 and 1 - beta2 swapped",
    ),
    _runtime(
        "runtime-sgd-lr",
        "k.optim.sgd(self.params, self.grads, optimizer.lr, counts)",
        "k.optim.sgd(self.params, self.grads, self.lr, counts)",
        "nn.SGD without momentum: its lr ignored, measure's lr used",
    ),
    _node(
        "runtime-tensor-offsets",
        None,
        "offset = tensors[-1].offset + tensors[-1].size if tensors else 0",
        "offset = tensors[-1].offset + tensors[-1].shape[0] if tensors else 0",
        "the flat layout: a tensor placed after its predecessor's first dimension, not its size",
    ),
    # --- the hypothesis strategy for stacks (complexa/strategies.py) -------------------------------------------------
    _strategy(
        "strategy-no-residual",
        'st.sampled_from(["linear", "activation", "norm", "residual"])',
        'st.sampled_from(["linear", "activation", "norm"])',
        "layer_stacks never draws a Residual",
    ),
    _strategy(
        "strategy-first-always-linear",
        "first = linear(width) if draw(st.booleans()) else norm(width)",
        "first = linear(width)",
        "layer_stacks never starts with a LayerNorm (no stack whose first layers have no parameters)",
    ),
    _strategy(
        "strategy-linear-always-bias",
        "return nn.Linear(width, draw(widths), bias=draw(st.booleans()))",
        "return nn.Linear(width, draw(widths), bias=True)",
        "layer_stacks never draws a width-changing Linear without a bias",
    ),
    _strategy(
        "strategy-layernorm-always-affine",
        "return nn.LayerNorm(width, elementwise_affine=draw(st.booleans()))",
        "return nn.LayerNorm(width, elementwise_affine=True)",
        "layer_stacks never draws a LayerNorm without its affine parameters",
    ),
    # --- CUDA kernels (complexa/reference/kinds/*_cuda.py, the launch in complexa/reference/_cuda.py), under numba's
    # simulator but for the race, which only a device shows.
    # Linear: one output element per thread.
    _cuda(
        "cuda-linear-fwd-first-mul",
        "linear",
        "acc = weights[i, 0] * x[s, 0]" + _nl(12) + "if counting:" + _nl(16) + "n_mul += 1",
        "acc = weights[i, 0] * x[s, 0]" + _nl(12) + "if counting:" + _nl(16) + "n_mul += 2",
        "forward: the first product of a dot product counted twice",
    ),
    _cuda(
        "cuda-linear-fwd-dot-range",
        "linear",
        "for j in range(1, m):" + _nl(16) + "acc += weights[i, j] * x[s, j]",
        "for j in range(2, m):" + _nl(16) + "acc += weights[i, j] * x[s, j]",
        "forward: the second term of a dot product skipped",
    ),
    _cuda(
        "cuda-linear-fwd-sample-index",
        "linear",
        "s = t // n" + _nl(12) + "i = t % n" + _nl(12) + "acc = weights[i, 0] * x[s, 0]",
        "s = t // m" + _nl(12) + "i = t % m" + _nl(12) + "acc = weights[i, 0] * x[s, 0]",
        "forward: a thread's (sample, unit) from the input width (right for square layers only)",
    ),
    _cuda(
        "cuda-linear-fwd-bias-drop",
        "linear",
        "acc += biases[i]",
        "acc += 0.0",
        "forward: the bias not added (still counted)",
    ),
    _cuda(
        "cuda-linear-fwd-grid-stride",
        "linear",
        "for t in range(cuda.grid(1), z.shape[0] * n, cuda.gridsize(1)):",
        "for t in range(cuda.grid(1), z.shape[0] * n, cuda.blockDim.x):",
        "forward: a grid-stride loop that strides by a block, so blocks redo each other's work",
    ),
    _cuda(
        "cuda-linear-fwd-atomic-slot",
        "linear",
        "cuda.atomic.add(counts, (FORWARD, ADD), n_add)",
        "cuda.atomic.add(counts, (FORWARD, MUL), n_add)",
        "forward: the additions added to the mul counter",
    ),
    _cuda(
        "cuda-linear-input-grad-range",
        "linear",
        "for i in range(1, n):" + _nl(16) + "acc += weights[i, j] * dz[s, i]",
        "for i in range(1, m):" + _nl(16) + "acc += weights[i, j] * dz[s, i]",
        "input_grad: W^T dz summed over the input width, not the output's (right for square layers only)",
    ),
    _cuda(
        "cuda-linear-input-grad-grid-start",
        "linear",
        "for t in range(cuda.grid(1), dx.shape[0] * m, cuda.gridsize(1)):",
        "for t in range(cuda.threadIdx.x, dx.shape[0] * m, cuda.gridsize(1)):",
        "input_grad: a grid-stride loop that starts at the thread's index in its block, so the second block redoes "
        "the first's work and skips its own",
    ),
    _cuda(
        "cuda-linear-grad-weight-index",
        "linear",
        "i = t // m" + _nl(16) + "j = t % m",
        "i = t // n" + _nl(16) + "j = t % n",
        "gradients: a weight's (i, j) from the wrong width (right for square layers only)",
    ),
    _cuda(
        "cuda-linear-grad-batch-range",
        "linear",
        "for s in range(1, batch):" + _nl(20) + "acc += dz[s, i] * x[s, j]",
        "for s in range(2, batch):" + _nl(20) + "acc += dz[s, i] * x[s, j]",
        "gradients: the second sample left out of the weight gradients",
    ),
    _cuda(
        "cuda-linear-grad-bias-total",
        "linear",
        "total = n_weights + n if bias else n_weights",
        "total = n_weights",
        "gradients: no thread computes the bias gradients",
    ),
    _cuda(
        "cuda-linear-grad-bias-add",
        "linear",
        "acc += dz[s, i]" + _nl(20) + "if counting:" + _nl(24) + "n_add += 1",
        "acc += dz[s, i]" + _nl(20) + "if counting:" + _nl(24) + "n_add += 0",
        "gradients: the bias sums not counted",
    ),
    _cuda(
        "cuda-linear-fwd-atomic-race",
        "linear",
        "cuda.atomic.add(counts, (FORWARD, MUL), n_mul)",
        "counts[FORWARD, MUL] += n_mul",
        "forward: the mul total summed with a plain += that races between threads",
        gpu=True,
    ),
    # Activations and residuals: one (sample, unit) per thread.
    _cuda(
        "cuda-activation-fwd-count",
        "activation",
        "a[s, i] = _activate(z[s, i], code)" + _nl(16) + "if counting:" + _nl(20) + "n_act += 1",
        "a[s, i] = _activate(z[s, i], code)" + _nl(16) + "if counting:" + _nl(20) + "n_act += 0",
        "forward: activations not counted",
    ),
    _cuda(
        "cuda-activation-bwd-sample-index",
        "activation",
        "d[s, i] *= _derivative(z[s, i], a[s, i], code)",
        "d[s, i] *= _derivative(z[0, i], a[0, i], code)",
        "backward: every sample's g' taken at the first sample's z and a",
    ),
    _cuda(
        "cuda-activation-bwd-atomic-slot",
        "activation",
        "cuda.atomic.add(counts, (BACKWARD, ACT_GRAD), n_grad)",
        "cuda.atomic.add(counts, (BACKWARD, ACT), n_grad)",
        "backward: the act_grads added to the act counter",
    ),
    _cuda(
        "cuda-residual-fwd-skip-drop",
        "residual",
        "y[s, i] = x[s, i] + body[s, i]",
        "y[s, i] = 0.0 + body[s, i]",
        "forward: the skip connection dropped (the add still counted)",
    ),
    _cuda(
        "cuda-residual-bwd-count",
        "residual",
        "dx[s, i] = dy[s, i] + body_dx[s, i]" + _nl(12) + "if counting:" + _nl(16) + "n_add += 1",
        "dx[s, i] = dy[s, i] + body_dx[s, i]" + _nl(12) + "if counting:" + _nl(16) + "n_add += 2",
        "input_grad: the add of the two gradients counted twice",
    ),
    # LayerNorm: one sample per thread (forward, input_grad), one feature per thread (gradients).
    _cuda(
        "cuda-layernorm-mean-range",
        "layernorm",
        "total = x[s, 0]" + _nl(12) + "for j in range(1, n):",
        "total = x[s, 0]" + _nl(12) + "for j in range(2, n):",
        "forward: the second feature left out of the mean (its add still not counted)",
    ),
    _cuda(
        "cuda-layernorm-unbiased-variance",
        "layernorm",
        "var = squares / n",
        "var = squares / (n - 1)",
        "forward: the unbiased variance, not the biased one torch's LayerNorm uses",
    ),
    _cuda(
        "cuda-layernorm-eps-add-count",
        "layernorm",
        "n_add += 1" + _nl(16) + "n_sqrt += 1" + _nl(16) + "n_div += 1",
        "n_add += 0" + _nl(16) + "n_sqrt += 1" + _nl(16) + "n_div += 1",
        "forward: the add of eps under the square root not counted",
    ),
    _cuda(
        "cuda-layernorm-fwd-atomic-slot",
        "layernorm",
        "cuda.atomic.add(counts, (FORWARD, SQRT), n_sqrt)",
        "cuda.atomic.add(counts, (FORWARD, DIV), n_sqrt)",
        "forward: the square roots added to the div counter",
    ),
    _cuda(
        "cuda-layernorm-input-grad-sums-count",
        "layernorm",
        "s2 += g[j] * xhat[s, j]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 2",
        "s2 += g[j] * xhat[s, j]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 1",
        "input_grad: the two running sums' adds counted as one",
    ),
    _cuda(
        "cuda-layernorm-grad-batch-range",
        "layernorm",
        "for s in range(1, dy.shape[0]):" + _nl(16) + "gw += dy[s, j] * xhat[s, j]",
        "for s in range(2, dy.shape[0]):" + _nl(16) + "gw += dy[s, j] * xhat[s, j]",
        "gradients: the second sample left out of the weight and bias gradients",
    ),
    _cuda(
        "cuda-layernorm-grad-grid-stride",
        "layernorm",
        "for j in range(cuda.grid(1), dy.shape[1], cuda.gridsize(1)):",
        "for j in range(cuda.grid(1), dy.shape[1], 1):",
        "gradients: a loop that steps by one, so every thread redoes the features after its own",
    ),
    # Losses.
    _cuda(
        "cuda-loss-difference-sample-index",
        "loss",
        "d[s, i] = outputs[s, i] - targets[s, i]",
        "d[s, i] = outputs[s, i] - targets[0, i]",
        "difference: every sample's output compared with the first sample's target",
    ),
    _cuda(
        "cuda-loss-softmax-target-index",
        "loss",
        "d[s, classes[s]] -= 1.0",
        "d[s, classes[0]] -= 1.0",
        "softmax_nll: the one subtracted at the first sample's class, not the sample's own",
    ),
    _cuda(
        "cuda-loss-softmax-cmp-count",
        "loss",
        "top = logits[s, i]" + _nl(16) + "if counting:" + _nl(20) + "n_cmp += 1",
        "top = logits[s, i]" + _nl(20) + "if counting:" + _nl(24) + "n_cmp += 1",
        "softmax_nll: a comparison counted only when it finds a new maximum",
    ),
    # Optimizers: one parameter per thread; Adam's bias corrections one tensor per thread.
    _cuda(
        "cuda-sgd-add-dropped",
        "optim",
        "cuda.atomic.add(counts, (UPDATE, ADD), n)",
        "pass",
        "sgd: the subtractions never added to the totals",
    ),
    _cuda(
        "cuda-momentum-first-step",
        "optim",
        "params, grads, buf, lr, mu, bool(first), counts)",
        "params, grads, buf, lr, mu, False, counts)",
        "momentum: the first step treated as a later one (mu buf + g, counted, not a copy of g)",
    ),
    _cuda(
        "cuda-adam-scalars-per-element",
        "optim",
        "n_mul += 5" + _nl(20) + "n_add += 5" + _nl(20) + "n_div += 2" + _nl(20) + "n_sqrt += 1",
        "n_mul += 7" + _nl(20) + "n_add += 7" + _nl(20) + "n_div += 3" + _nl(20) + "n_sqrt += 2",
        "adam: the per-tensor bias corrections (2 mul, 2 add, a div, a sqrt) counted for every element as well",
    ),
    _cuda(
        "cuda-adam-last-tensor",
        "optim",
        "for k in range(offsets.shape[0] - 1):",
        "for k in range(offsets.shape[0] - 2):",
        "adam: the last tensor never updated",
    ),
    _cuda(
        "cuda-adam-tensor-start",
        "optim",
        "for p in range(offsets[k] + cuda.grid(1), offsets[k + 1], cuda.gridsize(1)):",
        "for p in range(cuda.grid(1), offsets[k + 1], cuda.gridsize(1)):",
        "adam: each tensor's loop starts at element 0, not at its offset, so earlier tensors step again",
    ),
    _cuda(
        "cuda-adam-atomic-slot",
        "optim",
        "cuda.atomic.add(counts, (UPDATE, SQRT), n_sqrt)" + _nl(0) + _nl(4) + "def sgd(",
        "cuda.atomic.add(counts, (UPDATE, DIV), n_sqrt)" + _nl(0) + _nl(4) + "def sgd(",
        "adam: the per-element square roots added to the div counter",
    ),
    # The launch (complexa/reference/_cuda.py).
    _cuda(
        "cuda-blocks-one",
        None,
        "return max(1, min(MAX_BLOCKS, -(-work // THREADS)))",
        "return 1",
        "host: every launch uses a single block",
        equivalent="every kernel is a grid-stride loop, so any grid covers all the work exactly once: one block is "
        "only slower",
    ),
    # --- FLOPs conventions and memory (complexa/_flops.py) ------------------------------------------------------------
    Mutation(
        "flops-torch-factor",
        "flops",
        FLOPS,
        "value = 2 * B * _weights(layers)",
        "value = B * _weights(layers)",
        "torch: a matrix product counted m n k, not 2 m n k",
        tests=FLOPS_TESTS,
    ),
    Mutation(
        "flops-torch-input-gradient",
        "flops",
        FLOPS,
        "2 * B * _weights(layers, lo=2)",
        "2 * B * _weights(layers, lo=1)",
        "torch training: an input gradient counted for the first layer too",
        tests=FLOPS_TESTS,
    ),
    Mutation(
        "flops-ptflops-bias",
        "flops",
        FLOPS,
        "value = B * exact.parameters(layers, bias=network.bias)",
        "value = B * exact.parameters(layers, bias=True)",
        "ptflops: a bias counted in networks without one",
        tests=FLOPS_TESTS,
    ),
    Mutation(
        "flops-exact-forward-phase",
        "flops",
        FLOPS,
        'phases = ("forward",) if phase == "forward" else exact.PHASES',
        'phases = ("forward", "backward") if phase == "forward" else exact.PHASES',
        "exact forward: the backward phase counted as forward work",
        tests=FLOPS_TESTS,
    ),
    Mutation(
        "flops-memory-pre-activations",
        "flops",
        FLOPS,
        "kept = 2 if training else 1",
        "kept = 2",
        "memory: pre-activations kept for inference too",
        tests=FLOPS_TESTS,
    ),
    Mutation(
        "flops-memory-adam-state",
        "flops",
        "complexa/nn/optim.py",
        "return 2 * elements + 2 * tensors  # the two moments",
        "return 2 * elements  # the two moments",
        "memory: Adam's running powers per tensor left out of its state",
        tests=("tests/test_layers.py::test_memory_is_what_measure_allocates", "tests/test_docs.py"),
    ),
    Mutation(
        "flops-memory-layernorm-caches",
        "flops",
        "complexa/nn/norm.py",
        "return 2 * batch * n + batch, (batch * n + n) if input_grad else 0",
        "return batch * n + batch, (batch * n + n) if input_grad else 0",
        "memory: a LayerNorm's xhat left out of what it keeps",
        tests=("tests/test_layers.py::test_memory_is_what_measure_allocates",),
    ),
    Mutation(
        "flops-memory-input",
        "flops",
        FLOPS,
        "B * (n(0) + kept * layers.total",
        "B * (kept * layers.total",
        "memory: the input a_0 not stored",
        tests=FLOPS_TESTS,
    ),
    Mutation(
        "flops-dtype-size",
        "flops",
        "complexa/_choices.py",
        '"bfloat16": 2}',
        '"bfloat16": 4}',
        "memory: bfloat16 taken as four bytes",
        tests=FLOPS_TESTS,
    ),
    # --- grammar (complexa/_parse.py) and the limits it expands within (complexa/_poly.py's Expander) ----------------
    Mutation(
        "parse-length-limit",
        "grammar",
        "complexa/_parse.py",
        "if len(text) > MAX_LENGTH:",
        "if len(text) >= MAX_LENGTH:",
        "a text of exactly MAX_LENGTH characters refused",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-depth-limit",
        "grammar",
        "complexa/_parse.py",
        "if self.depth > MAX_DEPTH:",
        "if self.depth >= MAX_DEPTH:",
        "nesting of exactly MAX_DEPTH levels refused",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-exponent-max",
        "grammar",
        "complexa/_parse.py",
        "or abs(value) > MAX_DEGREE:",
        "or abs(value) >= MAX_DEGREE:",
        "the exponent MAX_DEGREE itself refused",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-exponent-fraction",
        "grammar",
        "complexa/_parse.py",
        "if value is None or value.denominator != 1 or",
        "if value is None or value.denominator < 1 or",
        "a fractional exponent accepted, and truncated",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-exponent-negative",
        "grammar",
        "complexa/_parse.py",
        "if value >= 0:\n            return raised",
        "if True:\n            return raised",
        "h^-2 read as h^2",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-exponent-zero",
        "grammar",
        "complexa/_poly.py",
        "if not 0 <= exponent <= MAX_DEGREE:",
        "if not 0 < exponent <= MAX_DEGREE:",
        "the exponent 0 refused",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-literal-digits",
        "grammar",
        "complexa/_parse.py",
        "if len(token) > MAX_DIGITS:",
        "if len(token) >= MAX_DIGITS:",
        "a literal of exactly MAX_DIGITS digits refused",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-computed-digits",
        "grammar",
        "complexa/_poly.py",
        "if _digits(value) > MAX_DIGITS:",
        "if _digits(value) > MAX_DIGITS + 1:",
        "a computed number of MAX_DIGITS + 1 digits accepted",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-power-digits",
        "grammar",
        "complexa/_poly.py",
        "(_digits(value) - 1) * exponent >= MAX_DIGITS:",
        "(_digits(value) - 1) * exponent > MAX_DIGITS:",
        "the early bound on a constant power's digits loosened by one",
        tests=GRAMMAR_TESTS,
        equivalent=(
            "the early bound only avoids computing a hopeless power: a power it lets through is computed (at most "
            "twice MAX_DIGITS digits, quickly) and then refused by the exact digits check with the same message"
        ),
    ),
    Mutation(
        "parse-degree-limit",
        "grammar",
        "complexa/_poly.py",
        "if a.degree + b.degree > MAX_DEGREE:",
        "if a.degree + b.degree >= MAX_DEGREE:",
        "a product of degree exactly MAX_DEGREE refused",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-power-degree",
        "grammar",
        "complexa/_poly.py",
        "if base.degree * exponent > MAX_DEGREE:",
        "if base.degree * exponent >= MAX_DEGREE:",
        "a power of degree exactly MAX_DEGREE refused",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-work-budget",
        "grammar",
        "complexa/_poly.py",
        "self.work = MAX_WORK",
        "self.work = MAX_WORK // 2",
        "half the work allowed: (a+b)^499 refused",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-power-work-estimate",
        "grammar",
        "complexa/_poly.py",
        "work += t * min(",
        "work += min(",
        "a power's work underestimated: (a+b)^500 expanded",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-terms-limit",
        "grammar",
        "complexa/_poly.py",
        "if len(value.terms) > MAX_TERMS:",
        "if len(value.terms) > 2 * MAX_TERMS:",
        "twice MAX_TERMS terms accepted",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-minus-right-assoc",
        "grammar",
        "complexa/_parse.py",
        "op = self.take()\n            right = self.term()",
        "op = self.take()\n            right = self.expr()",
        "+ and - right-associative: a - b - c read as a - (b - c)",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-minus-sign",
        "grammar",
        "complexa/_parse.py",
        'terms.append(right if op == "+" else _Fraction(-right.num, right.den))',
        "terms.append(right)",
        "a - b read as a + b",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-divide-right-assoc",
        "grammar",
        "complexa/_parse.py",
        "right = self.unary()",
        "right = self.term()",
        "* and / right-associative: a / b / c read as a / (b / c)",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-unary-minus",
        "grammar",
        "complexa/_parse.py",
        'return _Fraction(-value.num, value.den) if op == "-" else value',
        "return value",
        "unary minus ignored",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-division-by-zero",
        "grammar",
        "complexa/_parse.py",
        "elif right.num.constant() == 0:",
        "elif right.num.constant() == 0 and False:",
        "the grammar's own division-by-zero check dropped",
        tests=GRAMMAR_TESTS,
        equivalent=(
            "a zero divisor then reaches Expander.div (or the negative-power branch), which refuses it with the same "
            "message: the check is there to say it before any other work"
        ),
    ),
    Mutation(
        "parse-constant-divisor",
        "grammar",
        "complexa/_parse.py",
        "return to_expr(self.math.div(value.num, value.den))",
        "return to_expr(value.num)",
        "a constant denominator dropped: h/2 read as h",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-ratio-sum",
        "grammar",
        "complexa/_parse.py",
        "num = self.math.total([self.math.mul(value.num, t.den), self.math.mul(t.num, value.den)])",
        "num = self.math.total([value.num, t.num])",
        "a/b + c/d read as (a + c)/(b d)",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-symbol-integer",
        "grammar",
        "complexa/_poly.py",
        "sympy.Symbol(name, positive=True, integer=True)",
        "sympy.Symbol(name, positive=True)",
        "symbols no longer integers",
        tests=GRAMMAR_TESTS,
    ),
    Mutation(
        "parse-unicode-digits",
        "grammar",
        "complexa/_parse.py",
        "(?:([0-9]+)|",
        "(?:(\\d+)|",
        "other scripts' digits read as numbers: '٣' as 3",
        tests=GRAMMAR_TESTS,
    ),
    # --- big-O (complexa/asymptotics.py) ------------------------------------------------------------------------------
    Mutation(
        "bigo-domination-strict",
        "big-O",
        "complexa/asymptotics.py",
        "all(other.get(i, 0) >= e for i, e in exps.items())",
        "all(other.get(i, 0) > e for i, e in exps.items())",
        "a monomial dominated only when every exponent is strictly smaller",
        tests=BIG_O_TESTS,
    ),
    Mutation(
        "bigo-domination-any",
        "big-O",
        "complexa/asymptotics.py",
        "all(other.get(i, 0) >= e for i, e in exps.items())",
        "any(other.get(i, 0) >= e for i, e in exps.items())",
        "a monomial dominated when any exponent is no larger",
        tests=BIG_O_TESTS,
    ),
    Mutation(
        "bigo-self-domination",
        "big-O",
        "complexa/asymptotics.py",
        "other is not exps and all(",
        "all(",
        "every monomial dominated by itself",
        tests=BIG_O_TESTS,
    ),
    Mutation(
        "bigo-negative-leading",
        "big-O",
        "complexa/asymptotics.py",
        "if any(poly.terms[monom] < 0 for monom in maximal):",
        "if any(poly.terms[monom] < -1 for monom in maximal):",
        "a dominant coefficient of -1 accepted as a count",
        tests=BIG_O_TESTS,
    ),
    Mutation(
        "bigo-constant-dominated",
        "big-O",
        "complexa/asymptotics.py",
        "if len(monomials) == 1:",
        "if True:",
        "the constant kept beside the terms that dominate it",
        tests=BIG_O_TESTS,
    ),
    Mutation(
        "bigo-sum-not-evaluated",
        "big-O",
        "complexa/_poly.py",
        "if isinstance(expr, sympy.Sum):",
        "if False:",
        "sums with symbolic bounds not evaluated",
        tests=BIG_O_TESTS,
    ),
    Mutation(
        "bigo-limit-point",
        "big-O",
        "complexa/asymptotics.py",
        "sympy.Tuple(s, sympy.oo)",
        "sympy.Tuple(s, 0)",
        "the order taken at 0, not at infinity",
        tests=BIG_O_TESTS,
    ),
    # --- the command's exit statuses (complexa/cli.py, complexa/_cli.py, complexa/_args.py) ---------------------------
    Mutation(
        "cli-usage-status",
        "cli",
        "complexa/_cli.py",
        "print(_one_line(str(error)), file=sys.stderr)\n        return 2",
        "print(_one_line(str(error)), file=sys.stderr)\n        return 1",
        "a bad command line exits 1, not 2",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-error-status",
        "cli",
        "complexa/_cli.py",
        'print(_one_line(f"{prog}: error: {error}"), file=sys.stderr)\n        return 2',
        'print(_one_line(f"{prog}: error: {error}"), file=sys.stderr)\n        return 1',
        "a ComplexaError exits 1, not 2",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-measure-mismatch",
        "cli",
        "complexa/_cli.py",
        "return 0 if measured.counts == derived else 1",
        "return 0",
        "measure exits 0 when a count differs",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-extra-arguments",
        "cli",
        "complexa/_cli.py",
        "if extra:",
        "if False:",
        "unrecognized arguments silently ignored",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-output-error-uncaught",
        "cli",
        "complexa/cli.py",
        "if not _is_output_error(error):\n            raise",
        "if True:\n            raise",
        "output that cannot be written (a full disk) ends in a traceback",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-broken-pipe-noisy",
        "cli",
        "complexa/cli.py",
        "if error.errno != errno.EPIPE:",
        "if True:",
        "a reader that went away (complexa audit | head) gets a line on stderr",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-interrupt-status",
        "cli",
        "complexa/cli.py",
        "return 130",
        "return 1",
        "Ctrl-C exits 1, not 130",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-interrupt-imports",
        "cli",
        "complexa/cli.py",
        "try:\n        from complexa._cli import run\n\n        return run(argv)",
        "from complexa._cli import run\n\n    try:\n        return run(argv)",
        "Ctrl-C while sympy and numpy import ends in a traceback",
        tests=CLI_TESTS,
        equivalent=(
            "complexa._cli imports only the standard library and complexa's light modules (milliseconds); sympy and "
            "numpy are imported inside run(), within the handler, so the window this opens is as narrow as Python's "
            "own start-up, which no test can aim at"
        ),
    ),
    Mutation(
        "cli-max-n-bound",
        "cli",
        "complexa/_cli.py",
        "type=integer(3, 64)",
        "type=integer(2, 64)",
        "audit --max-n 2 accepted",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-positive-int",
        "cli",
        "complexa/_args.py",
        "if value is None or value < low or",
        "if value is None or",
        "--iterations 0 reaches measure",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-ascii-digits",
        "cli",
        "complexa/_args.py",
        "digits.isascii() and digits.isdigit()",
        "digits.isdigit()",
        "--iterations ٣ read as 3",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-assume-repeat",
        "cli",
        "complexa/_cli.py",
        "if name in assume:",
        "if False:",
        "--assume h=x h=y keeps the last silently",
        tests=CLI_TESTS,
    ),
    Mutation(
        "cli-system-exit-code",
        "cli",
        "complexa/_cli.py",
        "return stop.code if isinstance(stop.code, int) else 0",
        "return 0",
        "--help and --version: the SystemExit code ignored",
        tests=CLI_TESTS,
        equivalent=(
            "argparse raises SystemExit only for --help and --version, with status 0: its errors go through "
            "_Parser.error, which raises _UsageError, and no subcommand calls sys.exit"
        ),
    ),
    # --- polynomials (complexa/_poly.py) ------------------------------------------------------------------------------
    Mutation(
        "poly-mul-exponents",
        "polynomials",
        "complexa/_poly.py",
        "exps[i] = exps.get(i, 0) + e",
        "exps[i] = e",
        "h * h = h: exponents of a product not added",
        tests=POLY_TESTS,
    ),
    Mutation(
        "poly-pow",
        "polynomials",
        "complexa/_poly.py",
        "for _ in range(exponent):\n            result = result * self",
        "for _ in range(exponent - 1):\n            result = result * self",
        "p ** k computed as p ** (k - 1)",
        tests=POLY_TESTS,
    ),
    Mutation(
        "poly-expander-pow",
        "polynomials",
        "complexa/_poly.py",
        "for _ in range(exponent):\n            result = self._checked(result * base)",
        "for _ in range(exponent - 1):\n            result = self._checked(result * base)",
        "(h + 1)^k expanded as (h + 1)^(k - 1)",
        tests=POLY_TESTS,
    ),
    Mutation(
        "poly-rsub",
        "polynomials",
        "complexa/_poly.py",
        "return (-self) + other",
        "return self + (-other)",
        "c - p computed as p - c",
        tests=POLY_TESTS,
    ),
    Mutation(
        "poly-fraction",
        "polynomials",
        "complexa/_poly.py",
        "else Fraction(int(expr.p), int(expr.q))",
        "else Fraction(int(expr.q), int(expr.p))",
        "a rational coefficient inverted (h/2 read as 2*h)",
        tests=POLY_TESTS,
    ),
    Mutation(
        "poly-to-expr-order",
        "polynomials",
        "complexa/_poly.py",
        "keyed.sort(key=lambda item: item[0])",
        "keyed.sort(key=lambda item: str(item[1]))",
        "a sum's terms not in sympy's canonical order",
        tests=POLY_TESTS,
    ),
    Mutation(
        "poly-number-key-half",
        "polynomials",
        "complexa/_poly.py",
        "(_HALF if (p, q) == (1, 2) else _RATIONAL, 2, (p, q))",
        "(_RATIONAL, 2, (p, q))",
        "1/2 ranked as any rational, as sympy does not",
        tests=POLY_TESTS,
    ),
    # --- validation (complexa/_validate.py, complexa/network.py, complexa/reference) ----------------------------------
    Mutation(
        "validate-size-zero",
        "validation",
        "complexa/_validate.py",
        "if not expr.is_Integer or expr <= 0:",
        "if not expr.is_Integer or expr < 0:",
        "a size of 0 accepted",
        tests=VALIDATION_TESTS,
    ),
    Mutation(
        "validate-bool-size",
        "validation",
        "complexa/_validate.py",
        'if isinstance(value, bool):\n        raise ComplexaError(f"{where} = {value}: a bool is not a size',
        'if False:\n        raise ComplexaError(f"{where} = {value}: a bool is not a size',
        "True accepted as the size 1",
        tests=VALIDATION_TESTS,
    ),
    Mutation(
        "validate-size-terms",
        "validation",
        "complexa/_validate.py",
        "if len(terms) > MAX_SIZE_TERMS:",
        "if len(terms) >= MAX_SIZE_TERMS:",
        "a size of exactly MAX_SIZE_TERMS terms refused",
        tests=VALIDATION_TESTS,
    ),
    Mutation(
        "validate-size-degree",
        "validation",
        "complexa/_validate.py",
        "if degree > MAX_SIZE_DEGREE:",
        "if degree >= MAX_SIZE_DEGREE:",
        "a size of degree exactly MAX_SIZE_DEGREE refused",
        tests=VALIDATION_TESTS,
    ),
    Mutation(
        "validate-size-digits",
        "validation",
        "complexa/_validate.py",
        "if digits(int(expr)) > MAX_SIZE_DIGITS:",
        "if digits(int(expr)) >= MAX_SIZE_DIGITS:",
        "a size of exactly MAX_SIZE_DIGITS digits refused",
        tests=VALIDATION_TESTS,
    ),
    Mutation(
        "validate-memory-rlimit",
        "validation",
        "complexa/reference/__init__.py",
        "limits = [_free_physical(), _address_space_left(), _cgroup_left()]",
        "limits = [_free_physical()]",
        "the memory guard blind to ulimit -v: numpy fails later with a traceback",
        tests=("tests/test_hostile.py", "-k", "memory_guard"),
    ),
    Mutation(
        "network-bce-needs-sigmoid",
        "validation",
        "complexa/network.py",
        'if self.loss == "bce" and self.activation != "sigmoid":',
        "if False:",
        "bce accepted without sigmoid outputs",
        tests=VALIDATION_TESTS,
    ),
    Mutation(
        "network-uniform-depth",
        "validation",
        "complexa/network.py",
        "return (self.width,) * (int(self.depth) + 1)",
        "return (self.width,) * int(self.depth)",
        "Network.uniform(n, L) lists L sizes, not L + 1",
        tests=VALIDATION_TESTS,
    ),
]
