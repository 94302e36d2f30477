"""The mutations `tools/mutate.py` applies, one at a time, each to a fresh copy of the repository.

A mutation replaces one exact snippet, `old`, which must occur exactly once in its file (else the runner reports it
STALE, an error: the list must move with the code), by `new`. Each is a plausible mistake in the code that decides
what complexa claims: the counting rules, the kernels that check them, the grammar that reads sizes, big-O and the
command's exit statuses. `tests` are the pytest arguments that should catch it (paths, node ids or options, in the
order to try them; ``()`` is the whole suite) and `env` what those tests need in their environment.

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
    "kernel layout",
    "grammar",
    "big-O",
    "cli",
    "flops",
    "polynomials",
    "validation",
)
"""Every area a mutation may name."""
STRICT_AREAS = ("counting rule", "cpu kernel", "cuda kernel", "kernel layout", "grammar")
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
# The narrowed sets, most direct first (pytest stops at the first failure). ``complexa`` collects every doctest.

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
ESSAY_TESTS = (
    "tests/test_essay.py",
    "tests/test_audit.py",
    "tests/test_printing.py",
    "tests/test_cli.py",
    "tests/test_docs.py",
    "complexa",
)
# The two tests of numba's cache fallback compile the kernels in fresh processes (30 s) and check only the
# [2, 3, 1] network's forward mul, which the hand-counted tests check first.
CPU_TESTS = ("tests/test_reference.py", "-k", "not falls_back")
CUDA_TESTS = ("tests/test_cuda.py",)
CUDASIM = {"NUMBA_ENABLE_CUDASIM": "1"}
LAYOUT_TESTS = ("tests/test_reference.py", "tests/test_flops.py", "-k", "not falls_back")
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
CPU = "complexa/reference/_cpu.py"
CUDA = "complexa/reference/_cuda.py"
LAYOUT = "complexa/reference/_layout.py"
FLOPS = "complexa/_flops.py"


def _exact(id: str, old: str, new: str, why: str) -> Mutation:
    return Mutation(id, "counting rule", EXACT, old, new, why, tests=COUNTING_TESTS)


def _cpu(id: str, old: str, new: str, why: str, equivalent: str | None = None) -> Mutation:
    return Mutation(id, "cpu kernel", CPU, old, new, why, tests=CPU_TESTS, equivalent=equivalent)


def _cuda(id: str, old: str, new: str, why: str, equivalent: str | None = None, gpu: bool = False) -> Mutation:
    # Under the simulator, except for a race, which only a device shows.
    env = {} if gpu else CUDASIM
    return Mutation(id, "cuda kernel", CUDA, old, new, why, tests=CUDA_TESTS, env=env, equivalent=equivalent, gpu=gpu)


MUTATIONS: list[Mutation] = [
    # --- counting rules: the exact model (complexa/models/exact.py) -----------------------------------------------
    _exact(
        "exact-params-no-bias",
        "lambda k: n(k) * (n(k - 1) + b))",
        "lambda k: n(k) * (n(k - 1) + 1))",
        "parameters count a bias per unit even without biases",
    ),
    _exact(
        "exact-forward-dot-adds",
        "n(k) * (n(k - 1) - 1 + b)",
        "n(k) * (n(k - 1) + b)",
        "a dot product of length m counted as m additions, not m - 1",
    ),
    _exact(
        "exact-forward-bias-add",
        "n(k) * (n(k - 1) - 1 + b)",
        "n(k) * (n(k - 1) - 1)",
        "the forward bias addition dropped",
    ),
    _exact(
        "exact-forward-act-output",
        '"act": g * B * units,',
        '"act": g * B * hidden,',
        "the output layer's activations not counted",
    ),
    _exact(
        "exact-units-input",
        "units = layers.total(1, 0, lambda k: n(k))",
        "units = layers.total(0, 0, lambda k: n(k))",
        "the input layer counted as activated",
    ),
    _exact(
        "exact-identity-act",
        'g = int(activation != "identity")',
        "g = 1",
        "identity counted as an activation with a derivative to multiply by",
    ),
    _exact(
        "exact-loss-branch-bce",
        'out = g if loss == "mse" else 0',
        "out = g",
        "bce's output delta counted with a g'(z_L) product",
    ),
    _exact(
        "exact-loss-branch-identity",
        'out = g if loss == "mse" else 0',
        'out = 1 if loss == "mse" else 0',
        "identity's output delta counted with a g'(z_L) product",
    ),
    _exact(
        "exact-error-hidden-mul",
        "back_products + g * hidden)",
        "back_products)",
        "the g'(z_k) product of the hidden deltas dropped from mul",
    ),
    _exact(
        "exact-error-output-add",
        '"add": B * (n(L) + layers',
        '"add": B * (0 + layers',
        "the output delta's subtraction a_L - y not counted",
    ),
    _exact(
        "exact-error-dot-adds",
        "n(k) * (n(k + 1) - 1)",
        "n(k) * n(k + 1)",
        "a hidden delta's dot product of length n_{k+1} counted with n_{k+1} additions",
    ),
    _exact(
        "exact-error-act-grad-output",
        '"act_grad": B * (out * n(L) + g * hidden)',
        '"act_grad": B * (n(L) + g * hidden)',
        "an output act_grad counted for bce and identity too",
    ),
    _exact(
        "exact-hidden-range",
        "hidden = layers.total(1, -1, lambda k: n(k))",
        "hidden = layers.total(1, 0, lambda k: n(k))",
        "the output layer counted among the hidden deltas",
    ),
    _exact(
        "exact-back-products-range",
        "layers.total(1, -1, lambda k: n(k) * n(k + 1))",
        "layers.total(2, -1, lambda k: n(k) * n(k + 1))",
        "the first hidden layer's W^T delta products skipped",
    ),
    _exact(
        "exact-gradient-mul",
        'gradients = {"mul": B * weights,',
        'gradients = {"mul": (B - 1) * weights,',
        "the weight gradient counted with B - 1 products per weight",
    ),
    _exact(
        "exact-gradient-add",
        '"add": (B - 1) * params,',
        '"add": B * params,',
        "the batch sums counted with B additions, not B - 1",
    ),
    _exact(
        "exact-update-bias",
        'update = {"mul": params,',
        'update = {"mul": weights,',
        "the update's products counted for the weights only",
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
        "layers-concrete-range",
        "counting rule",
        LAYERS,
        "range(lo, int(self.depth) + hi + 1)",
        "range(lo, int(self.depth) + hi)",
        "a concrete sum over layers misses its last layer",
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
    # --- CPU kernels (complexa/reference/_cpu.py): forward, four samples at a time ---------------------------------
    _cpu(
        "cpu-fwd-quad-sample-index",
        "x1 = acts[s + 1, below : below + m]" + _nl(16) + "x2",
        "x1 = acts[s, below : below + m]" + _nl(16) + "x2",
        "forward: the second sample of a group of four reads the first sample's inputs",
    ),
    _cpu(
        "cpu-fwd-quad-drop-term",
        "z3 += w[j] * x3[j]" + _nl(24),
        _nl(24),
        "forward: the fourth sample of a group loses every product after the first",
    ),
    _cpu(
        "cpu-fwd-quad-first-mul",
        "z3 = w[0] * x3[0]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 4",
        "z3 = w[0] * x3[0]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 3",
        "forward: a group's first products counted three, not four",
    ),
    _cpu(
        "cpu-fwd-quad-inner-add",
        "z3 += w[j] * x3[j]" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 4" + _nl(28) + "n_add += 4",
        "z3 += w[j] * x3[j]" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 4" + _nl(28) + "n_add += 3",
        "forward: a group's inner additions counted three, not four",
    ),
    _cpu(
        "cpu-fwd-quad-bias-count",
        "z3 += biases[i]" + _nl(24) + "if counting:" + _nl(28) + "n_add += 4",
        "z3 += biases[i]" + _nl(24) + "if counting:" + _nl(28) + "n_add += 3",
        "forward: a group's bias additions counted three, not four",
    ),
    _cpu(
        "cpu-fwd-quad-bias-drop",
        "z2 += biases[i]" + _nl(24),
        _nl(24),
        "forward: the third sample of a group gets no bias",
    ),
    _cpu(
        "cpu-fwd-quads-bound",
        "quads = batch - batch % 4",
        "quads = batch // 4",
        "forward: the number of groups used as the first left-over sample",
    ),
    _cpu(
        "cpu-fwd-rest-start",
        "for s in range(quads, batch):",
        "for s in range(quads + 1, batch):",
        "forward: the first left-over sample skipped",
    ),
    # --- CPU kernels: forward, the samples left over and the activations ---------------------------------------------
    _cpu(
        "cpu-fwd-rest-first-mul",
        "z0 = w[0] * x[0]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 1",
        "z0 = w[0] * x[0]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 2",
        "forward: a left-over sample's first product counted twice",
    ),
    _cpu(
        "cpu-fwd-rest-inner-add",
        "z0 += w[j] * x[j]" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 1" + _nl(28) + "n_add += 1",
        "z0 += w[j] * x[j]" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 1" + _nl(28) + "n_add += 0",
        "forward: a left-over sample's additions not counted",
    ),
    _cpu(
        "cpu-fwd-rest-dot-range",
        "for j in range(1, m):" + _nl(24) + "z0 += w[j] * x[j]",
        "for j in range(2, m):" + _nl(24) + "z0 += w[j] * x[j]",
        "forward: a left-over sample's dot product skips its second term",
    ),
    _cpu(
        "cpu-fwd-rest-bias-drop",
        "z0 += biases[i]" + _nl(24) + "if counting:" + _nl(28) + "n_add += 1",
        "pass" + _nl(24) + "if counting:" + _nl(28) + "n_add += 1",
        "forward: a left-over sample gets no bias (still counted)",
    ),
    _cpu(
        "cpu-fwd-act-count",
        "a[i] = _activate(z[i], activation)" + _nl(24) + "if counting:" + _nl(28) + "n_act += 1",
        "a[i] = _activate(z[i], activation)" + _nl(24) + "if counting:" + _nl(28) + "n_act += 2",
        "forward: each activation counted twice",
    ),
    _cpu(
        "cpu-fwd-identity-activate",
        "if activation == IDENTITY:" + _nl(24) + "a[i] = z[i]",
        "if activation == IDENTITY:" + _nl(24) + "a[i] = _activate(z[i], activation)",
        "forward: identity goes through g as well, uncounted",
        equivalent="g(z) for the identity code is z itself, and this branch counts nothing either way: only speed "
        "changes",
    ),
    _cpu(
        "cpu-fwd-z-offset",
        "zhere = here - sizes[0]",
        "zhere = here - sizes[1]",
        "forward: pre-activations stored at the wrong columns",
    ),
    _cpu(
        "cpu-fwd-total-assign",
        "counts[FORWARD, ADD] += n_add",
        "counts[FORWARD, ADD] = n_add",
        "forward: the add total overwritten, not accumulated, over steps",
    ),
    # --- CPU kernels: backward ---------------------------------------------------------------------------------------
    _cpu(
        "cpu-out-delta-add",
        "d[i] = a[i] - y[i]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 1",
        "d[i] = a[i] - y[i]" + _nl(16) + "if counting:" + _nl(20) + "n_add += 0",
        "output delta: the subtraction a_L - y not counted",
    ),
    _cpu(
        "cpu-out-delta-loss-branch",
        "if loss == MSE and activation != IDENTITY:",
        "if activation != IDENTITY:",
        "output delta: bce multiplied by g'(z_L) too",
    ),
    _cpu(
        "cpu-out-delta-derivative-args",
        "d[i] *= _derivative(z[i], a[i], activation)",
        "d[i] *= _derivative(a[i], z[i], activation)",
        "output delta: g' given a and z swapped",
    ),
    _cpu(
        "cpu-out-delta-mul",
        "d[i] *= _derivative(z[i], a[i], activation)" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 1",
        "d[i] *= _derivative(z[i], a[i], activation)" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 0",
        "output delta: the g'(z_L) product not counted",
    ),
    _cpu(
        "cpu-hidden-layer-range",
        "for k in range(last - 1, 0, -1):",
        "for k in range(last - 1, 1, -1):",
        "hidden deltas: the first hidden layer's delta never computed",
    ),
    _cpu(
        "cpu-hidden-first-term",
        "d[j] = weights[0, j] * d_i",
        "d[j] = 0.0 * d_i",
        "hidden deltas: the first unit above dropped from W^T delta",
    ),
    _cpu(
        "cpu-hidden-dot-range",
        "for i in range(1, above):",
        "for i in range(2, above):",
        "hidden deltas: the second unit above skipped",
    ),
    _cpu(
        "cpu-hidden-dot-add",
        "d[j] += weights[i, j] * d_i" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 1" + _nl(28) + "n_add += 1",
        "d[j] += weights[i, j] * d_i" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 1" + _nl(28) + "n_add += 2",
        "hidden deltas: each addition counted twice",
    ),
    _cpu(
        "cpu-hidden-identity",
        "if activation != IDENTITY:" + _nl(20) + "a = acts[s, u_off[k]",
        "if True:" + _nl(20) + "a = acts[s, u_off[k]",
        "hidden deltas: identity multiplied by its derivative 1, counted",
    ),
    _cpu(
        "cpu-hidden-z-offset",
        "z = zs[s, u_off[k] - first : u_off[k] - first + n]",
        "z = zs[s, u_off[k] : u_off[k] + n]",
        "hidden deltas: g' reads the wrong pre-activations (relu only)",
    ),
    _cpu(
        "cpu-hidden-act-grad",
        "d[j] *= _derivative(z[j], a[j], activation)"
        + _nl(24)
        + "if counting:"
        + _nl(28)
        + "n_mul += 1"
        + _nl(28)
        + "n_grad += 1",
        "d[j] *= _derivative(z[j], a[j], activation)"
        + _nl(24)
        + "if counting:"
        + _nl(28)
        + "n_mul += 1"
        + _nl(28)
        + "n_grad += 0",
        "hidden deltas: the act_grad not counted",
    ),
    # --- CPU kernels: gradients summed over the batch -----------------------------------------------------------------
    _cpu(
        "cpu-grad-first-mul",
        "g[j] = d0 * x0[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 1",
        "g[j] = d0 * x0[j]" + _nl(20) + "if counting:" + _nl(24) + "n_mul += 0",
        "gradients: sample 0's products not counted",
    ),
    _cpu(
        "cpu-grad-rest-bound",
        "rest = 1 + (batch - 1) // 4 * 4",
        "rest = (batch - 1) // 4 * 4",
        "gradients: the left-over loop starts inside the last group of four",
    ),
    _cpu(
        "cpu-grad-quad-drop-term",
        "(((g[j] + d0 * x0[j]) + d1 * x1[j]) + d2 * x2[j]) + d3 * x3[j]",
        "((g[j] + d0 * x0[j]) + d1 * x1[j]) + d2 * x2[j]",
        "gradients: the fourth sample of a group dropped from the sum",
    ),
    _cpu(
        "cpu-grad-quad-delta-index",
        "d3 = deltas[s + 3, here - first + i]",
        "d3 = deltas[s + 2, here - first + i]",
        "gradients: the fourth sample of a group uses the third's delta",
    ),
    _cpu(
        "cpu-grad-quad-add",
        "d3 * x3[j]" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 4" + _nl(28) + "n_add += 4",
        "d3 * x3[j]" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 4" + _nl(28) + "n_add += 3",
        "gradients: a group's additions counted three, not four",
    ),
    _cpu(
        "cpu-grad-rest-start",
        "for s in range(rest, batch):",
        "for s in range(rest + 1, batch):",
        "gradients: the first left-over sample skipped",
    ),
    _cpu(
        "cpu-grad-rest-mul",
        "g[j] += d0 * x0[j]" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 1",
        "g[j] += d0 * x0[j]" + _nl(24) + "if counting:" + _nl(28) + "n_mul += 0",
        "gradients: a left-over sample's products not counted",
    ),
    _cpu(
        "cpu-grad-bias-range",
        "for s in range(1, batch):" + _nl(20) + "for i in range(n):",
        "for s in range(0, batch):" + _nl(20) + "for i in range(n):",
        "bias gradients: sample 0 added twice",
    ),
    _cpu(
        "cpu-grad-bias-add",
        "g_biases[i] += deltas[s, here - first + i]" + _nl(24) + "if counting:" + _nl(28) + "n_add += 1",
        "g_biases[i] += deltas[s, here - first + i]" + _nl(24) + "if counting:" + _nl(28) + "n_add += 2",
        "bias gradients: each addition counted twice",
    ),
    _cpu(
        "cpu-backward-total-act-grad",
        "counts[BACKWARD, ACT_GRAD] += n_grad",
        "counts[BACKWARD, ACT_GRAD] += n_mul",
        "backward: the act_grad total takes the mul counter",
    ),
    # --- CPU kernels: update ------------------------------------------------------------------------------------------
    _cpu(
        "cpu-update-sign",
        "params[p] -= lr * grads[p]",
        "params[p] += lr * grads[p]",
        "update: gradient ascent",
    ),
    _cpu(
        "cpu-update-add",
        "params[p] -= lr * grads[p]" + _nl(12) + "if counting:" + _nl(16) + "n_mul += 1" + _nl(16) + "n_add += 1",
        "params[p] -= lr * grads[p]" + _nl(12) + "if counting:" + _nl(16) + "n_mul += 1" + _nl(16) + "n_add += 2",
        "update: each subtraction counted twice",
    ),
    # --- kernel layout and g, g' shared by both backends (complexa/reference/_layout.py) ------------------------------
    Mutation(
        "layout-sigmoid",
        "kernel layout",
        LAYOUT,
        "return 1.0 / (1.0 + math.exp(-z))",
        "return 1.0 / (1.0 + math.exp(z))",
        "sigmoid of -z",
        tests=LAYOUT_TESTS,
    ),
    Mutation(
        "layout-sigmoid-derivative",
        "kernel layout",
        LAYOUT,
        "return a * (1.0 - a)",
        "return a * (1.0 + a)",
        "sigmoid's derivative a(1 + a)",
        tests=LAYOUT_TESTS,
    ),
    Mutation(
        "layout-tanh-derivative",
        "kernel layout",
        LAYOUT,
        "return 1.0 - a * a",
        "return 1.0 - a",
        "tanh's derivative 1 - a",
        tests=LAYOUT_TESTS,
    ),
    Mutation(
        "layout-relu-derivative-at-zero",
        "kernel layout",
        LAYOUT,
        "return 1.0 if z > 0.0 else 0.0",
        "return 1.0 if z >= 0.0 else 0.0",
        "relu's derivative 1 at z = 0",
        tests=LAYOUT_TESTS,
        equivalent="random data make z exactly 0 only where every unit below is a dead relu (no bias): that unit's "
        "delta then multiplies only zero activations, and the layers under it are dead with z < 0, so no gradient, "
        "parameter, output or count changes (measure exposes no delta)",
    ),
    Mutation(
        "layout-relu-at-zero",
        "kernel layout",
        LAYOUT,
        "return z if z > 0.0 else 0.0",
        "return z if z >= 0.0 else 0.0",
        "relu returns z at z = 0",
        tests=LAYOUT_TESTS,
        equivalent="at z = 0 both return zero (z itself, possibly -0.0); a signed zero changes no sum, product, "
        "gradient or count",
    ),
    Mutation(
        "layout-activation-codes",
        "kernel layout",
        LAYOUT,
        '"tanh": TANH,',
        '"tanh": SIGMOID,',
        "tanh runs as sigmoid in the kernels",
        tests=LAYOUT_TESTS,
    ),
    Mutation(
        "layout-loss-codes",
        "kernel layout",
        LAYOUT,
        'LOSS_CODES = {"mse": 0, "bce": 1}',
        'LOSS_CODES = {"mse": 0, "bce": 0}',
        "bce runs as mse in the kernels",
        tests=LAYOUT_TESTS,
    ),
    Mutation(
        "layout-offsets-no-bias",
        "kernel layout",
        LAYOUT,
        "if bias:" + _nl(16) + "offset += sizes[k]",
        "if True:" + _nl(16) + "offset += sizes[k]",
        "room for biases reserved (and updated) in a network without them",
        tests=LAYOUT_TESTS,
    ),
    Mutation(
        "layout-unit-offsets",
        "kernel layout",
        LAYOUT,
        "np.cumsum(sizes[:-1])",
        "np.cumsum(sizes[1:])",
        "layers' columns placed by the sizes above them",
        tests=LAYOUT_TESTS,
    ),
    # --- CUDA kernels (complexa/reference/_cuda.py), under numba's simulator ------------------------------------------
    _cuda(
        "cuda-fwd-first-mul",
        "acc = params[row] * acts[s, below]" + _nl(8) + "n_mul += 1",
        "acc = params[row] * acts[s, below]" + _nl(8) + "n_mul += 2",
        "forward: the first product of a dot product counted twice",
    ),
    _cuda(
        "cuda-fwd-dot-range",
        "for j in range(1, m):" + _nl(12) + "acc += params[row + j]",
        "for j in range(2, m):" + _nl(12) + "acc += params[row + j]",
        "forward: the second term of a dot product skipped",
    ),
    _cuda(
        "cuda-fwd-row-stride",
        "row = w + i * m",
        "row = w + i * n",
        "forward: W's rows strided by n, not m (right for square layers only)",
    ),
    _cuda(
        "cuda-fwd-bias-drop",
        "acc += params[b + i]" + _nl(12) + "n_add += 1",
        "acc += 0.0" + _nl(12) + "n_add += 1",
        "forward: the bias not added (still counted)",
    ),
    _cuda(
        "cuda-fwd-act-count",
        "acts[s, here + i] = _activate(acc, activation)" + _nl(12) + "n_act += 1",
        "acts[s, here + i] = _activate(acc, activation)" + _nl(12) + "n_act += 0",
        "forward: activations not counted",
    ),
    _cuda(
        "cuda-fwd-grid-stride",
        "acts.shape[0] * n, cuda.gridsize(1)):" + _nl(8) + "s = t // n" + _nl(8) + "i = t % n" + _nl(8) + "row",
        "acts.shape[0] * n, cuda.blockDim.x):" + _nl(8) + "s = t // n" + _nl(8) + "i = t % n" + _nl(8) + "row",
        "forward: a grid-stride loop that strides by a block, so blocks redo each other's work",
    ),
    _cuda(
        "cuda-fwd-atomic-slot",
        "cuda.atomic.add(counts, (FORWARD, ACT), n_act)",
        "cuda.atomic.add(counts, (FORWARD, ADD), n_act)",
        "forward: activations added to the add counter",
    ),
    _cuda(
        "cuda-out-delta-loss-branch",
        "if loss == MSE and activation != IDENTITY:",
        "if activation != IDENTITY:",
        "output delta: bce multiplied by g'(z_L) too",
    ),
    _cuda(
        "cuda-out-delta-add",
        "delta = acts[s, out + i] - targets[s, i]" + _nl(8) + "n_add += 1",
        "delta = acts[s, out + i] - targets[s, i]" + _nl(8) + "n_add += 2",
        "output delta: the subtraction counted twice",
    ),
    _cuda(
        "cuda-hidden-first-term",
        "acc = params[w + j] * deltas[s, there - shift]",
        "acc = 0.0 * deltas[s, there - shift]",
        "hidden deltas: the first unit above dropped from W^T delta",
    ),
    _cuda(
        "cuda-hidden-stride",
        "acc += params[w + i * n + j]",
        "acc += params[w + i * above + j]",
        "hidden deltas: W_{k+1} strided by its height (right for square layers only)",
    ),
    _cuda(
        "cuda-hidden-dot-add",
        "deltas[s, there - shift + i]" + _nl(12) + "n_mul += 1" + _nl(12) + "n_add += 1",
        "deltas[s, there - shift + i]" + _nl(12) + "n_mul += 1" + _nl(12) + "n_add += 0",
        "hidden deltas: additions not counted",
    ),
    _cuda(
        "cuda-hidden-act-grad",
        "acc *= _derivative(zs[s, here - shift + j], acts[s, here + j], activation)"
        + _nl(12)
        + "n_mul += 1"
        + _nl(12)
        + "n_grad += 1",
        "acc *= _derivative(zs[s, here - shift + j], acts[s, here + j], activation)"
        + _nl(12)
        + "n_mul += 1"
        + _nl(12)
        + "n_grad += 0",
        "hidden deltas: the act_grad not counted",
    ),
    _cuda(
        "cuda-hidden-host-range",
        "for k in range(last - 1, 0, -1):",
        "for k in range(last - 1, 1, -1):",
        "host: the first hidden layer's delta kernel never launched",
    ),
    _cuda(
        "cuda-grad-weight-index",
        "i = t // m" + _nl(12) + "j = t % m",
        "i = t // n" + _nl(12) + "j = t % n",
        "gradients: a weight's (i, j) from the wrong width (right for square layers only)",
    ),
    _cuda(
        "cuda-grad-batch-range",
        "for s in range(1, batch):" + _nl(16) + "acc += deltas[s, here - shift + i] * acts[s, below + j]",
        "for s in range(2, batch):" + _nl(16) + "acc += deltas[s, here - shift + i] * acts[s, below + j]",
        "gradients: the second sample left out of the weight gradients",
    ),
    _cuda(
        "cuda-grad-weight-add",
        "acts[s, below + j]" + _nl(16) + "n_mul += 1" + _nl(16) + "n_add += 1",
        "acts[s, below + j]" + _nl(16) + "n_mul += 1" + _nl(16) + "n_add += 2",
        "gradients: a weight's additions counted twice",
    ),
    _cuda(
        "cuda-grad-bias-total",
        "total = n_weights + n if bias else n_weights",
        "total = n_weights",
        "gradients: no thread computes the bias gradients",
    ),
    _cuda(
        "cuda-grad-bias-add",
        "acc += deltas[s, here - shift + i]" + _nl(16) + "n_add += 1",
        "acc += deltas[s, here - shift + i]" + _nl(16) + "n_add += 0",
        "gradients: the bias sums not counted",
    ),
    _cuda(
        "cuda-update-add",
        "params[p] -= lr * grads[p]" + _nl(8) + "n_mul += 1" + _nl(8) + "n_add += 1",
        "params[p] -= lr * grads[p]" + _nl(8) + "n_mul += 1" + _nl(8) + "n_add += 0",
        "update: the subtractions not counted",
    ),
    _cuda(
        "cuda-update-atomic-removed",
        "cuda.atomic.add(counts, (UPDATE, MUL), n_mul)",
        "pass",
        "update: the per-thread mul count never added to the totals",
    ),
    _cuda(
        "cuda-blocks-one",
        "return max(1, min(MAX_BLOCKS, -(-work // THREADS)))",
        "return 1",
        "host: every launch uses a single block",
        equivalent="every kernel is a grid-stride loop, so any grid covers all the work exactly once: one block is "
        "only slower",
    ),
    _cuda(
        "cuda-fwd-atomic-race",
        "cuda.atomic.add(counts, (FORWARD, ADD), n_add)",
        "counts[FORWARD, ADD] += n_add",
        "forward: the add total summed with a plain += that races between threads",
        gpu=True,
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
        'names = ("forward",) if phase == "forward" else exact.SECTIONS',
        'names = ("forward", "error") if phase == "forward" else exact.SECTIONS',
        "exact forward: the error section counted as forward work",
        tests=FLOPS_TESTS,
    ),
    Mutation(
        "flops-memory-pre-activations",
        "flops",
        FLOPS,
        'kept = 2 if phase == "training" else 1',
        "kept = 2",
        "memory: pre-activations kept for inference too",
        tests=FLOPS_TESTS,
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
