"""Benchmark data: readers for the MNIST-style IDX files, and the spiral toy
data of the GMVAE paper. Nothing here downloads; the IDX files are read from
a directory the caller names."""

import gzip
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

_IDX_TYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path):
    """Read one IDX file (optionally gzip-compressed) into a NumPy array.

    Parameters
    ----------
    path : str or path-like
        File in the IDX format: two zero bytes, a type byte, the number of
        dimensions, one big-endian uint32 per dimension, then the values.

    Returns
    -------
    array : ndarray
        With the file's shape and dtype.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: the header announces shape {shape} ({expected} bytes) but "
            f"the file holds {len(raw) - header} bytes of data."
        )
    return (
        np.frombuffer(raw, dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def load_idx_dataset(data_dir, subset="all", *, flatten=True, scale=True):
    """Load MNIST or Fashion-MNIST from their original IDX files.

    Parameters
    ----------
    data_dir : str or path-like
        Directory holding ``train-images-idx3-ubyte.gz`` and the three
        other files of the data set (for example ``mnist/`` in the data
        directory).
    subset : {"train", "test", "all"}, default="all"
        The 60,000 training images, the 10,000 test images, or all 70,000
        (training first).
    flatten : bool, default=True
        Return images as rows of 784 pixels instead of 28 x 28 arrays.
    scale : bool, default=True
        Return float32 pixels in [0, 1] instead of uint8 in [0, 255].

    Returns
    -------
    X : ndarray of shape (n_samples, 784) or (n_samples, 28, 28)
    y : ndarray of shape (n_samples,)
        Class labels 0-9.
    """
    data_dir = Path(data_dir)
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all'; got {subset!r}.")
    names = ["train", "test"] if subset == "all" else [subset]
    Xs, ys = [], []
    for name in names:
        images, labels = (data_dir / f for f in _SPLITS[name])
        for f in (images, labels):
            if not f.is_file():
                raise FileNotFoundError(
                    f"{f} not found: data_dir must hold the four original IDX files "
                    "(train-images-idx3-ubyte.gz, ...)."
                )
        Xs.append(read_idx(images))
        ys.append(read_idx(labels))
    X, y = np.concatenate(Xs), np.concatenate(ys).astype(np.int64)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{data_dir}: {X.shape[0]} images but {y.shape[0]} labels.")
    if flatten:
        X = X.reshape(X.shape[0], -1)
    if scale:
        X = X.astype(np.float32) / np.float32(255.0)
    return X, y


def make_spiral(n_samples=5000, *, n_arms=5, noise=0.05, turns=0.75, random_state=None):
    """Points on ``n_arms`` spiral arms in 2-D, the paper's toy data.

    Every arm leaves the centre at its own angle and winds outwards; points
    are spread uniformly along the arm and perturbed by Gaussian noise. The
    arms are curved, so no mixture of Gaussians in the input space separates
    them.

    Parameters
    ----------
    n_samples : int, default=5000
        Number of points, shared as evenly as possible between the arms.
    n_arms : int, default=5
        Number of arms (true clusters).
    noise : float, default=0.05
        Standard deviation of the Gaussian noise, relative to the radius 1 of
        the spiral.
    turns : float, default=0.75
        How many full turns each arm makes.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        Arm of each point.
    """
    if n_arms < 1 or n_samples < n_arms:
        raise ValueError("need n_arms >= 1 and n_samples >= n_arms.")
    rng = check_random_state(random_state)
    y = np.arange(n_samples) % n_arms
    t = np.sqrt(rng.uniform(0.05, 1.0, n_samples))  # uniform along the arm's area
    angle = 2 * np.pi * (y / n_arms + turns * t)
    X = np.column_stack([t * np.cos(angle), t * np.sin(angle)])
    X += noise * rng.standard_normal(X.shape)
    order = rng.permutation(n_samples)
    return X[order], y[order]
