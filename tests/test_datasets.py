import gzip
import hashlib

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from skgmvae.datasets import load_idx_dataset, make_spiral, read_idx


def _write_idx(path, array, type_byte=0x08):
    header = bytes([0, 0, type_byte, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(">u1" if type_byte == 0x08 else ">i4").tobytes())


def test_read_idx_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "x.gz", images)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), images)
    ints = rng.integers(-5, 5, size=(4,)).astype(np.int32)
    _write_idx(tmp_path / "i.gz", ints, type_byte=0x0C)
    np.testing.assert_array_equal(read_idx(tmp_path / "i.gz"), ints)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short.gz", np.zeros((3, 2), np.uint8))
    raw = gzip.decompress((tmp_path / "short.gz").read_bytes())[:-1]
    (tmp_path / "short").write_bytes(raw)
    with pytest.raises(ValueError, match="bytes"):
        read_idx(tmp_path / "short")


def test_load_idx_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_idx_dataset(tmp_path)
    with pytest.raises(ValueError, match="subset"):
        load_idx_dataset(tmp_path, subset="validation")


def test_mnist_test_split_from_shared_data(data_dir):
    X, y = load_idx_dataset(data_dir / "mnist", subset="test")
    assert X.shape == (10000, 784) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert np.array_equal(
        np.bincount(y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    raw, _ = load_idx_dataset(
        data_dir / "mnist", subset="test", flatten=False, scale=False
    )
    assert raw.shape == (10000, 28, 28) and raw.dtype == np.uint8
    # the label file is byte-identical to the published MNIST test labels
    digest = hashlib.md5(
        (data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    )
    assert digest.hexdigest() == "ec29112dd5afa0611ce80d1b7f02629c"


def test_fashion_mnist_labels_are_balanced(data_dir):
    _, y = load_idx_dataset(data_dir / "fashion-mnist", subset="test")
    assert np.array_equal(np.bincount(y), [1000] * 10)


def test_make_spiral_shape_and_difficulty():
    X, y = make_spiral(2000, n_arms=5, random_state=0)
    assert X.shape == (2000, 2) and y.shape == (2000,)
    assert np.array_equal(np.bincount(y), [400] * 5)
    X2, y2 = make_spiral(2000, n_arms=5, random_state=0)
    np.testing.assert_array_equal(X, X2)
    # curved arms: KMeans in the input space does not recover them
    labels = KMeans(5, n_init=4, random_state=0).fit_predict(X)
    assert adjusted_rand_score(y, labels) < 0.6
    # but the arms are separated: the nearest neighbour is almost always on the same arm
    from sklearn.neighbors import NearestNeighbors

    idx = (
        NearestNeighbors(n_neighbors=2)
        .fit(X)
        .kneighbors(X, return_distance=False)[:, 1]
    )
    assert np.mean(y[idx] == y) > 0.9
