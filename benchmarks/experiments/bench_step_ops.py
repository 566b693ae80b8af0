"""What two ways of writing a training step cost against the usual ones.

The step of an ELBO epoch on all 70,000 MNIST images, as a default fit with
``likelihood="bernoulli"`` takes it (the network of the defaults, 784
inputs, K = 10, the minibatch size and the dtype of the products that
"auto" gives on this machine for 70,000 rows, one Monte Carlo draw, the
loss of the ELBO phase, its backward pass and the Adam update), in two
kinds that differ in one thing (``--compare``):

- ``z-terms`` (the default): how the terms of the bound that involve z are
  computed. "one node": as the package trains,
  :func:`skgmvae._elbo.mixture_terms`, one autograd node whose backward
  pass is written out; "op by op": the same arithmetic recorded operation
  by operation (:func:`skgmvae._elbo.component_log_lik_and_kl`, the
  log-softmax, :func:`skgmvae._elbo.kl_categorical_uniform`), autograd
  differentiating each operation.
- ``adam``: the optimiser. "package Adam": :class:`skgmvae._steps.Adam`,
  as the package trains (its lean step for the fused update on the CPU);
  "torch Adam": ``torch.optim.Adam(fused=True)``. The two update the same
  parameters to the same bits (``tests/test_steps.py``).

Both kinds run in one process, in alternating blocks of steps, so that both
see the same machine load; the table gives the milliseconds a step (mean,
and min-max over blocks) and the operator calls a step that torch's
profiler records (every ``aten::`` call, nested ones included), and projects
the difference onto the ELBO steps of one default fit on 70,000 rows. The
rows are random binary pixels: the time of a step does not depend on them.
The timed step leaves out what an epoch adds to each step of either kind
(the check that the loss is finite, the running sums of the terms). Usage::

    python benchmarks/experiments/bench_step_ops.py [--compare adam] [--blocks 20] [--steps 50]

Writes ``benchmarks/experiments/results/step_ops.{json,md}`` for the z
terms, ``step_ops_adam.{json,md}`` for the optimiser (``_quick`` appended
with ``--quick``: one block of 5 steps).
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import (  # noqa: E402
    EXPERIMENT_RESULTS,
    elbo_step_parts,
    step_runner,
    write_result,
)

#: Rows of the fit the savings are projected onto (its ELBO epochs are the
#: defaults' for that many rows).
FIT_ROWS = 70_000
N_FEATURES = 784
#: Each comparison: its two kinds of step (the package's way first), its
#: results file, the heading of its table's first column, and how the
#: summary names the two kinds.
COMPARISONS = {
    "z-terms": {
        "kinds": ("one node", "op by op"),
        "stem": "step_ops",
        "heading": "z terms",
        "phrases": ("the z terms in one node", "the z terms op by op"),
    },
    "adam": {
        "kinds": ("package Adam", "torch Adam"),
        "stem": "step_ops_adam",
        "heading": "optimiser",
        "phrases": ("the package's Adam", "torch's fused Adam"),
    },
}


def op_by_op_terms(y, p, likelihood):
    """:func:`skgmvae._elbo.elbo_terms` of the forward pass ``p``, with the
    z terms recorded operation by operation."""
    import torch

    from skgmvae import _elbo

    mean_x, logvar_x, mean_w, logvar_w = p.enc
    recon = _elbo.reconstruction_log_prob(y, p.decoded, likelihood).mean(0)
    log_lik, kl_x = _elbo.component_log_lik_and_kl(
        p.x, mean_x, logvar_x, p.prior_mean, p.prior_logvar
    )
    log_pz = torch.log_softmax(log_lik, dim=-1)
    cond = (log_pz.exp() * kl_x).sum(-1).mean(0)
    kl_w = _elbo.kl_standard_normal(mean_w, logvar_w)
    kl_z = _elbo.kl_categorical_uniform(log_pz).mean(0)
    terms = {"reconstruction": recon, "conditional_prior": cond}
    terms.update(w_prior=kl_w, z_prior=kl_z, log_pz=log_pz)
    return terms


def make_steps(compare="z-terms"):
    """``(steps, setup)``: ``steps[kind](n)`` takes ``n`` training steps of
    that kind of ``compare`` and returns the seconds they took."""
    import torch

    from skgmvae import _elbo
    from skgmvae._utils import mixed_precision

    def loss_of(parts, op_by_op):
        net, min_information = parts.net, parts.estimator.min_information

        def loss(y, noise):
            with mixed_precision("cpu", parts.dtype):
                if op_by_op:
                    terms = op_by_op_terms(y, net(y, noise), net.likelihood)
                else:
                    terms = net.elbo_terms(y, noise)
            return _elbo.training_loss(terms, 1.0, min_information)

        return loss

    kinds = COMPARISONS[compare]["kinds"]
    parts = elbo_step_parts(FIT_ROWS, N_FEATURES)
    setup = {"batch_size": parts.batch_size, "dtype": str(parts.dtype or torch.float32)}
    if compare == "z-terms":  # one network, its two kinds of loss
        return {
            kind: step_runner(parts, loss_of(parts, kind == "op by op")) for kind in kinds
        }, setup
    theirs = elbo_step_parts(FIT_ROWS, N_FEATURES)  # the same network, another optimiser
    lr = theirs.optimizer.param_groups[0]["lr"]
    theirs.optimizer = torch.optim.Adam(theirs.net.parameters(), lr=lr, fused=True)
    return {
        kind: step_runner(both, loss_of(both, False)) for kind, both in zip(kinds, (parts, theirs))
    }, setup


def operator_calls(run, steps):
    """Operator calls a step that torch's profiler records in ``steps`` steps."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run(steps)
    return sum(1 for event in prof.events() if event.name.startswith("aten::")) / steps


