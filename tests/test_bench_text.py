"""benchmarks/bench_text.py: the generated documents, and a quick run that
saves each fit, tables it and resumes."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench_text(benchmark_module):
    return benchmark_module("bench_text.py")


def test_documents_are_sparse_counts_of_known_topics(bench_text):
    counts, labels = bench_text.make_documents(
        n_documents=300, n_topics=4, n_words=200, mean_length=40, random_state=0
    )
    assert counts.shape == (300, 200) and counts.format == "csr"
    assert np.array_equal(counts.data, np.round(counts.data)) and counts.data.min() > 0
    assert 0.02 < counts.nnz / (300 * 200) < 0.3
    assert 25 < counts.sum(1).mean() < 55
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    # same seed, same documents; another seed, others
    again, _ = bench_text.make_documents(
        n_documents=300, n_topics=4, n_words=200, mean_length=40, random_state=0
    )
    other, _ = bench_text.make_documents(
        n_documents=300, n_topics=4, n_words=200, mean_length=40, random_state=1
    )
    assert (again != counts).nnz == 0 and (other != counts).nnz > 0


def test_documents_of_one_topic_share_their_words(bench_text):
    # each document's words are closer to those of its topic than of others
    counts, labels = bench_text.make_documents(
        n_documents=400, n_topics=4, n_words=300, purity=0.8, random_state=2
    )
    X = counts.toarray()
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    centroids = np.stack([X[labels == k].mean(0) for k in range(4)])
    assert np.mean((X @ centroids.T).argmax(1) == labels) > 0.9


@pytest.fixture(scope="module")
def quick_text(tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("text")
    args = ["--quick", "--seeds", "2", "--models", "GMVAE", "KMeans", "--out-dir", out]
    run_benchmark("bench_text.py", *args)
    return out, args


def test_every_fit_is_saved_and_tabled(quick_text):
    out, _ = quick_text
    saved = json.loads((out / "text_quick.json").read_text())
    assert set(saved["cells"]) == {"GMVAE/0", "GMVAE/1", "KMeans/0", "KMeans/1"}
    assert saved["data"]["n_documents"] == 400
    for cell in saved["cells"].values():
        assert 0.0 < cell["accuracy"] <= 1.0 and cell["fit_seconds"] > 0
    table = (out / "text_quick.md").read_text()
    assert "| GMVAE | " in table and "| KMeans | " in table
    assert "400 documents, 300 words, 8 topics" in table


def test_a_rerun_fits_nothing_again(quick_text, run_benchmark, monkeypatch):
    import sklearn.cluster

    from skgmvae import GMVAEClustering

    out, args = quick_text

    def refuse(*args, **kwargs):
        raise AssertionError("a saved fit was run again")

    monkeypatch.setattr(sklearn.cluster.KMeans, "fit", refuse)
    monkeypatch.setattr(GMVAEClustering, "fit", refuse)
    before = (out / "text_quick.json").read_text()
    run_benchmark("bench_text.py", *args)
    assert (out / "text_quick.json").read_text() == before
