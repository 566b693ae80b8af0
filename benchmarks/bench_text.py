"""Clustering TF-IDF text: GMVAEClustering on a sparse matrix against
KMeans and TruncatedSVD + KMeans, in one run.

No text corpus can be downloaded here, so the documents are generated, with
a known topic each. ``--topics`` topics are word distributions over a
``--vocabulary`` of words (Dirichlet(0.05) draws, so each topic has a few
hundred words of its own); every document draws a topic mixture in which its
own topic has about ``--purity`` of the weight and the other topics share
the rest, mixes in a Zipf-distributed background vocabulary (a third of its
words: the stop words every topic shares), and draws a Poisson number of
words (mean ``--words``) from that mixture. The counts go through
``sklearn.feature_extraction.text.TfidfTransformer`` (l2-normalised rows,
smoothed idf), as ``TfidfVectorizer`` would give them: a CSR matrix, about
1-5 % dense.

The models, each with K = the number of topics:

- ``GMVAE``: ``GMVAEClustering(K)`` with its defaults on the CSR matrix
  (Gaussian likelihood: columns standardised with their sparse-aware mean
  and standard deviation, each minibatch made dense in turn);
- ``GMVAE-bernoulli``: the same with ``likelihood="bernoulli"`` (TF-IDF
  values lie in [0, 1]; no standardisation);
- ``SVD+GMVAE``: ``TruncatedSVD(100)``, ``Normalizer()`` and the default
  ``GMVAEClustering(K)`` on the 100 dense columns;
- ``KMeans``: ``KMeans(K, n_init=10)`` on the TF-IDF matrix;
- ``SVD+KMeans``: ``TruncatedSVD(100)``, ``Normalizer()`` and
  ``KMeans(K, n_init=10)`` (latent semantic analysis, as in scikit-learn's
  text clustering example).

Seed ``s`` draws the documents and seeds the models, so the spread covers
both. Each finished fit is saved at once in
``benchmarks/results/text[_<overrides>].json`` and a rerun skips it (a GMVAE
fit only while its parameters and the package's constants and code are unchanged);
``key=value`` arguments override GMVAE parameters. The Markdown table
(``.md`` beside the JSON) gives Hungarian accuracy as mean ± std over seeds
with the worst seed, NMI and fit seconds::

    python benchmarks/bench_text.py --seeds 3
    python benchmarks/bench_text.py --quick
"""

import argparse
import json

import numpy as np
from _common import add_run_arguments, gmvae_fingerprint, saved_cells
from bench_suite import fit_and_score

MODELS = ("GMVAE", "GMVAE-bernoulli", "SVD+GMVAE", "KMeans", "SVD+KMeans")


def make_documents(
    n_documents=2000,
    n_topics=8,
    n_words=1000,
    mean_length=60,
    purity=0.5,
    background=1 / 3,
    random_state=None,
):
    """Word counts of generated documents, each about one known topic.

    Parameters
    ----------
    n_documents, n_topics, n_words : int
        Rows, topics (the classes) and vocabulary size (columns).
    mean_length : float
        Mean number of words of a document (Poisson, at least 5).
    purity : float
        Expected share of a document's topic mixture on its own topic; the
        rest is a Dirichlet(1) draw over the other topics.
    background : float
        Share of each document's words drawn from a Zipf background
        vocabulary shared by all topics.
    random_state : int, RandomState instance or None

    Returns
    -------
    counts : scipy.sparse.csr_matrix of shape (n_documents, n_words), float64
    labels : ndarray of shape (n_documents,)
        The topic of each document.
    """
    import scipy.sparse as sp
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    topics = rng.dirichlet(np.full(n_words, 0.05), size=n_topics)
    zipf = 1.0 / np.arange(1, n_words + 1)
    zipf = zipf[rng.permutation(n_words)] / zipf.sum()
    labels = rng.randint(n_topics, size=n_documents)
    rows, cols, vals = [], [], []
    for i, label in enumerate(labels):
        others = rng.dirichlet(np.ones(n_topics - 1)) * (1 - purity)
        mixture = np.insert(others, label, purity)
        p = (1 - background) * (mixture @ topics) + background * zipf
        length = max(5, rng.poisson(mean_length))
        counts = rng.multinomial(length, p / p.sum())
        (words,) = np.nonzero(counts)
        rows.append(np.full(words.size, i))
        cols.append(words)
        vals.append(counts[words])
    counts = sp.csr_matrix(
        (
            np.concatenate(vals).astype(np.float64),
            (np.concatenate(rows), np.concatenate(cols)),
        ),
        shape=(n_documents, n_words),
    )
    return counts, labels


