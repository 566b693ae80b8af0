"""Training speed of GMVAEClustering on MNIST-sized input.

Prints, in one run on the current machine:

1. samples/s of ELBO training steps on 784-feature input with the authors'
   MNIST architecture (hidden 500-500, dim x = 200, dim w = 150, K = 14,
   prior net 500 tanh units, M = 1);
2. the GFLOP/s achieved by that step (forward + backward counted as 3x the
   multiply-adds of the forward pass's linear layers);
3. this machine's fp32 matrix-multiply GFLOP/s, measured here with torch;
4. with ``--profile``, the share of the step's time spent in matrix products
   (torch's profiler) and the rate those products run at: the most the
   step could reach if everything else took no time;
5. with ``--precision bfloat16`` (or ``auto``: bfloat16 where the CPU has
   it in hardware, as the estimator decides for large data), the same
   steps with the networks' matrix products in bfloat16, as
   ``GMVAEClustering(precision=...)`` trains; the rates are still counted
   against the fp32 matmul rate;
6. with ``--interleave B``, the step's rate as a fraction of the matmul
   rate measured in B alternating blocks (a block of steps, then a block
   of 2048 x 2048 products, and again): the median of the blocks'
   fractions, which moves far less with the host's speed of the day than
   the fraction of one best-of-five matmul figure measured once;
7. with ``--epochs N``, the seconds of one pretraining epoch and one ELBO
   epoch of the estimator's default network (K = 10, Bernoulli) over N
   random 784-feature rows at 256 rows a minibatch, through the training
   loop itself: on a CUDA device once with the steps replayed from CUDA
   graphs and once launched kernel by kernel.

Results go to ``benchmarks/results/bench_speed.json``.

Usage::

    python benchmarks/bench_speed.py [--batch-sizes 50 256] [--steps 100] [--device cpu] [--profile]
                                     [--epochs 70000] [--precision bfloat16] [--interleave 20]
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from skgmvae import _elbo
from skgmvae._model import build_net, init_seed_state, standard_normal
from skgmvae._train import make_optimizer
from skgmvae._utils import mixed_precision, training_dtype

ARCH = dict(
    n_features=784,
    n_components=14,
    latent_dim=200,
    noise_dim=150,
    hidden_layer_sizes=(500, 500),
    prior_hidden=500,
    likelihood="bernoulli",
)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(device, n=2048, repeats=20):
    """Best-of-5 fp32 GFLOP/s of an n x n matrix product."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device)
    b = torch.randn(n, n, generator=g).to(device)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(5):
        _sync(device)
        tic = time.perf_counter()
        for _ in range(repeats):
            a @ b
        _sync(device)
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - tic) / 1e9)
    return best


def training_step(device, batch_size, dtype=None):
    """One full training step (forward, backward, Adam) of the ARCH network
    on a fixed set of random rows, as a function of the step number, and
    the FLOPs it counts; ``dtype``: that of the matrix products (None:
    float32)."""
    net = build_net(ARCH, 0).to(device)
    opt = make_optimizer(net, 1e-4)
    gen = init_seed_state(0)
    X = torch.rand(batch_size * 8, 784, generator=gen).to(device)

    noise_shape = (1, batch_size, net.latent_dim + net.noise_dim)

    def step(i):
        y = X[(i % 8) * batch_size : (i % 8 + 1) * batch_size]
        with mixed_precision(device, dtype):
            terms = net.elbo_terms(y, standard_normal(noise_shape, gen, device))
        loss = _elbo.training_loss(terms, 1.0, 0.5)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step, 3 * net.flops_per_row() * batch_size


def training_rate(device, batch_size, steps, dtype=None):
    """Samples/s and GFLOP/s of full training steps (forward, backward, Adam)."""
    step, flops_step = training_step(device, batch_size, dtype)
    for i in range(10):
        step(i)
    rates = []
    for _ in range(3):
        _sync(device)
        tic = time.perf_counter()
        for i in range(steps):
            step(i)
        _sync(device)
        rates.append(steps * batch_size / (time.perf_counter() - tic))
    best = max(rates)
    return best, best / batch_size * flops_step / 1e9


def interleaved_fractions(device, batch_size, steps, blocks, dtype=None, n=2048):
    """The step's GFLOP/s as a fraction of the fp32 matmul rate, once per
    block: ``steps`` training steps, then as many seconds' worth of
    ``n x n`` products, timed back to back ``blocks`` times, so that both
    rates of a block see the same state of the host."""
    step, flops_step = training_step(device, batch_size, dtype)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device)
    b = torch.randn(n, n, generator=g).to(device)
    for i in range(10):
        step(i)
    a @ b
    fractions = []
    for _ in range(blocks):
        _sync(device)
        tic = time.perf_counter()
        for i in range(steps):
            step(i)
        _sync(device)
        step_rate = steps * flops_step / (time.perf_counter() - tic)
        repeats = max(1, round(steps * flops_step / (2 * n**3)))
        tic = time.perf_counter()
        for _ in range(repeats):
            a @ b
        _sync(device)
        fractions.append(step_rate / (2 * n**3 * repeats / (time.perf_counter() - tic)))
    return fractions


def default_arch():
    """The network a default fit builds for 784 features, K = 10, Bernoulli."""
    from skgmvae import GMVAEClustering

    params = GMVAEClustering().get_params()
    sizes = ("latent_dim", "noise_dim", "hidden_layer_sizes", "prior_hidden")
    arch = {key: params[key] for key in sizes}
    return dict(arch, n_features=784, n_components=10, likelihood="bernoulli")


