"""GMVAEClustering vs KMeans and GaussianMixture on load_digits, with optional
parameter overrides, over several seeds.

Usage::

    python benchmarks/bench_digits.py [--seeds 3] [pretrain_epochs=30 max_iter=50 ...]

Prints the demo's table (mean ± std over seeds) and the worst seed, and writes
``benchmarks/results/digits[_<overrides>].json``.
"""

import argparse
from pathlib import Path

from _common import parse_override, report

from skgmvae.__main__ import run_demo


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out-dir", default=str(Path(__file__).parent / "results"))
    parser.add_argument("overrides", nargs="*", type=parse_override)
    args = parser.parse_args(argv)
    params = dict(args.overrides)
    results = run_demo(seeds=args.seeds, params=params)
    tag = "_".join(f"{k}-{v}" for k, v in sorted(params.items())).replace(" ", "")
    path = Path(args.out_dir) / (f"digits_{tag}.json" if tag else "digits.json")
    report(results, path, params=params, seeds=args.seeds)
    return results


if __name__ == "__main__":
    main()
