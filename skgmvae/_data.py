"""Rows in and out of the estimator: input validation with advice on what
to do, the standardisation of the features, and blocks of rows that keep
inference memory bounded. Sparse input (CSR or CSC) is kept sparse: only
blocks of rows are made dense, one at a time."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import _check_sample_weight, check_array, validate_data

from ._train import TrainingRows, sparse_block_rows

#: Rows per block in predict / transform / score_samples.
INFERENCE_BATCH = 4096
#: Stored values of a sparse matrix read at a time for its column statistics.
SPARSE_CHUNK = 2**22

#: What to do about the input errors of scikit-learn's validation, keyed by a
#: piece of its message.
_INPUT_HINTS = (
    (
        "contains infinity",
        "Drop or replace the infinite values first, e.g. keep the rows "
        "np.isfinite(X).all(axis=1).",
    ),
    (
        "could not convert",
        "GMVAEClustering needs numeric features: encode text or categorical "
        "columns first (e.g. sklearn.preprocessing.OneHotEncoder in a "
        "ColumnTransformer) or drop them.",
    ),
    (
        "is expecting",
        "Pass the same columns, in the same order, as in fit, or fit again on "
        "the new columns.",
    ),
    (
        "feature names should match",
        "Pass the columns named in feature_names_in_, or fit again on the new columns.",
    ),
    ("sample(s)", "Pass more rows: fit needs at least 2, predict at least 1."),
    ("feature(s)", "X needs at least one column."),
)


def sparse_input_error(exc):
    """``exc``, a ValueError of the validation of a sparse matrix, with what
    to do about it (or ``exc`` itself when there is nothing to add)."""
    message = str(exc)
    for key, what in (("contains NaN", "NaN"), ("contains infinity", "infinity")):
        if key in message:
            return ValueError(
                f"Input X is a sparse matrix whose stored values (X.data) "
                f"contain {what}. GMVAEClustering needs finite values: replace "
                "them, e.g. X.data[~np.isfinite(X.data)] = 0 (then "
                "X.eliminate_zeros()), or drop the rows that hold them."
            )
    return input_error(exc)


def input_error(exc):
    """``exc``, a ValueError of input validation, with what to do about it
    appended (or ``exc`` itself when there is nothing to add)."""
    message = str(exc)
    if "contains NaN" in message:
        return ValueError(
            "Input X contains NaN. GMVAEClustering does not accept missing "
            "values: drop the rows that have any (X[~np.isnan(X).any(axis=1)]) "
            "or fill them in first, e.g. with sklearn.impute.SimpleImputer in a "
            "Pipeline."
        )
    for key, hint in _INPUT_HINTS:
        if key in message:
            message = message.rstrip()
            sep = "\n" if "\n" in message else " "
            return ValueError(f"{message}{sep}{hint}")
    return exc


def check_range(X, likelihood):
    """Raise unless the Bernoulli likelihood's data lie in [0, 1]."""
    if likelihood == "bernoulli" and X.size and (X.min() < 0 or X.max() > 1):
        raise ValueError(
            "likelihood='bernoulli' needs every value of X in [0, 1] (found "
            f"values in [{X.min():.4g}, {X.max():.4g}]). Scale the data, for "
            "example X / 255 for 8-bit images, or use likelihood='gaussian'."
        )


def validate(estimator, X, reset, min_samples=1):
    """``validate_data`` for float input, with advice on errors and the
    likelihood's range check.

    A sparse matrix or array comes back as a CSR matrix in canonical format
    (sorted indices, no duplicates; copied only when it is not CSR or not
    canonical); its stored values are checked, never densified.
    """
    sparse = sp.issparse(X)
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],
            ensure_min_samples=min_samples,
        )
    except ValueError as exc:
        better = sparse_input_error(exc) if sparse else input_error(exc)
        if better is exc:
            raise
        raise better from None
    if sp.issparse(X):
        X = canonical_csr(X)
    check_range(X, estimator.likelihood)
    return X


