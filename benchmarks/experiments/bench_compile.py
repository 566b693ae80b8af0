"""What ``torch.compile`` would save on a training step of the default network.

The step of an ELBO epoch on all 70,000 MNIST images, as a default fit with
``likelihood="bernoulli"`` takes it: the network of the defaults (784
inputs, K = 10), the minibatch size and the dtype of the products that
"auto" gives on this machine for 70,000 rows, one Monte Carlo draw, the
loss of the ELBO phase, its backward pass and the fused Adam update. The
rows are random binary pixels: the time of a step does not depend on them.

The forward pass and loss, compiled by ``torch.compile`` (inductor, shapes
fixed), are timed against the same code run eagerly, in alternating blocks
of steps so that both see the same machine load; the first compiled call
is timed on its own (with an empty compile cache unless ``--warm-cache``).
The table projects both onto one default fit: the steps of its ELBO epochs
on 70,000 rows (50) and the seconds they would save, beside the compile time a
fit would pay first (a fit would compile a second graph for each epoch's
shorter last minibatch, which is not counted). Usage::

    python benchmarks/experiments/bench_compile.py [--blocks 5] [--steps 200]

Writes ``benchmarks/experiments/results/compile.{json,md}``
(``compile_quick`` with ``--quick``: one block of 10 steps;
``_warm-cache`` added with ``--warm-cache``).
"""

import argparse
import math
import os
import sys
import tempfile
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


def make_step(compiled):
    """``(run, setup)``: ``run(n)`` takes ``n`` training steps and returns
    the seconds they took; ``setup`` describes the step."""
    import torch

    from skgmvae import _elbo
    from skgmvae._utils import mixed_precision

    parts = elbo_step_parts(FIT_ROWS, N_FEATURES)

    def loss_of(y, noise):
        with mixed_precision("cpu", parts.dtype):
            terms = parts.net.elbo_terms(y, noise)
        return _elbo.training_loss(terms, 1.0, 0.5)

    loss_fn = torch.compile(loss_of, dynamic=False) if compiled else loss_of
    setup = {"batch_size": parts.batch_size, "dtype": str(parts.dtype or torch.float32)}
    return step_runner(parts, loss_fn), setup


def measure(blocks, steps):
    """Seconds a step of each kind, per block, and the first compiled call."""
    import torch

    eager, setup = make_step(False)
    eager(5)  # warm-up
    result = {"setup": setup, "torch": torch.__version__, "threads": torch.get_num_threads()}
    try:
        compiled, _ = make_step(True)
        result["first_call_s"] = compiled(1)
        compiled(5)
    except Exception as exc:  # inductor needs a C++ compiler; report, do not fail
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        compiled = None
    result["eager_ms"], result["compiled_ms"] = [], []
    for _ in range(blocks):
        result["eager_ms"].append(1000 * eager(steps) / steps)
        if compiled is not None:
            result["compiled_ms"].append(1000 * compiled(steps) / steps)
    return result


def table(result):
    """Markdown lines of ``result``."""
    eager = np.array(result["eager_ms"])
    lines = [
        f"torch {result['torch']}, {result['threads']} threads; minibatch "
        f"{result['setup']['batch_size']}, products in {result['setup']['dtype']}.",
        "",
        "| step | ms a step, mean (min-max over blocks) |",
        "|---|---|",
        f"| eager | {eager.mean():.2f} ({eager.min():.2f}-{eager.max():.2f}) |",
    ]
    if "error" in result:
        return lines + ["", f"torch.compile failed: {result['error']}"]
    comp = np.array(result["compiled_ms"])
    lines.append(f"| compiled | {comp.mean():.2f} ({comp.min():.2f}-{comp.max():.2f}) |")
    from skgmvae import GMVAEClustering, _fitting

    epochs = _fitting.elbo_epochs(GMVAEClustering(), FIT_ROWS)
    fit_steps = epochs * math.ceil(FIT_ROWS / result["setup"]["batch_size"])
    saved = fit_steps * (eager.mean() - comp.mean()) / 1000
    lines += [
        "",
        f"Compiled steps take {comp.mean() / eager.mean():.2f} times the eager time. "
        f"Over the {fit_steps:,} steps of {epochs} ELBO epochs on {FIT_ROWS:,} rows "
        f"they would save {saved:.1f} s; the first compiled call took "
        f"{result['first_call_s']:.1f} s.",
    ]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="one block of 10 steps")
    parser.add_argument(
        "--warm-cache", action="store_true", help="keep inductor's compile cache"
    )
    parser.add_argument("--out-dir", default=str(EXPERIMENT_RESULTS))
    args = parser.parse_args(argv)
    if args.quick:
        args.blocks, args.steps = 1, 10
    with tempfile.TemporaryDirectory() as cache:
        if not args.warm_cache:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
        result = measure(args.blocks, args.steps)
    stem = "compile_quick" if args.quick else "compile"
    if args.warm_cache:
        stem += "_warm-cache"
    return write_result(args.out_dir, stem, result, table(result))


if __name__ == "__main__":
    main()
