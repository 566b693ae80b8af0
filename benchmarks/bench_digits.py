"""GMVAEClustering vs KMeans and GaussianMixture on load_digits, with optional
parameter overrides, over several seeds.

Usage::

    python benchmarks/bench_digits.py [--seeds 3] [pretrain_epochs=30 max_iter=50 ...]

Prints the demo's table (mean ± std over seeds) and the worst seed, and writes
``benchmarks/results/digits[_<overrides>].json``.
"""

import argparse
import ast
import json
from pathlib import Path

from skgmvae.__main__ import run_demo


def parse_override(text):
    key, _, value = text.partition("=")
    if not key or not _:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out-dir", default=str(Path(__file__).parent / "results"))
    parser.add_argument("overrides", nargs="*", type=parse_override)
    args = parser.parse_args(argv)
    params = dict(args.overrides)
    results = run_demo(seeds=args.seeds, params=params)
    for name, rows in results.items():
        print(f"{name:<16} worst seed accuracy {rows[:, 0].min():.3f}")
    tag = "_".join(f"{k}-{v}" for k, v in sorted(params.items())).replace(" ", "")
    path = Path(args.out_dir) / (f"digits_{tag}.json" if tag else "digits.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "params": params,
                "seeds": args.seeds,
                "columns": ["accuracy", "nmi", "ari", "fit_seconds"],
                "results": {k: v.tolist() for k, v in results.items()},
            },
            indent=2,
            default=str,
        )
    )
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()