def check_weights(sample_weight, X, min_rows):
    """Validate ``sample_weight`` for the rows of ``X``.

    Returns ``(rows, weights)``: the indices of the rows with a positive
    weight (None when every row has one), and their weights divided by their
    mean (None when they are all equal, which trains exactly as no weights).

    Raises
    ------
    ValueError
        For weights that are negative, not finite, of the wrong shape, or
        positive on fewer than ``min_rows`` rows.
    """
    if sample_weight is None:
        return None, None
    try:
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True,
            allow_all_zero_weights=True,
        )
    except ValueError as exc:
        raise ValueError(
            f"{str(exc).rstrip()} sample_weight must hold one finite, non-negative "
            f"weight per row of X ({X.shape[0]} rows)."
        ) from None
    positive = weights > 0
    n_positive = int(positive.sum())
    if n_positive < min_rows:
        raise ValueError(
            f"sample_weight is zero on all but {n_positive} rows; fitting needs a "
            f"positive weight on at least {min_rows}. Rows of weight 0 are left "
            "out of training."
        )
    rows = None if n_positive == len(weights) else np.flatnonzero(positive)
    weights = weights[positive]
    if np.all(weights == weights[0]):
        return rows, None
    return rows, weights / weights.mean()


def canonical_csr(X):
    """``X`` as a ``scipy.sparse.csr_matrix`` with sorted indices and no
    duplicate entries; ``X`` itself when it already is one."""
    if not (sp.isspmatrix_csr(X) and X.has_canonical_format):
        X = sp.csr_matrix(X, copy=True)
        X.sum_duplicates()
    return X


def block_size(X):
    """Rows per inference block of the validated ``X``: ``INFERENCE_BATCH``,
    fewer for a sparse matrix with many columns, whose blocks are made dense
    (see :func:`skgmvae._train.sparse_block_rows`)."""
    if sp.issparse(X):
        return min(INFERENCE_BATCH, sparse_block_rows(X.shape[1]))
    return INFERENCE_BATCH


def plain_blocks(X):
    """Number of rows of the validated ``X`` and an iterator over its blocks
    (numpy arrays: the blocks of a sparse matrix are made dense one at a
    time)."""
    n, step = X.shape[0], block_size(X)
    if sp.issparse(X):
        return n, (X[i : i + step].toarray() for i in range(0, n, step))
    return n, (X[i : i + step] for i in range(0, n, step))


def inference_blocks(estimator, X):
    """Validate ``X`` for inference; return its number of rows and an
    iterator over blocks of its rows.

    A numpy array (memory-mapped included) of more than one block is checked
    and converted block by block, so that memory stays bounded by the block
    size whatever the number of rows or the input dtype.
    """
    if not (
        isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[0] > INFERENCE_BATCH
    ):
        return plain_blocks(validate(estimator, X, reset=False))
    try:
        validate_data(estimator, X, reset=False, skip_check_array=True)
    except ValueError as exc:
        raise input_error(exc) from None

    def blocks():
        for start in range(0, X.shape[0], INFERENCE_BATCH):
            try:
                block = check_array(
                    X[start : start + INFERENCE_BATCH],
                    dtype=[np.float64, np.float32],
                    estimator=estimator,
                    input_name="X",
                )
            except ValueError as exc:
                raise input_error(exc) from None
            check_range(block, estimator.likelihood)
            yield block

    return X.shape[0], blocks()


def column_mean_std(X, weights=None):
    """Column means and standard deviations in float64 of the validated
    ``X``, dense or sparse, weighted by ``weights`` when given; see
    :func:`dense_column_mean_std` and :func:`sparse_column_mean_std`."""
    if sp.issparse(X):
        if weights is not None:
            return weighted_sparse_column_mean_std(X, weights)
        return sparse_column_mean_std(X)
    return dense_column_mean_std(X, weights)


def weighted_sparse_column_mean_std(X, weights):
    """Weighted column means and standard deviations of a sparse ``X``,
    from its stored values (a copy of them, never a dense array)."""
    norm = float(weights.sum())
    mean = np.asarray(X.T @ weights).ravel() / norm
    squares = np.asarray(X.multiply(X).T @ weights).ravel() / norm
    return mean, np.sqrt(np.maximum(squares - mean**2, 0.0))


def sparse_column_mean_std(X):
    """Column means and standard deviations in float64 of a canonical CSR
    matrix, from its stored values only: the implicit zeros of a column
    enter as a count.

    The stored values are read in chunks of ``SPARSE_CHUNK``, so that the
    temporaries stay bounded whatever the number of stored values. The sums
    follow :func:`dense_column_mean_std`: the means add the rows in the same
    order and blocks, and the deviations are divided by the column's
    largest magnitude before squaring.
    """
    n, d = X.shape
    data, columns, indptr = X.data, X.indices, X.indptr
    total = np.zeros(d)
    largest = np.zeros(d)
    count = np.zeros(d)
    for start in range(0, n, INFERENCE_BATCH):
        stop = min(start + INFERENCE_BATCH, n)
        block = np.zeros(d)
        for lo, hi in _chunks(indptr[start], indptr[stop]):
            values, cols = data[lo:hi].astype(np.float64), columns[lo:hi]
            block += np.bincount(cols, weights=values, minlength=d)
            np.maximum.at(largest, cols, np.abs(values))
            count += np.bincount(cols, minlength=d)
        total += block
    mean = total / n
    unit = np.where(largest > 0, largest, 1.0)
    squares = (n - count) * np.square(mean / unit)
    for lo, hi in _chunks(0, X.nnz):
        cols = columns[lo:hi]
        dev = (data[lo:hi].astype(np.float64) - mean[cols]) / unit[cols]
        squares += np.bincount(cols, weights=dev * dev, minlength=d)
    return mean, unit * np.sqrt(squares / n)


