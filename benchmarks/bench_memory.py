"""Peak memory of fit and predict as the number of rows grows.

The rows live in a memory-mapped ``.npy`` file (float32, ``--features``
columns, three noisy groups), so the data itself is file-backed and does not
count as the process's own (anonymous) memory. Each measurement runs in a
fresh process, which samples ``RssAnon`` from ``/proc/self/status`` every few
milliseconds: the peak minus the value just before the call is the working
memory the call needed beyond the data. ``VmHWM`` (peak resident set,
file-backed pages of the data included) is printed beside it. ``KMeans`` and
``GaussianMixture`` (diagonal) are measured the same way on the same files.

Usage::

    python benchmarks/bench_memory.py                # 1e4, 1e5, 1e6 rows; predict 2e6
    python benchmarks/bench_memory.py --quick        # 2e3 and 2e4 rows, small model
    python benchmarks/bench_memory.py --rows 1e4 1e5 --predict-rows 0
    python benchmarks/bench_memory.py --calls predict --out other.json   # predict only

Writes ``benchmarks/results/memory[_quick].json``. Linux only (reads /proc).
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("GMVAEClustering", "KMeans", "GaussianMixture")


def _status_kib(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class _PeakSampler:
    """Highest ``RssAnon`` seen while the ``with`` block runs, in MiB."""

    def __init__(self, interval=0.002):
        self.interval = interval

    def __enter__(self):
        self.start = self.peak = _status_kib("RssAnon")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _status_kib("RssAnon"))
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status_kib("RssAnon"))

    @property
    def extra_mib(self):
        return (self.peak - self.start) / 1024


def _make_data(path, n_rows, n_features, seed=0, block=65536):
    """Write ``n_rows`` float32 rows in three groups to a .npy file by blocks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, size=(3, n_features)).astype(np.float32)
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(n_rows, n_features)
    )
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        labels = rng.integers(0, 3, size=stop - start)
        out[start:stop] = centers[labels] + rng.normal(
            0, 0.5, size=(stop - start, n_features)
        )
    out.flush()
    del out


def _model(name, quick):
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    from skgmvae import GMVAEClustering

    if name == "KMeans":
        return KMeans(n_clusters=10, n_init=1, max_iter=5, random_state=0)
    if name == "GaussianMixture":
        return GaussianMixture(10, covariance_type="diag", max_iter=2, random_state=0)
    extra = {"hidden_layer_sizes": (64,)} if quick else {}
    return GMVAEClustering(
        n_components=10,
        max_iter=1,
        pretrain_epochs=1,
        batch_size=256,
        random_state=0,
        **extra,
    )


def _child(args):
    """Measure one call in this process and print a JSON line."""
    import numpy as np

    X = np.load(args.file, mmap_mode="r")
    model = _model(args.model, args.quick)
    if args.what == "predict":
        model.fit(np.array(X[:2000]))
    tic = time.perf_counter()
    with _PeakSampler() as sampler:
        if args.what == "fit":
            model.fit(X)
        else:
            model.predict(X)
    seconds = time.perf_counter() - tic
    result = {
        "model": args.model,
        "what": args.what,
        "rows": int(X.shape[0]),
        "features": int(X.shape[1]),
        "data_mib": X.nbytes / 2**20,
        "extra_mib": sampler.extra_mib,
        "peak_rss_mib": _status_kib("VmHWM") / 1024,
        "seconds": seconds,
    }
    print(json.dumps(result))


def _measure(file, model, what, quick):
    cmd = [
        sys.executable,
        __file__,
        "--child",
        what,
        "--model",
        model,
        "--file",
        str(file),
    ]
    if quick:
        cmd.append("--quick")
    # the child imports skgmvae from this checkout even when it is not installed
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{model} {what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _print_row(r):
    per_row = r["extra_mib"] * 2**20 / r["rows"]
    print(
        f"{r['model']:<16} {r['what']:<8} {r['rows']:>9,} rows  data {r['data_mib']:8.0f} MiB  "
        f"extra {r['extra_mib']:8.1f} MiB ({per_row:6.1f} B/row)  "
        f"peak RSS {r['peak_rss_mib']:8.0f} MiB  {r['seconds']:7.1f} s",
        flush=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=float, nargs="+", default=None)
    parser.add_argument("--predict-rows", type=float, default=None)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument(
        "--calls", nargs="+", default=["fit", "predict"], choices=["fit", "predict"]
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--work-dir", default=None, help="where the data files go")
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", choices=["fit", "predict"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.what = args.child
        return _child(args)

    import tempfile

    rows = args.rows or ([2e3, 2e4] if args.quick else [1e4, 1e5, 1e6])
    predict_rows = args.predict_rows
    if predict_rows is None:
        predict_rows = 0 if args.quick else 2e6
    features = 64 if args.quick and args.features == 784 else args.features
    name = "memory_quick.json" if args.quick else "memory.json"
    out = Path(args.out or ROOT / "benchmarks" / "results" / name)
    results = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        jobs = [(int(n), args.calls) for n in rows]
        if predict_rows and "predict" in args.calls:
            jobs.append((int(predict_rows), ("predict",)))
        for n, whats in jobs:
            file = Path(tmp) / f"x{n}.npy"
            _make_data(file, n, features)
            for what in whats:
                for model in args.models:
                    r = _measure(file, model, what, args.quick)
                    _print_row(r)
                    results.append(r)
            file.unlink()
    print(
        "\nGrowth of the working memory beyond the data (extra MiB, smallest to largest n):"
    )
    for model in args.models:
        for what in ("fit", "predict"):
            series = [r for r in results if r["model"] == model and r["what"] == what]
            if len(series) > 1:
                a, b = series[0], series[-1]
                print(
                    f"{model:<16} {what:<8} {a['extra_mib']:8.1f} -> {b['extra_mib']:8.1f} MiB "
                    f"for {b['rows'] / a['rows']:.0f}x the rows "
                    f"({a['data_mib']:.0f} -> {b['data_mib']:.0f} MiB of data)"
                )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"features": features, "results": results}, indent=2))
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
