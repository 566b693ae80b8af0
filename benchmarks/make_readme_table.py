"""Write the results table of README.md from ``benchmarks/results``.

Reads ``<dataset>_table.json`` (written by ``bench_mnist_table.py``) for MNIST
and Fashion-MNIST and replaces the block between the ``results-table`` markers
of README.md with one row per data set, protocol and K: the paper's metric
(Hungarian accuracy for K = 10, purity for K > 10) as mean ± std over seeds
with the worst seed in brackets, for the GMVAE with M = 1 and M = 10 Monte
Carlo samples, KMeans and GaussianMixture, next to the published figures.
GMVAE fits made with the defaults of an earlier version are shown marked †
until the table script fits them again (see ``group_cells`` there).

Usage::

    python benchmarks/make_readme_table.py           # rewrite README.md
    python benchmarks/make_readme_table.py --check   # exit 1 if README.md is stale
"""

import argparse
import json
import sys
from pathlib import Path

from _common import DATASETS, PUBLISHED, ROOT, mean_std
from bench_mnist_table import STALE_NOTE, TABLE_PARAMS, group_cells

START = "<!-- results-table:start (python benchmarks/make_readme_table.py) -->"
END = "<!-- results-table:end -->"
MODELS = ("GMVAE M=1", "GMVAE M=10", "KMeans", "GaussianMixture")


def cell(values):
    if not values:
        return "–"
    return f"{mean_std(values)} ({min(values):.3f}, n={len(values)})"


def table(results_dir):
    header = "| data | protocol | K | metric | " + " | ".join(MODELS) + " | published |"
    lines = [header, "|" + "---|" * (len(MODELS) + 5)]
    found = stale = False
    for dataset, title in DATASETS.items():
        path = Path(results_dir) / f"{dataset}_table.json"
        if not path.exists():
            continue
        payload = json.loads(path.read_text())
        params = payload.get("gmvae_params", TABLE_PARAMS)
        groups = group_cells(payload["cells"], params)
        for protocol, k in sorted(
            {key[:2] for key in groups}, key=lambda g: (g[0] != "train-test", g[1])
        ):
            metric = "accuracy" if k <= 10 else "purity"
            row = []
            for model in MODELS:
                rows, old = groups.get((protocol, k, model), ([], False))
                stale = stale or old
                text = cell([c["scores"][metric] for c in rows])
                row.append(text + (" †" if old else ""))
            published = PUBLISHED.get((dataset, protocol, k), "–")
            lines.append(
                f"| {title} | {protocol} | {k} | {metric} | "
                + " | ".join(row)
                + f" | {published} |"
            )
            found = True
    if not found:
        lines.append("| (no results yet) |" + " |" * (len(MODELS) + 4))
    if stale:
        lines += ["", STALE_NOTE]
    return "\n".join(lines)


def render(readme_text, results_dir):
    if START not in readme_text or END not in readme_text:
        raise SystemExit(f"README.md lacks the markers {START!r} ... {END!r}")
    head, rest = readme_text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table(results_dir)}\n{END}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    readme = Path(args.readme)
    old = readme.read_text()
    new = render(old, args.results)
    if args.check:
        if new != old:
            print(f"{readme} is stale: run python benchmarks/make_readme_table.py")
            return 1
        print(f"{readme} is up to date")
        return 0
    readme.write_text(new)
    print(f"wrote the results table of {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
