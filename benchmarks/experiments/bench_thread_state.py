"""How work done before a fit, in the same process, changes its speed.

Denormal floats are flushed while training (``skgmvae._utils.flush_denormals``),
and the setting belongs to a thread: an OpenMP worker keeps the setting of
the thread that started it. Each measurement runs in a new Python process
that first does one of:

* ``fresh``: nothing;
* ``kmeans``: ``KMeans(3, n_init=10)`` on 150 random rows;
* ``small_fit``: a default ``GMVAEClustering`` fit of ``load_iris``;

and then times a ``GMVAEClustering`` fit of the first 20,000 MNIST images
(``likelihood="bernoulli"``, 10 pretraining epochs, one ELBO epoch, a
diagonal ``GaussianMixture`` start), with the idle OpenMP workers released
when flushing starts (``release``, the default) and without
(``RELEASE_OPENMP_WORKERS`` off in that process). The table gives the fit
seconds, mean over the repeats (min-max). Usage::

    python benchmarks/experiments/bench_thread_state.py [--repeats 2]

Writes ``benchmarks/experiments/results/thread_state.{json,md}``
(``thread_state_quick`` with ``--quick``: 2,000 images, one pretraining
epoch).
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import DATA_DIR, EXPERIMENT_RESULTS  # noqa: E402

BEFORE = ("fresh", "kmeans", "small_fit")


def child(before, release, quick, data_dir):
    """Do ``before``, then time the fit; print its seconds."""
    import warnings

    warnings.simplefilter("ignore")
    from skgmvae import GMVAEClustering, _utils
    from skgmvae.datasets import load_idx_dataset

    _utils.RELEASE_OPENMP_WORKERS = release
    if before == "kmeans":
        from sklearn.cluster import KMeans

        KMeans(3, n_init=10, random_state=0).fit(np.random.default_rng(0).random((150, 4)))
    elif before == "small_fit":
        from sklearn.datasets import load_iris

        GMVAEClustering(3, random_state=0).fit(load_iris().data)
    X, _ = load_idx_dataset(Path(data_dir) / "mnist", subset="all")
    X = X[: 2000 if quick else 20000]
    model = GMVAEClustering(
        10,
        likelihood="bernoulli",
        random_state=0,
        max_iter=1,
        pretrain_epochs=1 if quick else 10,
        init_params="gmm",
    )
    tic = time.perf_counter()
    model.fit(X)
    print(json.dumps({"seconds": time.perf_counter() - tic}))


def measure(before, release, quick, data_dir):
    args = [sys.executable, __file__, "--child", before, str(int(release))]
    args += ["--data-dir", str(data_dir)] + (["--quick"] if quick else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["seconds"]


def write_table(table, path):
    lines = [
        "Seconds of one fit (20,000 MNIST images, 10 pretraining epochs, one ELBO "
        "epoch) in a new process after the work in the first column, with the idle "
        "OpenMP workers released when flushing starts (release) and without: mean "
        "over the repeats (min-max).",
        "",
        "| before the fit | release | without release |",
        "|---|---|---|",
    ]
    for before in BEFORE:
        cells = []
        for key in ("release", "keep"):
            values = table[before][key]
            cells.append(f"{np.mean(values):.1f} ({min(values):.1f}-{max(values):.1f})")
        lines.append(f"| {before} | {cells[0]} | {cells[1]} |")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2,000 images, one epoch")
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--out-dir", default=str(EXPERIMENT_RESULTS))
    parser.add_argument("--child", nargs=2, metavar=("BEFORE", "RELEASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], bool(int(args.child[1])), args.quick, args.data_dir)
        return None
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ("thread_state_quick.json" if args.quick else "thread_state.json")
    table = {b: {"release": [], "keep": []} for b in BEFORE}
    for _ in range(args.repeats):  # interleaved, so that a slow spell hits every cell
        for before in BEFORE:
            for key, release in (("release", True), ("keep", False)):
                seconds = measure(before, release, args.quick, args.data_dir)
                table[before][key].append(seconds)
                print(f"{before}, {key}: {seconds:.1f} s", flush=True)
    path.write_text(json.dumps(table, indent=1))
    write_table(table, path.with_suffix(".md"))
    print(f"wrote {path.with_suffix('.md')}")
    return table


if __name__ == "__main__":
    main()
