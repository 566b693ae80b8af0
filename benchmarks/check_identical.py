"""Check that a change to the code leaves every fitted result unchanged, bit
for bit.

``--save FILE`` fits a fixed set of configurations on ``load_digits`` and
stores what each fitted model returns (``labels_``, ``predict_proba``,
``transform``, ``score_samples``, ``sample``, the history without its
timings, ``lower_bound_``, ``n_iter_``, ``converged_``) in an ``.npz`` file;
``--compare FILE`` fits them again and reports every array that differs in
any bit. Run ``--save`` before a refactoring and ``--compare`` after each
step of it: a refactoring must leave the file unchanged.

The quick set (the default) covers every training path in short fits: ten
seeds of a short default fit with early stopping, ``grow_from``,
``warm_start``, ``partial_fit``, ``n_init``, the Bernoulli likelihood with a
decaying step size and two Monte Carlo samples. ``--full`` adds ten seeds of
the default estimator (about 20 s a fit on two cores)::

    python benchmarks/check_identical.py --save /tmp/before.npz
    python benchmarks/check_identical.py --compare /tmp/before.npz
"""

import argparse
import sys
import warnings

import numpy as np

SHORT = dict(max_iter=8, pretrain_epochs=3, kl_warmup=3, n_iter_no_change=2, tol=1e-2)


def configurations(full):
    """``name -> (parameters, how)``; ``how`` is "fit", "warm" or "partial"."""
    out = {}
    for seed in range(10):
        out[f"short-{seed}"] = (dict(SHORT, random_state=seed), "fit")
    small = dict(max_iter=6, pretrain_epochs=2, random_state=1)
    out["grow_from"] = (dict(small, grow_from=4, n_iter_no_change=2, tol=1e-2), "fit")
    out["warm_start"] = (dict(small, max_iter=3, warm_start=True), "warm")
    out["partial_fit"] = (dict(small, kl_warmup=2), "partial")
    out["n_init"] = (dict(small, n_init=2, n_components=5), "fit")
    out["bernoulli"] = (
        dict(
            small,
            likelihood="bernoulli",
            learning_rate_decay=0.5,
            n_mc_samples=2,
            random_state=2,
        ),
        "bernoulli",
    )
    if full:
        for seed in range(10):
            out[f"defaults-{seed}"] = (dict(random_state=seed), "fit")
    return out


def run(params, how, X):
    """Fit one configuration and return its results as named arrays."""
    from skgmvae import GMVAEClustering

    model = GMVAEClustering(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "fit":
            model.fit(X)
        elif how == "bernoulli":
            X = X / 16.0
            model.fit(X)
        elif how == "warm":
            model.fit(X)
            model.fit(X)
        else:
            for chunk in np.array_split(X, 3):
                model.partial_fit(chunk)
    sampled, sampled_labels = model.sample(5)
    out = {
        "labels_": model.labels_,
        "predict_proba": model.predict_proba(X),
        "transform": model.transform(X),
        "score_samples": model.score_samples(X),
        "sample": sampled,
        "sample_labels": sampled_labels,
        "lower_bound_": np.array(model.lower_bound_),
        "n_iter_": np.array(model.n_iter_),
        "converged_": np.array(model.converged_),
    }
    keys = sorted({k for record in model.history_ for k in record} - {"time", "phase"})
    phases = [record["phase"] for record in model.history_]
    out["history_phases"] = np.array(phases)
    for key in keys:
        out[f"history_{key}"] = np.array(
            [record.get(key, np.nan) for record in model.history_], dtype=float
        )
    return out


def collect(full):
    from sklearn.datasets import load_digits

    X = load_digits().data
    results = {}
    for name, (params, how) in configurations(full).items():
        for key, value in run(params, how, X).items():
            results[f"{name}/{key}"] = value
        print(f"{name}: fitted", flush=True)
    return results


def compare(saved, fresh):
    """Names of the arrays that differ (or are missing on either side)."""
    bad = []
    for key in sorted(set(saved) | set(fresh)):
        if key not in saved or key not in fresh:
            bad.append(f"{key}: missing {'before' if key not in saved else 'now'}")
            continue
        a, b = saved[key], fresh[key]
        if a.shape != b.shape or a.dtype != b.dtype:
            bad.append(f"{key}: shape/dtype {a.shape} {a.dtype} -> {b.shape} {b.dtype}")
        elif a.dtype.kind == "f":
            if not np.array_equal(np.atleast_1d(a).view(np.uint8), np.atleast_1d(b).view(np.uint8)):
                bad.append(f"{key}: largest change {np.nanmax(np.abs(a - b)):.3g}")
        elif not np.array_equal(a, b):
            bad.append(f"{key}: {int(np.sum(a != b))} entries differ")
    return bad


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", metavar="FILE", help="fit and store the results")
    group.add_argument("--compare", metavar="FILE", help="fit and compare")
    parser.add_argument("--full", action="store_true", help="add ten default fits")
    args = parser.parse_args(argv)
    fresh = collect(args.full)
    if args.save:
        np.savez(args.save, **fresh)
        print(f"saved {len(fresh)} arrays to {args.save}")
        return 0
    with np.load(args.compare) as saved:
        saved = dict(saved)
    if not args.full:
        saved = {k: v for k, v in saved.items() if not k.startswith("defaults-")}
    bad = compare(saved, fresh)
    if bad:
        print("DIFFERENT:\n  " + "\n  ".join(bad))
        return 1
    print(f"identical: {len(fresh)} arrays, every bit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
