"""Peak memory and time of fit and predict on a sparse (CSR) matrix.

The matrix has ``--rows`` rows, ``--features`` columns and a share
``--density`` of stored values (positive, like TF-IDF), written by blocks
to an uncompressed ``.npz`` file; each measurement runs in a fresh process
that loads it, then samples ``RssAnon`` from ``/proc/self/status`` every few
milliseconds while the call runs (as ``bench_memory.py`` does). The loaded
matrix is part of the process before the call, so "extra" (peak minus the
value just before the call) is the working memory the call needed beyond
its data; it is set against the size of one dense float64 copy of the
matrix, which the estimator never makes: its minibatches and its inference
blocks are made dense one at a time. ``KMeans`` (one initialisation, five
iterations, on the CSR matrix) is measured the same way for comparison.

The GMVAE runs with the smallest settings that still run every stage of a
fit: one pretraining epoch, one ELBO epoch, one hidden layer of 64 units,
1,024 rows a minibatch, and one draw per row for the bound at the end of the
fit (``n_score_samples=1``). Predict is measured on a model fitted to the
first 2,000 rows.

Usage::

    python benchmarks/bench_memory_sparse.py                 # 1e6 x 1e4, 0.1 %
    python benchmarks/bench_memory_sparse.py --rows 1e5      # a tenth
    python benchmarks/bench_memory_sparse.py --quick         # 5e4 x 5e3

Writes ``benchmarks/results/memory_sparse[_<rows>][_quick].json``. Linux
only (reads /proc).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_memory import _PeakSampler, _status_kib

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("GMVAEClustering", "KMeans")


def _make_data(path, n_rows, n_features, density, seed=0, block=65536):
    """Write a random CSR matrix (float64 values in (0, 1]) to ``path``,
    drawn by blocks of rows."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    blocks = []
    for start in range(0, n_rows, block):
        rows = min(block, n_rows - start)
        per_row = rng.binomial(n_features, density, size=rows)
        indptr = np.concatenate([[0], np.cumsum(per_row)])
        indices = rng.integers(0, n_features, size=indptr[-1])
        data = 1.0 - rng.random(indptr[-1])
        part = sp.csr_matrix((data, indices, indptr), shape=(rows, n_features))
        part.sum_duplicates()
        blocks.append(part)
    X = sp.vstack(blocks, format="csr")
    sp.save_npz(path, X, compressed=False)
    return X.nnz


def _model(name):
    from sklearn.cluster import KMeans

    from skgmvae import GMVAEClustering

    if name == "KMeans":
        return KMeans(n_clusters=10, n_init=1, max_iter=5, random_state=0)
    return GMVAEClustering(
        n_components=10,
        hidden_layer_sizes=(64,),
        max_iter=1,
        pretrain_epochs=1,
        batch_size=1024,
        n_score_samples=1,
        random_state=0,
    )


def _child(args):
    """Measure one call in this process and print a JSON line."""
    import warnings

    import scipy.sparse as sp

    X = sp.load_npz(args.file).tocsr()
    model = _model(args.model)
    warnings.simplefilter("ignore")
    if args.what == "predict":
        model.fit(X[:2000])
    tic = time.perf_counter()
    with _PeakSampler() as sampler:
        if args.what == "fit":
            model.fit(X)
        else:
            model.predict(X)
    seconds = time.perf_counter() - tic
    n, d = X.shape
    result = {
        "model": args.model,
        "what": args.what,
        "rows": int(n),
        "features": int(d),
        "nnz": int(X.nnz),
        "data_mib": (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20,
        "dense_float64_mib": n * d * 8 / 2**20,
        "extra_mib": sampler.extra_mib,
        "peak_rss_mib": _status_kib("VmHWM") / 1024,
        "seconds": seconds,
    }
    print(json.dumps(result))


def _measure(file, model, what):
    cmd = [sys.executable, __file__, "--child", what, "--model", model, "--file", file]
    # the child imports skgmvae from this checkout even when it is not installed
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{model} {what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print_row(r):
    print(
        f"{r['model']:<16} {r['what']:<8} {r['rows']:>9,} x {r['features']:,} "
        f"({r['nnz']:,} stored)  CSR {r['data_mib']:7.0f} MiB  "
        f"dense float64 {r['dense_float64_mib']:9,.0f} MiB  "
        f"extra {r['extra_mib']:7.1f} MiB  peak RSS {r['peak_rss_mib']:7.0f} MiB  "
        f"{r['seconds']:7.1f} s",
        flush=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=float, default=None)
    parser.add_argument("--features", type=int, default=None)
    parser.add_argument("--density", type=float, default=0.001)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument(
        "--calls", nargs="+", default=["fit", "predict"], choices=["fit", "predict"]
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--work-dir", default=None, help="where the data file goes")
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", choices=["fit", "predict"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.what = args.child
        return _child(args)

    import tempfile

    rows = int(args.rows or (5e4 if args.quick else 1e6))
    features = args.features or (5_000 if args.quick else 10_000)
    name = "memory_sparse"
    if args.rows:
        name += f"_{rows}"
    name += "_quick" if args.quick else ""
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"{name}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        file = Path(tmp) / "x.npz"
        tic = time.perf_counter()
        nnz = _make_data(file, rows, features, args.density)
        print(
            f"{rows:,} x {features:,} CSR, {nnz:,} stored values, written in "
            f"{time.perf_counter() - tic:.0f} s",
            flush=True,
        )
        for what in args.calls:
            for model in args.models:
                r = _measure(file, model, what)
                _print_row(r)
                results.append(r)
                # saved as each call finishes
                payload = {"density": args.density, "results": results}
                out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