def _chunks(start, stop):
    """``(lo, hi)`` pairs that cover ``range(start, stop)`` in pieces of at
    most ``SPARSE_CHUNK``."""
    start, stop = int(start), int(stop)
    for lo in range(start, stop, SPARSE_CHUNK):
        yield lo, min(lo + SPARSE_CHUNK, stop)


def dense_column_mean_std(X, weights=None):
    """Column means and standard deviations in float64 (weighted by
    ``weights`` when given), in blocks of rows, so that no temporary of the
    size of ``X`` is made. Deviations are divided by
    the column's largest magnitude before squaring, so values near float64's
    limit (1e300) do not overflow."""
    n = X.shape[0]
    total = np.zeros(X.shape[1])
    largest = np.zeros(X.shape[1])
    for start in range(0, n, INFERENCE_BATCH):
        block = X[start : start + INFERENCE_BATCH]
        if weights is None:
            total += block.sum(axis=0, dtype=np.float64)
        else:
            total += weights[start : start + INFERENCE_BATCH] @ block
        largest = np.maximum(largest, np.abs(block).max(axis=0))
    norm = n if weights is None else float(weights.sum())
    mean = total / norm
    unit = np.where(largest > 0, largest, 1.0)
    squares = np.zeros(X.shape[1])
    for start in range(0, n, INFERENCE_BATCH):
        block = (X[start : start + INFERENCE_BATCH].astype(np.float64) - mean) / unit
        if weights is None:
            squares += np.einsum("ij,ij->j", block, block)
        else:
            squares += np.einsum("i,ij,ij->j", weights[start : start + INFERENCE_BATCH], block, block)
    return mean, unit * np.sqrt(squares / norm)


@dataclass
class Scaling:
    """How rows are scaled before the networks see them.

    With the Gaussian likelihood the features are standardised (``(X -
    shift) / scale``); the Bernoulli likelihood takes the rows as they are.

    Attributes
    ----------
    shift, scale : ndarray of shape (n_features,)
    standardise : bool
        Whether ``shift`` and ``scale`` are applied.
    """

    shift: np.ndarray
    scale: np.ndarray
    standardise: bool

    @classmethod
    def fit(cls, X, likelihood, weights=None):
        """The scaling of the training rows ``X`` (with their ``weights``,
        if any) for ``likelihood``."""
        if likelihood != "gaussian":
            return cls(np.zeros(X.shape[1]), np.ones(X.shape[1]), False)
        mean, std = column_mean_std(X, weights)
        # standardise, but do not blow up features far less spread than the
        # typical one (rare pixels, near-constant columns)
        floor = 0.5 * np.median(std)
        scale = np.hypot(std, floor)
        scale[~(scale > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0
        return cls(mean, scale, True)

    @property
    def log_det(self):
        """Log-Jacobian of the scaling, for densities in the units of X."""
        return float(np.log(self.scale).sum())

    def training_rows(self, X, device, weights=None):
        """The training rows (and their ``weights``) as the optimisation
        loop reads them."""
        if self.standardise:
            return TrainingRows(X, self.shift, self.scale, device, weights)
        return TrainingRows(X, None, None, device, weights)

    def tensor(self, X, device, dtype=torch.float32):
        """Scaled tensor of a block of rows on ``device``."""
        X = np.asarray(X)
        if not X.flags.writeable:  # torch tensors cannot wrap read-only memory
            X = X.copy()
        t = torch.as_tensor(X).to(dtype)
        if self.standardise:
            shift = torch.from_numpy(self.shift).to(dtype)
            t = (t - shift) / torch.from_numpy(self.scale).to(dtype)
        return t.to(device)

    def unscale(self, X):
        """Rows of the networks' scale back in the units of the data."""
        return X * self.scale + self.shift if self.standardise else X
