"""GMVAEClustering vs KMeans and GaussianMixture on MNIST or Fashion-MNIST.

Reads the original IDX files (``--data-dir``, by default the data directory,
``$SKGMVAE_DATA``), fits every model on the chosen subset and reports
Hungarian accuracy, NMI and ARI against the true classes, mean ± std over
seeds, and the worst seed. Writes ``benchmarks/results/<dataset>_<subset>_K<k>.json``.

Usage::

    python benchmarks/bench_mnist.py [--dataset mnist] [--subset test] [--seeds 5]
                                     [--n-components 10] [key=value ...]
    python benchmarks/bench_mnist.py --quick    # 2,000 test images, 1 seed, few epochs
"""

import argparse
from pathlib import Path

from _common import add_dataset_argument, add_run_arguments, report

from skgmvae.__main__ import compare_models
from skgmvae.datasets import load_idx_dataset


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_dataset_argument(parser)
    parser.add_argument("--subset", default="test", choices=["train", "test", "all"])
    add_run_arguments(parser)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-components", type=int, default=10)
    args = parser.parse_args(argv)
    params = {"likelihood": "bernoulli", **dict(args.overrides)}
    X, y = load_idx_dataset(Path(args.data_dir) / args.dataset, subset=args.subset)
    seeds = args.seeds
    if args.quick:
        X, y, seeds = X[:2000], y[:2000], 1
        params.setdefault("max_iter", 3)
        params.setdefault("pretrain_epochs", 3)
    print(f"{args.dataset} {args.subset}: {X.shape[0]} images; K = {args.n_components}")
    results = compare_models(X, y, args.n_components, seeds, params=params)
    tag = f"{args.dataset}_{args.subset}_K{args.n_components}" + (
        "_quick" if args.quick else ""
    )
    report(
        results,
        Path(args.out_dir) / f"{tag}.json",
        dataset=args.dataset,
        subset=args.subset,
        n_samples=int(X.shape[0]),
        n_components=args.n_components,
        params=params,
        seeds=seeds,
    )
    return results


if __name__ == "__main__":
    main()