def epoch_seconds(device, n_rows, graphs, batch_size=256, dtype=None):
    """Seconds of one pretraining and one ELBO epoch of the default network
    over ``n_rows`` random rows (each timed after one untimed epoch), with
    CUDA graphs on or off (see :mod:`skgmvae._steps`) and the matrix
    products in ``dtype`` (None: float32)."""
    from skgmvae import _steps
    from skgmvae._train import TrainingRows, elbo_epoch, pretrain_epoch

    rng = np.random.default_rng(0)
    rows = (rng.random((n_rows, 784)) < 0.2).astype(np.float32)
    X = TrainingRows(rows, None, None, device)
    net = build_net(default_arch(), 0).to(device)
    opt = make_optimizer(net, 2e-3)
    gen = init_seed_state(0)
    epochs = {
        "pretrain": lambda: pretrain_epoch(net, opt, X, batch_size, gen, dtype),
        "elbo": lambda: elbo_epoch(
            net, opt, X, batch_size, gen, 1, 1.0, 0.5, compute_dtype=dtype
        ),
    }
    saved, _steps.CUDA_GRAPHS = _steps.CUDA_GRAPHS, graphs
    try:
        seconds = {}
        for name, run in epochs.items():
            run()
            _sync(device)
            tic = time.perf_counter()
            run()
            _sync(device)
            seconds[name] = time.perf_counter() - tic
    finally:
        _steps.CUDA_GRAPHS = saved
    return seconds


MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")


def matmul_seconds(device, batch_size, steps, dtype=None):
    """Seconds per training step spent in matrix products: the self time of
    the matmul kernels in torch's profiler (which slows the many small
    operations around them, so the step itself is timed without it)."""
    from torch.profiler import ProfilerActivity, profile

    step = training_step(device, batch_size, dtype)[0]
    for i in range(5):
        step(i)
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        for i in range(steps):
            step(i)
        _sync(device)
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    products = sum(getattr(e, attr) for e in prof.key_averages() if e.key in MATMUL_OPS)
    return products / 1e6 / steps  # the profiler counts microseconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[50, 128, 512])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="few steps, for CI")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also report the share of step time spent in matrix products",
    )
    parser.add_argument(
        "--interleave",
        type=int,
        default=0,
        metavar="B",
        help="also measure the step's fraction of matmul in B alternating blocks",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=0,
        metavar="N",
        help="also time whole epochs of the default network over N rows",
    )
    parser.add_argument(
        "--precision",
        default="float32",
        choices=["float32", "bfloat16", "auto"],
        help="dtype of the matrix products in the timed steps",
    )
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "bench_speed.json")
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    steps = 5 if args.quick else args.steps
    dtype = training_dtype(args.precision, device)
    precision = "float32" if dtype is None else str(dtype).removeprefix("torch.")

    peak = matmul_gflops(device, n=512 if args.quick else 2048)
    print(
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"fp32 matmul: {peak:.1f} GFLOP/s")
    print(f"training products in {precision}")
    rows = []
    for bs in args.batch_sizes:
        rate, gflops = training_rate(device, bs, steps, dtype)
        row = {
            "batch_size": bs,
            "samples_per_s": rate,
            "train_gflops": gflops,
            "fraction_of_matmul": gflops / peak,
        }
        line = (
            f"batch {bs:>4}: {rate:>9.0f} samples/s, {gflops:>7.1f} GFLOP/s "
            f"= {100 * gflops / peak:.0f}% of matmul"
        )
        if args.profile:
            products = matmul_seconds(device, bs, steps, dtype)
            share = products / (bs / rate)
            # the rate if everything but the matrix products took no time
            ceiling = gflops / share / peak
            row["matmul_time_share"] = share
            row["products_only_fraction"] = ceiling
            line += (
                f"; matrix products {100 * share:.0f}% of the step, at "
                f"{100 * ceiling:.0f}% of matmul"
            )
        if args.interleave > 0:
            fractions = interleaved_fractions(
                device, bs, steps, args.interleave, dtype, n=512 if args.quick else 2048
            )
            row["interleaved_fractions"] = fractions
            row["interleaved_fraction"] = float(np.median(fractions))
            line += (
                f"; interleaved: {100 * np.median(fractions):.0f}% of matmul "
                f"(median of {len(fractions)} blocks, {100 * min(fractions):.0f}-"
                f"{100 * max(fractions):.0f}%)"
            )
        rows.append(row)
        print(line)
    epoch_70k = 70000 / max(r["samples_per_s"] for r in rows)
    print(f"one epoch of 70,000 MNIST images at the best batch size: {epoch_70k:.1f} s")
    epochs = []
    modes = (True, False) if device.type == "cuda" else (False,)
    for graphs in modes if args.epochs > 0 else ():
        seconds = epoch_seconds(device, args.epochs, graphs, dtype=dtype)
        epochs.append({"rows": args.epochs, "cuda_graphs": graphs, **seconds})
        print(
            f"default network, {args.epochs} rows"
            f"{', CUDA graphs' if graphs else ''}: pretraining epoch "
            f"{seconds['pretrain']:.3f} s, ELBO epoch {seconds['elbo']:.3f} s"
        )
    out = {
        "machine": platform.platform(),
        "processor": platform.processor(),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "matmul_gflops": peak,
        "precision": precision,
        "architecture": ARCH,
        "flops_per_row_forward": build_net(ARCH, 0).flops_per_row(),
        "results": rows,
        "epochs": epochs,
        "quick": args.quick,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, default=float))
    return out


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