def measure(blocks, steps, compare="z-terms"):
    """Milliseconds a step of each kind of ``compare``, per block, and
    operator calls a step."""
    import torch

    kinds = COMPARISONS[compare]["kinds"]
    runs, setup = make_steps(compare)
    for run in runs.values():
        run(5)  # warm-up
    result = {"setup": setup, "torch": torch.__version__, "threads": torch.get_num_threads()}
    result["compare"] = compare
    result["ms"] = {kind: [] for kind in kinds}
    for block in range(blocks):
        order = kinds if block % 2 == 0 else kinds[::-1]  # neither always first
        for kind in order:
            result["ms"][kind].append(1000 * runs[kind](steps) / steps)
    result["operators"] = {kind: operator_calls(run, steps) for kind, run in runs.items()}
    return result


def table(result):
    """Markdown lines of ``result``."""
    from skgmvae import GMVAEClustering, _fitting

    comparison = COMPARISONS[result.get("compare", "z-terms")]
    ours, theirs = comparison["kinds"]
    lines = [
        f"torch {result['torch']}, {result['threads']} threads; minibatch "
        f"{result['setup']['batch_size']}, products in {result['setup']['dtype']}; "
        f"{len(result['ms'][ours])} alternating blocks.",
        "",
        f"| {comparison['heading']} | ms a step, mean (min-max over blocks) | median | operator calls a step |",
        "|---|---|---|---|",
    ]
    ms = {kind: np.array(values) for kind, values in result["ms"].items()}
    for kind in (ours, theirs):
        lines.append(
            f"| {kind} | {ms[kind].mean():.2f} ({ms[kind].min():.2f}-{ms[kind].max():.2f}) "
            f"| {np.median(ms[kind]):.2f} | {result['operators'][kind]:.0f} |"
        )
    epochs = _fitting.elbo_epochs(GMVAEClustering(likelihood="bernoulli"), FIT_ROWS)
    fit_steps = epochs * math.ceil(FIT_ROWS / result["setup"]["batch_size"])
    ratios = ms[ours] / ms[theirs]
    saved = fit_steps * (np.median(ms[theirs]) - np.median(ms[ours])) / 1000
    lines += [
        "",
        f"Steps with {comparison['phrases'][0]} take {np.median(ratios):.3f} times the "
        f"time with {comparison['phrases'][1]} (median over blocks of the ratio of neighbouring blocks; "
        f"{ratios.min():.3f} to {ratios.max():.3f}). Over the {fit_steps:,} steps of "
        f"{epochs} ELBO epochs on {FIT_ROWS:,} rows the medians differ by {saved:.1f} s.",
    ]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", choices=list(COMPARISONS), default="z-terms")
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="one block of 5 steps")
    parser.add_argument("--out-dir", default=str(EXPERIMENT_RESULTS))
    args = parser.parse_args(argv)
    if args.quick:
        args.blocks, args.steps = 1, 5
    result = measure(args.blocks, args.steps, args.compare)
    stem = COMPARISONS[args.compare]["stem"] + ("_quick" if args.quick else "")
    return write_result(args.out_dir, stem, result, table(result))


if __name__ == "__main__":
    main()