def load(seed, **sizes):
    """``(tfidf, labels)`` of the documents of ``seed`` (``sizes``: the
    arguments of :func:`make_documents`)."""
    from sklearn.feature_extraction.text import TfidfTransformer

    counts, labels = make_documents(random_state=seed, **sizes)
    return TfidfTransformer().fit_transform(counts).tocsr(), labels


def make_model(name, k, seed, params):
    """The estimator (or pipeline) ``name`` for ``k`` clusters."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer

    from skgmvae import GMVAEClustering

    if name == "GMVAE":
        return GMVAEClustering(k, random_state=seed, **params)
    if name == "GMVAE-bernoulli":
        return GMVAEClustering(
            k, random_state=seed, **{"likelihood": "bernoulli", **params}
        )
    lsa = (TruncatedSVD(100, random_state=seed), Normalizer())
    if name == "SVD+GMVAE":
        return make_pipeline(*lsa, GMVAEClustering(k, random_state=seed, **params))
    kmeans = KMeans(k, n_init=10, random_state=seed)
    if name == "KMeans":
        return kmeans
    return make_pipeline(*lsa, kmeans)


def markdown(cells, models, seeds, describe):
    """One row per model: accuracy mean ± std (worst seed), NMI, ARI and
    fit seconds over the seeds."""
    lines = [
        describe,
        "",
        "Hungarian accuracy: mean ± std over seeds (worst seed); NMI and ARI "
        "means; fit seconds mean.",
        "",
        "| model | accuracy | NMI | ARI | fit seconds | seeds |",
        "|---|---|---|---|---|---|",
    ]
    for model in models:
        runs = [cells.get(f"{model}/{s}") for s in range(seeds)]
        runs = [r for r in runs if r is not None]
        if not runs:
            continue
        acc = np.array([r["accuracy"] for r in runs])
        lines.append(
            f"| {model} | {acc.mean():.3f} ± {acc.std():.3f} ({acc.min():.3f}) | "
            f"{np.mean([r['nmi'] for r in runs]):.3f} | "
            f"{np.mean([r['ari'] for r in runs]):.3f} | "
            f"{np.mean([r['fit_seconds'] for r in runs]):.1f} | {len(runs)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--topics", type=int, default=8)
    parser.add_argument("--vocabulary", type=int, default=1000)
    parser.add_argument("--words", type=float, default=60)
    parser.add_argument("--purity", type=float, default=0.5)
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    params = dict(args.overrides)
    if args.quick:
        params = {"max_iter": 2, "pretrain_epochs": 2, **params}
    sizes = dict(
        n_documents=args.documents,
        n_topics=args.topics,
        n_words=args.vocabulary,
        mean_length=args.words,
        purity=args.purity,
    )
    if args.quick:
        sizes.update(n_documents=400, n_words=300)
    path, cells = saved_cells(args.out_dir, "text", args.overrides, args.quick)
    stored = json.loads(path.read_text()) if path.exists() else {}
    if stored.get("data") not in (None, sizes):
        cells = {}  # other documents: start again
    current = gmvae_fingerprint(make_model("GMVAE", 2, 0, params))
    describe = ""
    for seed in range(args.seeds):
        X, y = load(seed, **sizes)
        describe = (
            f"{X.shape[0]:,} documents, {X.shape[1]:,} words, {args.topics} topics; "
            f"TF-IDF {100 * X.nnz / np.prod(X.shape):.1f} % dense (seed {seed})."
        )
        print(describe, flush=True)
        for model in args.models:
            key = f"{model}/{seed}"
            if key in cells and (
                "GMVAE" not in model or cells[key].get("gmvae") == current
            ):
                continue
            est = make_model(model, args.topics, seed, params)
            cells[key] = fit_and_score(est, X, y)
            if "GMVAE" in model:
                cells[key]["gmvae"] = current
            done = cells[key]
            print(
                f"{key}: accuracy {done['accuracy']:.3f} NMI {done['nmi']:.3f} "
                f"({done['fit_seconds']:.1f}s)",
                flush=True,
            )
            payload = {"params": params, "data": sizes, "cells": cells}
            path.write_text(json.dumps(payload, indent=2))
    models = [m for m in MODELS if any(k.startswith(f"{m}/") for k in cells)]
    table = markdown(cells, models, args.seeds, describe.rsplit(" (seed", 1)[0] + ".")
    path.with_suffix(".md").write_text(table)
    print(table)
    return cells


if __name__ == "__main__":
    main()
