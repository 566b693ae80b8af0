"""The start of the mixture: pure functions of an embedding.

Nothing here knows about networks, tensors or training. Given the rows of
the pretrained embedding (a numpy array), :func:`initial_components` returns
the means and variances the mixture starts from, as
``sklearn.cluster.kmeans_plusplus`` returns the centres ``KMeans`` starts
from; :func:`split_components` gives the children of each component when a
coarse mixture is split into a finer one (``grow_from``). Every random draw
comes from the ``seed`` or ``numpy.random.Generator`` passed in.
"""

import heapq
import warnings

import numpy as np

#: Rows of the embedding that the initial mixture is computed from, at most
#: (a seeded random subset beyond that: plenty for K Gaussians in a
#: latent_dim-dimensional space, and it keeps fit's memory small).
MIXTURE_INIT_ROWS = 100_000

#: Rows of the embedding that the consensus partition is computed on, at
#: most: its votes are counted in a square matrix of this many rows (one
#: byte an entry, 25 MB for 5,000 rows) and its distances kept condensed;
#: the chosen start of 70,000 MNIST embeddings peaks at about 175 MB of
#: NumPy arrays.
CONSENSUS_ROWS = 5000
#: KMeans over-clusterings that vote in the consensus partition.
CONSENSUS_RUNS = 20
#: Clusters of each KMeans over-clustering, per mixture component.
CONSENSUS_OVERCLUSTER = 5
#: Rows per KMeans cluster, at least; with fewer rows the mixture starts from
#: a GaussianMixture fitted on the embedding instead.
CONSENSUS_MIN_CLUSTER_ROWS = 20
#: Smallest cluster of the consensus partition, as a share of an even split
#: of the rows: smaller subtrees of the average-linkage tree are outliers
#: (a few rows that rarely share a KMeans cluster with anything else), not
#: components.
CONSENSUS_MIN_SHARE = 0.25
#: Even out the consensus cut towards equal cluster sizes, as the model's
#: uniform prior over components has them (see :func:`balanced_groups`).
CONSENSUS_BALANCE = True
#: Consensus partitions drawn (each from its own rows and KMeans runs); the
#: one that agrees most with the others is the start (see
#: :func:`chosen_consensus_labels`).
CONSENSUS_DRAWS = 8

#: Restarts of the KMeans run that splits one component.
SPLIT_KMEANS_INIT = 3

#: Rows of the embedding that the spectral partition is computed on, at most
#: (the eigenvectors of a sparse graph of this many rows take seconds).
SPECTRAL_ROWS = 20_000
#: Neighbours of each row in the graph of the spectral partition where the
#: caller gives none (a fit always gives the estimator's ``n_neighbors``),
#: and in the modularity graph of ``n_components="auto"`` on more than
#: ``MODULARITY_COUNT_MIN_ROWS`` rows.
SPECTRAL_NEIGHBORS = 25
#: The spectral graph's weights scale each row's distances by its distance
#: to this nearest neighbour (see :func:`self_tuning_graph`).
SELF_TUNING_LOCAL = 7
#: Eigenvectors of the spectral embedding, per component.
SPECTRAL_MAPS = 2
#: Each eigenvector of the spectral embedding is scaled by its eigenvalue to
#: this power (the diffusion map after this many steps of a random walk on
#: the graph).
SPECTRAL_DIFFUSION_TIME = 3
#: The spectral start keeps the partition of the diffusion map unless the
#: partition of the ``n_components`` leading eigenvectors alone cuts less
#: than this share of its graph weight (see :func:`weighted_cut`): more
#: eigenvectors than clusters can split one large spread-out group instead
#: of parting it from small ones, which shows as a cut many times larger.
SPECTRAL_MAX_CUT_RATIO = 0.5
#: Restarts of the KMeans run on the spectral embedding.
SPECTRAL_KMEANS_INIT = 10
#: Single KMeans runs, each from its own seed, that also cut the diffusion
#: map; the partition of least inertia among them and KMeans' restarts is
#: the start's, unless the run whose partition cuts the least graph weight
#: replaces it: when that cut is below
#: ``SPECTRAL_SEPARATED_CUT`` and below ``SPECTRAL_MAX_CUT_RATIO`` times its
#: cut (see :func:`separating_partition`).
SPECTRAL_ROUNDINGS = 50
SPECTRAL_SEPARATED_CUT = 0.02
#: Relative margin by which a further KMeans run's inertia must fall below
#: the restarts' for its partition to replace theirs (see
#: :func:`separating_partition`).
SPECTRAL_INERTIA_RTOL = 1e-9
#: The spectral start also parts the densest ``SPECTRAL_CORE_SHARE`` of the
#: rows alone (by their distance to their ``SELF_TUNING_LOCAL``-th nearest
#: row) and gives every other row the cluster most of its nearest core
#: rows are in (see :func:`core_partition`); that partition replaces the
#: one of all rows where it cuts the graph of all rows less than
#: ``SPECTRAL_SEPARATED_CUT`` and the edges between core rows less than
#: the other does.
SPECTRAL_CORE_SHARE = 0.8
#: The spectral start also cuts the graph of this many times as many
#: neighbours (rounded; only where that is more neighbours and fewer than
#: the rows less one), with the same seed, and keeps that partition where
#: it leaks strictly less of the first graph's neighbour weight
#: (:func:`start_leak`) than the first graph's own partition does (see
#: :func:`spectral_labels`).
SPECTRAL_DENSER_RATIO = 4 / 3

#: Rows of the embedding that the UMAP start is computed on, at most.
UMAP_ROWS = 20_000
#: Neighbours of each row in UMAP's fuzzy graph.
UMAP_NEIGHBORS = 15
#: Dimensions of the UMAP layout, at most (fewer for fewer components).
UMAP_DIMS = 10
#: EM restarts of the Gaussian mixture that cuts the UMAP layout.
UMAP_GMM_INIT = 5

#: Neighbours of each row in the graph whose spectrum chooses the number of
#: components (n_components="auto"), and rows of the embedding it is built
#: on, at most.
EIGENGAP_NEIGHBORS = 50
EIGENGAP_ROWS = 5000
#: Up to this many rows the spectrum that chooses the number of components
#: is computed densely; above (and for the spectral start's eigenvectors),
#: by at most ``LOBPCG_MAX_ITER`` block iterations.
EIGENGAP_DENSE_ROWS = 2500
LOBPCG_MAX_ITER = 1000

#: n_components="auto" on more than this many rows (where init_params="auto"
#: starts from the consensus) takes the eigengap's count only where its
#: largest jump is at least EIGENGAP_DECISIVE_RATIO times the next or its
#: groups barely touch in the graph; otherwise the count of best modularity
#: of consensus cuts, averaged over MODULARITY_COUNT_DRAWS draws of the
#: subset (see count_components and the user guide, Choosing the number of
#: clusters).
MODULARITY_COUNT_MIN_ROWS = 20_000
EIGENGAP_DECISIVE_RATIO = 2.0
MODULARITY_COUNT_DRAWS = 5

#: The "checked" start keeps the UMAP partition unless its clusters lose, on
#: average, more than this share of their neighbour-graph edges beyond what
#: the spectral partition's lose (see :func:`graph_leak`). On the small
#: suite (six seeds of the real data sets) the UMAP partition's excess was
#: at most 0.038, and 0.088 and 0.074 on the two iris seeds where UMAP had
#: split setosa in two and merged the other two species.
CHECKED_MAX_EXTRA_LEAK = 0.05

#: A partition whose rows have, on average, less than this share of their
#: neighbour weight on rows of other clusters (:func:`start_leak`) parts
#: groups that the graph separates. The "auto" start keeps such a spectral
#: partition; where the spectral clusters touch more than that, it starts
#: from a Gaussian mixture of the input rows when one can be
#: estimated (see :func:`initial_components`). The neighbour term of the
#: loss holds a start below the same leak.
TOUCHING_LEAK = 0.02
#: Where the spectral partition of the start's graph touches and the input
#: rows could carry the Gaussian mixture instead, the graph of this share
#: of its neighbours is cut too (see :func:`sparse_partition`).
SPARSE_NEIGHBORS_SHARE = 0.5
#: That partition replaces the input's Gaussian mixture only where it leaks
#: less than this share of what the mixture's clusters leak of the first
#: graph (see :func:`sparse_rival`): 0.13 to 0.25 where it parted curved
#: groups or small blobs that the mixture cut, 0.86 to 1.41 where it split
#: a large blob that the mixture kept.
SPARSE_RIVAL_RATIO = 0.5
#: EM runs of the Gaussian mixture of the input rows (the "gaussian"
#: start); the likeliest is kept.
INPUT_MIXTURE_INIT = 10
#: The covariance shapes the mixture of the input rows chooses among
#: (:func:`held_out_shape`), the first on an exact tie.
INPUT_MIXTURE_SHAPES = ("full", "tied", "diag")
#: Folds of the rows whose held-out likelihood chooses the shape.
INPUT_MIXTURE_FOLDS = 5
#: Rows (a seeded draw) on which the shape is chosen, bounding its cost.
INPUT_MIXTURE_SHAPE_ROWS = 5000
#: Added to the diagonal of each covariance of the mixture of the input rows.
INPUT_MIXTURE_REG = 1e-4
#: A clean spectral partition ("auto" start) whose input rows can carry a
#: full-covariance Gaussian mixture is refined by EM of that mixture started
#: at its clusters (:func:`refined_labels`) when EM moves at most this share
#: of the rows: the groups are then Gaussian in the input, and the mixture
#: draws the boundaries between them where the start's graph only
#: approximates them. Curved or nested groups move far more (two moons: 14%).
REFINED_MOVED_SHARE = 0.02
#: Rows per feature that each cluster of an even split needs for the
#: "gaussian" start (:func:`full_covariance_estimable`). The eigenvalues of
#: the covariance of ``m`` rows drawn in ``p`` dimensions spread over
#: ``(1 +- sqrt(p / m))**2`` times the true ones (Marchenko and Pastur,
#: 1967): with four rows per feature the narrowest direction is seen at no
#: less than a quarter of its variance.
INPUT_MIXTURE_ROWS_PER_FEATURE = 4
#: Covariance entries of the whole mixture, ``n_components * p * (p + 1) /
#: 2``, allowed per input row: an EM step costs about the rows times the
#: entries, so this bounds the start's cost by the square of the rows.
INPUT_MIXTURE_ENTRIES_PER_ROW = 4

#: Rows per entry of a factor analyser's loadings that
#: :func:`factor_components` asks for: ``r`` factors in ``d`` dimensions
#: need ``FACTOR_ROWS_PER_ENTRY * d * (r + 1)`` rows in the cluster.
FACTOR_ROWS_PER_ENTRY = 5

#: The starts :func:`initial_components` knows, by name.
INIT_METHODS = ("spectral", "gaussian", "umap", "checked", "consensus", "gmm")
#: The start that init_params="auto" takes up to 20,000 rows: "spectral"
#: ("refined" where the input's mixture moves few of its rows), or "gaussian"
#: where the spectral clusters touch ("spherical" where that mixture is
#: refused; :func:`gaussian_or_spectral`).
SPECTRAL_OR_GAUSSIAN = "spectral_or_gaussian"


def seeded_rows(n_rows, max_rows, rng):
    """All row indices, or a sorted draw of ``max_rows`` of them from
    ``rng`` when there are more."""
    rows = np.arange(n_rows)
    if rows.size > max_rows:
        rows = np.sort(rng.choice(rows.size, max_rows, replace=False))
    return rows


def mixture_rows(n_rows, rng, max_rows=None):
    """Indices of ``max_rows`` rows (default ``MIXTURE_INIT_ROWS``) drawn by
    ``rng`` without replacement, or None when ``n_rows`` is not above that."""
    max_rows = MIXTURE_INIT_ROWS if max_rows is None else max_rows
    if n_rows <= max_rows:
        return None
    return rng.choice(n_rows, max_rows, replace=False)


def consensus_partition(embedding, n_components, rng, min_share=None, weights=None):
    """Partition the rows of ``embedding`` by evidence accumulation.

    ``CONSENSUS_RUNS`` KMeans runs, each with ``CONSENSUS_OVERCLUSTER``
    times more clusters than ``n_components``, vote on which rows belong
    together; average-linkage clustering of the resulting co-association
    matrix (the fraction of runs that put two rows in one cluster) cuts the
    rows into ``n_components`` clusters (Fred and Jain, 2005, "Combining
    multiple clusterings using evidence accumulation", IEEE TPAMI 27(6)).
    Over-clustering rarely puts two classes in one cluster, and rows of one
    class share a cluster in most runs however each run cuts the class, so
    the consensus follows connected, curved groups where one Gaussian
    mixture fitted by maximum likelihood would halve one class and merge
    two others.

    Average linkage cuts off small groups of outlying rows early; a subtree
    with fewer than ``min_share`` of an even share of the rows is left out
    (label -1) instead of being kept as one of the ``n_components``
    clusters, which would leave the others too few. With
    ``CONSENSUS_BALANCE`` the cut is then evened out (see
    :func:`balanced_groups`): where the tree puts two groups in one cluster
    and halves another, the largest cluster is split and the smallest
    merged while that brings the sizes closer to equal.

    Parameters
    ----------
    embedding : ndarray of shape (n, d)
    n_components : int
    rng : numpy.random.Generator
        Draws the seeds of the KMeans runs.
    min_share : float or None
        Smallest cluster as a share of ``n / n_components``; None takes
        ``CONSENSUS_MIN_SHARE``, 0 keeps every subtree.
    weights : ndarray of shape (n,) or None
        Weights of the rows in the KMeans runs.

    Returns
    -------
    labels : ndarray of shape (n,) or None
        Cluster of each row (-1 for the outliers left out), or None when
        ``n`` is below ``CONSENSUS_MIN_CLUSTER_ROWS`` rows per
        over-clustering cluster.
    """
    n_rows = embedding.shape[0]
    n_micro = CONSENSUS_OVERCLUSTER * n_components
    if n_components < 2 or n_rows < CONSENSUS_MIN_CLUSTER_ROWS * n_micro:
        return None
    condensed = co_association_distances(embedding, n_micro, rng, weights)
    return consensus_cut(condensed, n_rows, n_components, min_share)


def consensus_cut(condensed, n_rows, n_components, min_share=None, tree=None):
    """The consensus start's cut of the co-association distances
    ``condensed`` into ``n_components`` clusters: subtrees under
    ``min_share`` (default ``CONSENSUS_MIN_SHARE``) of an even share left
    out, evened out with ``CONSENSUS_BALANCE`` (see
    :func:`average_linkage_labels`; ``tree``: its average-linkage tree, when
    at hand)."""
    min_share = CONSENSUS_MIN_SHARE if min_share is None else min_share
    min_size = max(1, int(min_share * n_rows / n_components))
    return average_linkage_labels(
        condensed, n_rows, n_components, min_size, balance=CONSENSUS_BALANCE, tree=tree
    )


def co_association_distances(embedding, n_micro, rng, weights=None):
    """One minus the share of ``CONSENSUS_RUNS`` KMeans runs of ``n_micro``
    clusters (seeds drawn from ``rng``) that put two rows of ``embedding``
    in one cluster, as a condensed distance matrix (float32)."""
    from scipy.spatial.distance import squareform
    from sklearn.cluster import KMeans

    n_rows = embedding.shape[0]
    # the votes are counted in the smallest integers that hold them (a
    # quarter of the memory traffic of float32), and only the condensed
    # half is turned to distances: the same float32 values, four times faster
    counts = np.zeros((n_rows, n_rows), dtype=np.min_scalar_type(CONSENSUS_RUNS))
    for run_seed in rng.integers(0, 2**31 - 1, size=CONSENSUS_RUNS):
        labels = KMeans(n_micro, n_init=1, random_state=int(run_seed)).fit_predict(
            embedding, sample_weight=weights
        )
        # each cluster's block only: about 1 / n_micro of the matrix
        order = np.argsort(labels, kind="stable")
        bounds = np.flatnonzero(np.diff(labels[order])) + 1
        for members in np.split(order, bounds):
            counts[np.ix_(members, members)] += 1
    # in place, to the distance 1 - (share of runs that agree)
    condensed = squareform(counts, checks=False).astype(np.float32)
    del counts
    condensed *= -1.0 / CONSENSUS_RUNS
    condensed += 1.0
    return condensed


def average_linkage_labels(
    condensed, n_rows, n_clusters, min_size=1, balance=False, tree=None
):
    """Cut the average-linkage tree of a condensed distance matrix into
    ``n_clusters`` clusters.

    With ``min_size=1`` the labels equal ``AgglomerativeClustering(n_clusters,
    metric="precomputed", linkage="average").fit_predict`` on the square
    matrix (the same scipy tree, cut and numbered the same way), without
    that matrix's index arrays: half the memory on large inputs. Subtrees of
    fewer than ``min_size`` rows split off on the way down are left out
    (label -1) and the cut goes on until ``n_clusters`` subtrees of at least
    ``min_size`` rows remain; when the tree has no such cut, the plain cut
    is returned. With ``balance``, the cut is then evened out by
    :func:`balanced_groups`. ``tree``: the scipy average-linkage tree of
    ``condensed``, when it is already at hand (several cuts of one tree).
    """
    from scipy.cluster.hierarchy import linkage

    tree = linkage(condensed, method="average") if tree is None else tree
    children = tree[:, :2].astype(int)
    sizes = np.concatenate([np.ones(n_rows, dtype=int), tree[:, 3].astype(int)])
    nodes = _cut_tree(children, sizes, n_clusters, min_size)
    if nodes is None:
        nodes = _cut_tree(children, sizes, n_clusters, 1)
    if nodes is None:
        raise ValueError(f"cannot cut {n_rows} rows into {n_clusters} clusters")
    nodes = [-node for node in nodes]
    groups = [subtree_rows(children, node) for node in nodes]
    if balance:
        groups = balanced_groups(groups, nodes, children, condensed)
    labels = np.full(n_rows, -1, dtype=np.intp)
    for label, rows in enumerate(groups):
        labels[rows] = label
    return labels


def subtree_rows(children, node):
    """The rows (leaves) under ``node`` of a scipy linkage tree whose merges
    are ``children`` (shape (n_rows - 1, 2)), in the order of a depth-first
    walk."""
    n_rows = len(children) + 1
    rows, stack = [], [node]
    while stack:
        node = stack.pop()
        if node < n_rows:
            rows.append(node)
        else:
            stack.extend(children[node - n_rows])
    return np.asarray(rows, dtype=np.intp)


def mean_distance(condensed, n_rows, first, second):
    """The mean entry of a condensed distance matrix over the pairs of rows
    ``first`` x ``second`` (two disjoint index arrays)."""
    low = np.minimum.outer(first, second).ravel()
    high = np.maximum.outer(first, second).ravel()
    index = n_rows * low - low * (low + 1) // 2 + high - low - 1
    return float(np.mean(condensed[index]))


def size_entropy(sizes):
    """Entropy of the shares ``sizes / sum(sizes)``: largest, ``log K``,
    for ``K`` equal sizes."""
    shares = np.asarray(sizes, dtype=float) / np.sum(sizes)
    shares = shares[shares > 0]
    return float(-(shares * np.log(shares)).sum())


def balanced_groups(groups, nodes, children, condensed):
    """Even out a cut of an average-linkage tree, one split and one merge at
    a time, while that brings the cluster sizes closer to equal.

    The GMVAE's prior gives every component the same weight; a start in
    which one cluster holds about two even shares of the rows and another a
    fraction of one fits it badly, and training seldom recovers: on image
    embeddings such a cut typically holds two classes in its largest
    cluster and one class in two of the others. Each step splits the
    largest cluster into the two subtrees it is made of and merges one
    other cluster into the one at the least mean distance from it; of the
    clusters that could be merged, the one whose move leaves the most even
    sizes (the highest :func:`size_entropy`) is taken, and only when the
    sizes are more even than before. A merged cluster is no subtree and is
    not split again; the steps stop there, or after ``len(groups)`` of them.

    Parameters
    ----------
    groups : list of ndarray
        The rows of each cluster.
    nodes : list of int
        The tree node each cluster is (a leaf below ``n_rows``).
    children : ndarray of shape (n_rows - 1, 2)
        The tree's merges.
    condensed : ndarray
        The condensed distance matrix the tree was built from.

    Returns
    -------
    groups : list of ndarray
        Unchanged (the same list) where no step evens the sizes out.
    """
    n_rows = len(children) + 1
    nodes = list(nodes)
    # mean distances between clusters, each pair computed once and kept
    # across steps by the clusters' serials (new ones for changed clusters)
    serials, distances = list(range(len(groups))), {}
    fresh = len(groups)  # the next unused serial

    def between(first, second):
        if serials[first] > serials[second]:
            first, second = second, first
        key = (serials[first], serials[second])
        if key not in distances:
            distances[key] = mean_distance(
                condensed, n_rows, groups[first], groups[second]
            )
        return distances[key]

    for _ in range(len(groups)):
        sizes = [len(rows) for rows in groups]
        big = int(np.argmax(sizes))
        if nodes[big] is None or nodes[big] < n_rows or len(groups) < 3:
            break
        halves = children[nodes[big] - n_rows]
        parts = [subtree_rows(children, half) for half in halves]
        best = None
        for small in range(len(groups)):
            others = [c for c in range(len(groups)) if c not in (small, big)]
            if small == big or not others:
                continue
            near = min(others, key=lambda c: between(small, c))
            kept = [sizes[c] for c in others if c != near]
            merged_sizes = [sizes[small] + sizes[near]] + [len(p) for p in parts]
            entropy = size_entropy(kept + merged_sizes)
            if best is None or entropy > best[0]:
                best = (entropy, small, near)
        if best is None or best[0] <= size_entropy(sizes):
            break
        _, small, near = best
        keep = [c for c in range(len(groups)) if c not in (big, small, near)]
        merged = np.concatenate([groups[small], groups[near]])
        groups = [groups[c] for c in keep] + [merged] + parts
        nodes = [nodes[c] for c in keep] + [None, *halves]
        serials = [serials[c] for c in keep] + [fresh, fresh + 1, fresh + 2]
        fresh += 3
    return groups


def _cut_tree(children, sizes, n_clusters, min_size):
    """Heap of the negated nodes (leaves ``< n_rows``, merges above) of
    ``n_clusters`` subtrees with at least ``min_size`` rows each, found by
    splitting the most recent merge and dropping smaller subtrees on the way;
    None when the tree has no such cut."""
    n_rows = len(children) + 1
    nodes = [-(n_rows + len(children) - 1)]
    while len(nodes) < n_clusters:
        if not nodes or -nodes[0] < n_rows:
            return None
        left, right = children[-nodes[0] - n_rows]
        if sizes[left] >= min_size and sizes[right] >= min_size:
            heapq.heappush(nodes, -left)
            heapq.heappushpop(nodes, -right)
        elif max(sizes[left], sizes[right]) >= min_size:
            kept = left if sizes[left] >= min_size else right
            heapq.heapreplace(nodes, -kept)
        else:
            heapq.heappop(nodes)
    return nodes


def consensus_components(embedding, n_components, seed, *, max_rows=None, min_share=None):
    """Means and variances of the clusters of a consensus partition.

    Computed on a seeded subset of at most ``max_rows`` rows (default
    ``CONSENSUS_ROWS``) of ``embedding``; rows left out as outliers do not
    count. Returns None when the rows are too few for the consensus (see
    :func:`consensus_partition`).

    Returns
    -------
    means, variances : ndarray of shape (n_components, d), or None
    """
    found = consensus_labels(embedding, n_components, seed, max_rows, min_share)
    if found is None:
        return None
    return partition_moments(embedding, found, n_components)


def consensus_labels(
    embedding, n_components, seed, max_rows=None, min_share=None, weights=None
):
    """The consensus partition of :func:`consensus_components` for every row
    of ``embedding`` (with the rows' ``weights``, if any): -1 for rows
    outside the subset or left out as outliers; None when the rows are too
    few."""
    max_rows = CONSENSUS_ROWS if max_rows is None else max_rows
    rng = np.random.default_rng(seed)
    rows = seeded_rows(embedding.shape[0], max_rows, rng)
    labels = consensus_partition(
        embedding[rows], n_components, rng, min_share,
        None if weights is None else weights[rows],
    )
    if labels is None:
        return None
    out = np.full(embedding.shape[0], -1, dtype=np.intp)
    out[rows] = labels
    return out


def chosen_consensus_labels(embedding, n_components, seed, weights=None):
    """Of ``CONSENSUS_DRAWS`` consensus partitions (:func:`consensus_labels`
    with the seeds ``seed``, ``seed + 1``, ...), the one that agrees most
    with the others: the medoid under the adjusted Rand index.

    Each draw sees its own rows and KMeans runs, so the draws are compared
    on every row of ``embedding``, each row going to the draw's most likely
    component (the diagonal Gaussians of its clusters, as the mixture
    starts). One draw in a few cuts a dense group the wrong way (two digit
    classes each halved between two clusters); the other draws disagree
    with that cut, and the medoid is the typical cut. Returns the chosen
    draw's labels (as :func:`consensus_labels`), or None when the rows are
    too few.
    """
    from sklearn.metrics import adjusted_rand_score

    draws, assigned = [], []
    for draw in range(max(1, CONSENSUS_DRAWS)):
        found = consensus_labels(embedding, n_components, seed + draw, weights=weights)
        if found is None:
            return None
        means, variances = partition_moments(embedding, found, n_components, weights)
        draws.append(found)
        assigned.append(diagonal_gaussian_labels(embedding, means, variances))
    agreement = np.zeros(len(draws))
    for first in range(len(draws)):
        for second in range(first + 1, len(draws)):
            ari = adjusted_rand_score(assigned[first], assigned[second])
            agreement[first] += ari
            agreement[second] += ari
    return draws[int(np.argmax(agreement))]


def diagonal_gaussian_labels(rows, means, variances):
    """The most likely of the diagonal Gaussians ``(means, variances)``
    (equal weights) for each row."""
    log_lik = np.stack(
        [
            -0.5 * (((rows - mean) ** 2) / var + np.log(var)).sum(1)
            for mean, var in zip(means, variances)
        ],
        axis=1,
    )
    return log_lik.argmax(1)


def weighted_moments(rows, weights=None):
    """Mean and variance of each column of ``rows``, the rows counting by
    their ``weights`` when given."""
    if weights is None:
        return rows.mean(0), rows.var(0)
    mean = np.average(rows, axis=0, weights=weights)
    return mean, np.average((rows - mean) ** 2, axis=0, weights=weights)


def partition_moments(embedding, labels, n_components, weights=None):
    """Means and variances of the rows of each cluster of ``labels``
    (-1: left out), the rows counting by their ``weights`` when given; a
    cluster without rows takes the mean and variance of all labelled rows,
    one with a single row their variance."""
    kept = labels >= 0
    mean_all, spread = weighted_moments(
        embedding[kept], None if weights is None else weights[kept]
    )
    if kept.sum() < 2:
        spread = np.ones(embedding.shape[1])
    means, variances = [], []
    for k in range(n_components):
        mine = labels == k
        if not mine.any():
            means.append(mean_all)
            variances.append(spread)
            continue
        mean, var = weighted_moments(
            embedding[mine], None if weights is None else weights[mine]
        )
        means.append(mean)
        variances.append(var if mine.sum() > 1 else spread)
    return np.stack(means), np.maximum(np.stack(variances), 1e-4)


def within_cluster_axes(embedding, labels, weights=None):
    """Orthonormal axes of the clusters' shared shape: the eigenvectors of
    the pooled within-cluster covariance of ``embedding`` under
    ``labels`` (-1: left out), rows counting by their ``weights``.

    In these coordinates the covariance that the clusters share is
    diagonal, so a diagonal Gaussian per cluster describes clusters of a
    common orientation as well as a full covariance would (the shared
    covariance of linear discriminant analysis). Returns the
    ``(n_features, n_features)`` matrix whose columns are the axes, by
    increasing variance; the identity when fewer than two rows are
    labelled.
    """
    kept = labels >= 0
    dim = embedding.shape[1]
    if kept.sum() < 2:
        return np.eye(dim)
    rows, found = embedding[kept], labels[kept]
    share = np.ones(len(rows)) if weights is None else weights[kept]
    scatter = np.zeros((dim, dim))
    for k in np.unique(found):
        mine = found == k
        centred = rows[mine] - np.average(rows[mine], axis=0, weights=share[mine])
        scatter += (centred * share[mine, None]).T @ centred
    return np.linalg.eigh(scatter)[1]


def factor_components(
    embedding, labels, n_components, n_factors, weights=None, min_noise=1e-4
):
    """Each cluster of ``labels`` (-1: left out) as a factor analyser: its
    rows are ``mean + loadings @ w + noise``, ``w ~ N(0, I)`` of
    ``n_factors`` dimensions and the noise diagonal (probabilistic PCA of
    the cluster's covariance, Tipping and Bishop, 1999, with the residual
    then read per axis and kept at least ``min_noise``, a scalar or one
    value per axis), rows counting by their ``weights``.

    A factor analyser carries a cluster's own orientation and its long
    axes, which a diagonal Gaussian spreads over every axis; it is the
    GMVAE's prior ``p(x | w, z)`` with a mean linear in ``w``.

    A cluster has as many factors as its rows support: ``r`` factors need
    ``FACTOR_ROWS_PER_ENTRY * d * (r + 1)`` rows (the weights' sum), so
    that each loading is estimated from several rows; one with too few
    rows for a single factor keeps its diagonal moments.

    Returns
    -------
    means, variances : ndarray of shape (n_components, d)
        As :func:`partition_moments`, the variances being the noise's.
    loadings : ndarray of shape (n_components, d, n_factors)
        Zero in the columns of the factors a cluster has no rows for, and
        everywhere for a cluster of too few rows, whose variances stay its
        moments'.
    factors : ndarray of shape (n, n_factors)
        Posterior mean of ``w`` for each row under its own cluster (zero
        for rows left out).
    factor_variance : ndarray of shape (n_factors,)
        Posterior variance of ``w``, averaged over the clusters by rows.
    """
    means, variances = partition_moments(embedding, labels, n_components, weights)
    dim = embedding.shape[1]
    loadings = np.zeros((n_components, dim, n_factors))
    factors = np.zeros((embedding.shape[0], n_factors))
    posterior = np.zeros(n_factors)
    counted = 0.0
    for k in range(n_components):
        mine = labels == k
        share = None if weights is None else weights[mine]
        size = mine.sum() if share is None else share.sum()
        used = min(n_factors, int(size // (FACTOR_ROWS_PER_ENTRY * dim)) - 1, dim - 1)
        if used < 1 or mine.sum() < used + 2:
            continue
        centred = embedding[mine] - means[k]
        cov = np.cov(centred.T, aweights=share, bias=True).reshape(dim, dim)
        values, vectors = np.linalg.eigh(cov)
        values, vectors = values[::-1], vectors[:, ::-1]
        residual = max(values[used:].mean(), 1e-4)
        load = np.zeros((dim, n_factors))
        load[:, :used] = vectors[:, :used] * np.sqrt(np.clip(values[:used] - residual, 0, None))
        noise = np.maximum(np.diag(cov) - (load**2).sum(1), min_noise)
        precision = load / noise[:, None]
        cov_w = np.linalg.inv(np.eye(n_factors) + load.T @ precision)
        loadings[k], variances[k] = load, noise
        factors[mine] = centred @ precision @ cov_w
        posterior += size * np.diag(cov_w)
        counted += size
    factor_variance = posterior / counted if counted else np.ones(n_factors)
    return means, variances, loadings, factors, factor_variance


def linear_map(features, targets, ridge=1e-3):
    """Least-squares ``(coef, intercept)`` with ``targets ≈ features @ coef
    + intercept``, ridge-penalised by ``ridge`` times the mean variance of
    the features (so the penalty does not depend on their scale)."""
    mean_f, mean_t = features.mean(0), targets.mean(0)
    centred = features - mean_f
    gram = centred.T @ centred
    penalty = ridge * max(np.trace(gram) / max(gram.shape[0], 1), 1e-12)
    coef = np.linalg.solve(gram + penalty * np.eye(gram.shape[0]), centred.T @ (targets - mean_t))
    return coef, mean_t - mean_f @ coef


def neighbor_indices(embedding, n_neighbors):
    """Indices of the ``n_neighbors`` nearest other rows of each row of
    ``embedding`` (Euclidean), shape (n, min(n_neighbors, n - 1))."""
    from sklearn.neighbors import NearestNeighbors

    n_neighbors = min(int(n_neighbors), embedding.shape[0] - 1)
    if n_neighbors < 1:
        return np.zeros((embedding.shape[0], 0), dtype=np.intp)
    search = NearestNeighbors(n_neighbors=n_neighbors).fit(embedding)
    return search.kneighbors(return_distance=False)


def symmetric_graph(near):
    """The symmetrised, unweighted graph joining each row to the rows
    ``near[row]``: a sparse (n, n) matrix of ones."""
    from scipy import sparse

    n = len(near)
    edges = (np.repeat(np.arange(n), near.shape[1]), near.ravel())
    graph = sparse.csr_matrix((np.ones(near.size), edges), shape=(n, n))
    return ((graph + graph.T) > 0).astype(np.float64)


def neighbour_graph(embedding, n_neighbors):
    """The symmetrised, unweighted ``n_neighbors``-nearest-neighbour graph
    of the rows of ``embedding`` (see :func:`symmetric_graph`)."""
    return symmetric_graph(neighbor_indices(embedding, n_neighbors))


def normalised_adjacency(graph):
    """``D^-1/2 A D^-1/2`` of ``graph`` (CSR) and the square roots of its
    degrees (at least 1e-6)."""
    from scipy import sparse

    root = np.sqrt(np.maximum(np.asarray(graph.sum(axis=1)).ravel(), 1e-12))
    scale = sparse.diags(1.0 / root)
    return (scale @ graph @ scale).tocsr(), root


def leading_eigenvectors(graph, n_vectors, seed=0):
    """The ``n_vectors`` largest eigenvalues, in decreasing order, and their
    eigenvectors of the normalised adjacency ``D^-1/2 A D^-1/2`` of
    ``graph`` (those of the smallest eigenvalues ``1 - value`` of its
    normalised Laplacian).

    A block method (LOBPCG, scipy's :func:`~scipy.sparse.linalg.lobpcg`)
    started from seeded random vectors and the known leading eigenvector
    ``D^1/2 1``: each step costs a product with the sparse graph, so a graph
    of 20,000 rows takes a fraction of a second, and a block finds each of
    several equal eigenvalues (one per connected piece of the graph), where
    single-vector Lanczos iterations can miss the repeats. Factorising the
    Laplacian (shift-invert, as :func:`sklearn.manifold.spectral_embedding`
    does) costs seconds on an image embedding and minutes on a graph of
    noise, whose factors fill in.
    """
    import warnings

    from scipy.sparse.linalg import lobpcg

    n = graph.shape[0]
    n_vectors = min(int(n_vectors), n)
    adjacency, root = normalised_adjacency(graph)
    if n < 5 * n_vectors + 5:
        values, vectors = np.linalg.eigh(adjacency.toarray())
    else:
        start = np.random.default_rng(seed).normal(size=(n, n_vectors))
        start[:, 0] = root
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values, vectors = lobpcg(
                adjacency, start, largest=True, tol=1e-8, maxiter=LOBPCG_MAX_ITER
            )
    order = np.argsort(-values, kind="stable")[:n_vectors]
    return values[order], vectors[:, order]


def self_tuning_weights(embedding, n_neighbors, local=None):
    """Each row's ``n_neighbors`` nearest other rows of ``embedding`` and
    the locally scaled Gaussian weights of those edges.

    The edge from row ``i`` to row ``j`` weighs
    ``exp(-d_ij**2 / (s_i * s_j))``, where ``s_i`` is the distance from row
    ``i`` to its ``local``-th nearest row (default ``SELF_TUNING_LOCAL``;
    copies of row ``i`` are skipped, so repeated rows stay joined to the
    rest): a dense group and a sparse one both get weights near 1 inside
    and small ones across a gap (Zelnik-Manor and Perona, 2004,
    "Self-tuning spectral clustering", NIPS).

    Returns
    -------
    near : ndarray of shape (n, k), int
        ``k = min(n_neighbors, n - 1)`` nearest other rows of each row.
    weights : ndarray of shape (n, k)
        The weight of each of those edges, in (0, 1].
    """
    from sklearn.neighbors import NearestNeighbors

    n = embedding.shape[0]
    n_neighbors = min(int(n_neighbors), n - 1)
    dist, near = NearestNeighbors(n_neighbors=n_neighbors).fit(embedding).kneighbors()
    return near, edge_weights(dist, near, local)


def edge_weights(dist, near, local=None):
    """The weights of :func:`self_tuning_weights` for the edges from each
    row to the rows ``near`` at the distances ``dist`` (both of shape
    ``(n, k)``, nearest first, every row of the data a row of ``dist``)."""
    n, n_neighbors = dist.shape
    local = min(SELF_TUNING_LOCAL if local is None else local, n_neighbors)
    # copies of a row (distance 0) do not count towards its scale
    copies = (dist <= 0).sum(axis=1)
    scale = dist[np.arange(n), np.minimum(copies + local - 1, n_neighbors - 1)]
    positive = dist[dist > 0]
    scale = np.maximum(scale, 1e-12 if positive.size == 0 else 1e-3 * positive.mean())
    return np.exp(-(dist**2) / (scale[:, None] * scale[near]))


def self_tuning_graph(embedding, n_neighbors, local=None):
    """The ``n_neighbors``-nearest-neighbour graph of the rows of
    ``embedding`` with the locally scaled Gaussian weights of
    :func:`self_tuning_weights`, symmetrised by the larger weight of the
    two directions; a sparse (n, n) matrix."""
    from scipy import sparse

    near, weights = self_tuning_weights(embedding, n_neighbors, local)
    n = embedding.shape[0]
    edges = (np.repeat(np.arange(n), near.shape[1]), near.ravel())
    graph = sparse.csr_matrix((weights.ravel(), edges), shape=(n, n))
    return graph.maximum(graph.T).tocsr()


def laplacian_spectrum(graph, n_values, seed=0):
    """The ``n_values`` smallest eigenvalues of the normalised Laplacian
    ``I - D^-1/2 A D^-1/2`` of ``graph``, in increasing order: computed
    densely up to ``EIGENGAP_DENSE_ROWS`` rows, by
    :func:`leading_eigenvectors` above.
    """
    from scipy import sparse

    n = graph.shape[0]
    if n <= EIGENGAP_DENSE_ROWS or n_values >= n - 1:
        laplacian = sparse.identity(n) - normalised_adjacency(graph)[0]
        values = np.linalg.eigvalsh(laplacian.toarray())[: min(n_values, n)]
    else:
        values = 1.0 - leading_eigenvectors(graph, n_values, seed)[0]
    return np.clip(np.sort(values), 0.0, 2.0)


def eigengap_components(embedding, max_components, seed, n_neighbors=None, max_rows=None):
    """The number of clusters that the neighbour graph of ``embedding`` shows.

    The eigengap heuristic (von Luxburg, 2007, "A tutorial on spectral
    clustering", Statistics and Computing 17(4)): the normalised Laplacian
    of a graph made of ``K`` groups with few edges between them has ``K``
    eigenvalues near 0 and a jump to the next one. ``K`` is the number of
    smallest eigenvalues before the largest jump, among 2 to
    ``max_components``. The graph joins each row to its ``n_neighbors``
    (default ``EIGENGAP_NEIGHBORS``) nearest rows, on a seeded subset of at
    most ``max_rows`` (default ``EIGENGAP_ROWS``) rows.

    Returns
    -------
    n_components : int
        In ``[2, max_components]`` (1 when ``max_components`` is 1 or the
        rows are too few for a graph).
    eigenvalues : ndarray of shape (max_components + 1,) or (n_rows,)
        The smallest eigenvalues of the graph's normalised Laplacian.
    """
    n_neighbors = EIGENGAP_NEIGHBORS if n_neighbors is None else n_neighbors
    max_rows = EIGENGAP_ROWS if max_rows is None else max_rows
    rng = np.random.default_rng(seed)
    rows = seeded_rows(embedding.shape[0], max_rows, rng)
    if max_components < 2 or len(rows) < 3:
        return 1, np.zeros(0)
    graph = neighbour_graph(embedding[rows], n_neighbors)
    values = laplacian_spectrum(graph, max_components + 1, int(rng.integers(2**31 - 1)))
    gaps = np.diff(values)[1:]  # gaps[i] lies after the (i + 2)-th eigenvalue
    n_components = int(np.argmax(gaps[: max_components - 1])) + 2
    return n_components, values


def graph_modularity(graph, labels, return_inside=False):
    """Newman's modularity of the partition ``labels`` of a symmetric,
    weighted ``graph`` (sparse, (n, n)): the share of the edge weight that
    falls inside clusters minus the share expected for the same degrees,
    ``sum_c (d_c / 2m) ** 2`` (Newman and Girvan, 2004, "Finding and
    evaluating community structure in networks", Physical Review E 69).
    Rows labelled -1 count as clusters of their own. With ``return_inside``,
    also the share inside (one minus the partition's leak)."""
    graph = graph.tocoo()
    total = float(graph.data.sum())
    if total <= 0:
        return (0.0, 1.0) if return_inside else 0.0
    labels = np.array(labels, dtype=np.intp)
    alone = labels < 0
    labels[alone] = max(int(labels.max()), -1) + 1 + np.arange(int(alone.sum()))
    inside = float(graph.data[labels[graph.row] == labels[graph.col]].sum() / total)
    degrees = np.bincount(graph.row, weights=graph.data, minlength=graph.shape[0])
    shares = np.bincount(labels, weights=degrees) / total
    modularity = inside - float(np.sum(shares**2))
    return (modularity, inside) if return_inside else modularity


def modularity_components(embedding, max_components, seed, max_rows=None, n_draws=None):
    """The number of clusters whose consensus partition parts the neighbour
    graph of ``embedding`` best, by Newman's modularity (used where the
    eigengap is not decisive, see :func:`count_components`).

    On each of ``n_draws`` (default ``MODULARITY_COUNT_DRAWS``) seeded
    subsets of at most ``max_rows`` rows (default ``CONSENSUS_ROWS``), the
    co-association tree of :func:`consensus_partition` (KMeans runs of
    ``CONSENSUS_OVERCLUSTER * max_components`` clusters) is cut into each
    ``K`` from 2 to ``max_components`` as the consensus start cuts it, and
    each cut is scored by its :func:`graph_modularity` on the subset's
    locally scaled neighbour graph (:func:`self_tuning_graph`). ``K`` is
    the candidate of the highest mean score over the draws. Joining two
    groups that few edges link adds little to the inside share and much to
    the expected share; splitting a group takes the edges it cuts out of the
    inside share and gains less in the expected share the more groups there
    are. The split of a compact group can still win where the groups are
    few (the expected share of two equal halves is a quarter of the
    group's), hence the eigengap first.

    Returns
    -------
    n_components : int
        In ``[2, max_components]`` (1 when ``max_components`` is below 2
        or the rows are too few).
    scores : ndarray of shape (max_components - 1,)
        The mean modularity of each candidate, from ``K = 2``.
    leaks : ndarray of shape (max_components - 1,)
        The mean share of the graphs' edge weight between the candidate's
        clusters.
    """
    from scipy.cluster.hierarchy import linkage

    max_rows = CONSENSUS_ROWS if max_rows is None else max_rows
    n_draws = MODULARITY_COUNT_DRAWS if n_draws is None else n_draws
    rng = np.random.default_rng(seed)
    candidates = np.arange(2, max_components + 1)
    n_rows = min(embedding.shape[0], max_rows)
    n_micro = min(
        CONSENSUS_OVERCLUSTER * max_components, n_rows // CONSENSUS_MIN_CLUSTER_ROWS
    )
    if len(candidates) == 0 or n_micro < max_components:
        return 1, np.zeros(0), np.zeros(0)
    scores, leaks = np.zeros(len(candidates)), np.ones(len(candidates))
    for _ in range(n_draws):
        subset = embedding[seeded_rows(embedding.shape[0], max_rows, rng)]
        condensed = co_association_distances(subset, n_micro, rng)
        tree = linkage(condensed, method="average")
        graph = self_tuning_graph(subset, SPECTRAL_NEIGHBORS)
        for i, k in enumerate(candidates):
            labels = consensus_cut(condensed, len(subset), k, tree=tree)
            modularity, inside = graph_modularity(graph, labels, return_inside=True)
            scores[i] += modularity / n_draws
            leaks[i] -= inside / n_draws
    return int(candidates[np.argmax(scores)]), scores, leaks


def eigengap_ratio(values, max_components):
    """How decisive the eigengap of the ascending Laplacian eigenvalues
    ``values`` (:func:`eigengap_components`) is: its largest jump between
    the counts 2 to ``max_components`` over the next largest; inf with
    fewer than two jumps or where the next is zero."""
    gaps = np.sort(np.diff(values)[1:max_components])[::-1]
    if len(gaps) < 2 or gaps[1] <= 0:
        return np.inf
    return float(gaps[0] / gaps[1])


def count_components(embedding, max_components, seed):
    """The number of clusters ``n_components="auto"`` takes.

    The eigengap's (:func:`eigengap_components`) up to
    ``MODULARITY_COUNT_MIN_ROWS`` rows. Above, the eigengap's where its
    largest jump is at least ``EIGENGAP_DECISIVE_RATIO`` times the next, or
    where the consensus cut into that many clusters leaks less than
    ``TOUCHING_LEAK`` of the neighbour graph's weight (its groups barely
    touch); otherwise the groups touch and the count is the one of highest
    modularity (:func:`modularity_components`).
    """
    found, values = eigengap_components(embedding, max_components, seed)
    if embedding.shape[0] <= MODULARITY_COUNT_MIN_ROWS or found < 2:
        return found
    if eigengap_ratio(values, max_components) >= EIGENGAP_DECISIVE_RATIO:
        return found
    by_modularity, _, leaks = modularity_components(embedding, max_components, seed)
    if by_modularity < 2 or leaks[found - 2] < TOUCHING_LEAK:
        return found
    return by_modularity


def spectral_labels(embedding, n_components, seed, n_neighbors=None, max_rows=None):
    """Spectral clustering of the rows of ``embedding`` on their
    locally scaled ``n_neighbors``-nearest-neighbour graph
    (:func:`self_tuning_graph`), or on a denser one where its partition
    leaks less of that graph (``SPECTRAL_DENSER_RATIO``).

    The rows of a diffusion map of the graph (Coifman and Lafon, 2006,
    "Diffusion maps", Applied and Computational Harmonic Analysis 21(1)):
    the ``SPECTRAL_MAPS * n_components`` leading eigenvectors of its
    normalised adjacency (:func:`leading_eigenvectors`), each scaled by its
    eigenvalue to the power ``SPECTRAL_DIFFUSION_TIME``, each row then
    scaled to unit length, are cut by KMeans (as Ng, Jordan and Weiss,
    2001, "On spectral clustering: analysis and an algorithm", NIPS, cut
    the ``n_components`` leading ones): the partition of least inertia
    among KMeans' restarts and further single runs, or one of those runs
    when it separates the graph's groups clearly better
    (:func:`separating_partition`). That partition is kept unless
    the one that KMeans cuts from the ``n_components`` leading eigenvectors
    alone has a normalised cut (:func:`weighted_cut`) below
    ``SPECTRAL_MAX_CUT_RATIO`` times its own. Where noise joins the groups,
    the same partition of the densest rows (:func:`core_partition`)
    replaces it when it separates the graph of all rows clearly (a
    normalised cut under ``SPECTRAL_SEPARATED_CUT``) and, on the edges
    between core rows, cuts less than the partition of all rows does. Both
    cuts are read on the graph of all rows, because on the core's own graph
    a sparser group that lost rows to the core can fall apart into pieces
    that look separate; the comparison leaves the rows outside the core
    out, because the sparse rows between groups carry most of either
    partition's cut, and which partition they favour says little about
    which one parts the groups. The core partition costs as much again as
    the partition of all rows. The graph of ``SPECTRAL_DENSER_RATIO`` times
    as many neighbours is cut the same way (:func:`graph_labels`), and its
    partition is kept where it leaks less of the asked graph's neighbour
    weight (:func:`start_leak`) than the asked graph's own partition does:
    neither the spectral cut of a graph nor its core partition need be the
    graph's least leaky partition (on a swiss roll the densest rows of the
    15-neighbour graph are its inner turns, which the core partition halves
    instead of the roll), and where the denser graph joins groups, its
    partition cuts across one and leaks more of the asked graph. That more
    than doubles the cost of the cut. Rows
    connected through the graph end up together whatever the shape of their group,
    where a Gaussian mixture cuts a curved or nested group in pieces.
    Computed on a seeded subset of at most ``max_rows`` rows (default
    ``SPECTRAL_ROWS``); the other rows get -1.
    """
    n_neighbors = SPECTRAL_NEIGHBORS if n_neighbors is None else n_neighbors
    max_rows = SPECTRAL_ROWS if max_rows is None else max_rows
    rng = np.random.default_rng(seed)
    rows = seeded_rows(embedding.shape[0], max_rows, rng)
    subset = embedding[rows]
    if len(subset) <= n_components:
        return None
    state = int(rng.integers(0, 2**31 - 1))
    labels = graph_labels(subset, n_components, n_neighbors, state)
    denser = int(round(SPECTRAL_DENSER_RATIO * n_neighbors))
    if n_neighbors < denser < len(subset) - 1:
        rival = graph_labels(subset, n_components, denser, state)
        near, shares = neighbour_shares(subset, n_neighbors)
        if start_leak(near, shares, rival) < start_leak(near, shares, labels):
            labels = rival
    out = np.full(embedding.shape[0], -1, dtype=np.intp)
    out[rows] = labels
    return out


def graph_labels(rows, n_components, n_neighbors, seed):
    """The spectral partition of the ``n_neighbors``-nearest-neighbour
    graph of ``rows`` (:func:`self_tuning_graph`, :func:`graph_partition`),
    or the partition of its densest rows (:func:`core_partition`) where that
    one cuts the graph less than ``SPECTRAL_SEPARATED_CUT`` and the edges
    between core rows less than the partition of all rows does (see
    :func:`spectral_labels`)."""
    graph = self_tuning_graph(rows, n_neighbors)
    labels = graph_partition(graph, n_components, seed)
    core, dense = core_partition(rows, n_components, n_neighbors, seed, True)
    if core is not None and weighted_cut(graph, core, n_components) < (
        SPECTRAL_SEPARATED_CUT
    ):
        outside = np.ones(len(rows), dtype=bool)
        outside[dense] = False
        if weighted_cut(graph, np.where(outside, -1, core), n_components) < (
            weighted_cut(graph, np.where(outside, -1, labels), n_components)
        ):
            labels = core
    return labels


def graph_partition(graph, n_components, seed):
    """The spectral partition of the rows of ``graph`` (see
    :func:`spectral_labels`)."""
    n_maps = min(SPECTRAL_MAPS * n_components, graph.shape[0] - 1)
    values, vectors = leading_eigenvectors(graph, n_maps, seed)
    diffusion = vectors * np.power(np.clip(values, 0.0, None), SPECTRAL_DIFFUSION_TIME)
    labels = cut_spectral_rows(diffusion, n_components, seed)
    labels = separating_partition(graph, diffusion, labels, n_components, seed)
    fewer = cut_spectral_rows(vectors[:, :n_components], n_components, seed)
    leak = weighted_cut(graph, labels, n_components)
    if weighted_cut(graph, fewer, n_components) < SPECTRAL_MAX_CUT_RATIO * leak:
        labels = fewer
    return labels


def core_partition(rows, n_components, n_neighbors, seed, return_core=False):
    """The spectral partition of the densest rows, extended to the others.

    Noise between two groups joins them in the graph: on two noisy half
    moons the spectral partition of all rows cuts both moons across, as a
    Gaussian mixture does. The ``SPECTRAL_CORE_SHARE`` of ``rows`` nearest
    to their ``SELF_TUNING_LOCAL``-th nearest row (the densest) leave the
    sparse rows between groups out; their spectral partition
    (:func:`graph_partition` of their own graph) parts the groups, and each
    other row joins the cluster of most of its ``n_neighbors`` nearest core
    rows (a density-based clustering's split of core and border points;
    Ester et al., 1996, "A density-based algorithm for discovering clusters
    in large spatial databases with noise", KDD).

    None where the core is too small to part. With ``return_core``, the
    indices of the core rows too (None where there is no partition).
    """
    from sklearn.neighbors import NearestNeighbors

    n = rows.shape[0]
    n_core = int(SPECTRAL_CORE_SHARE * n)
    local = min(SELF_TUNING_LOCAL, n - 1)
    if n_core <= max(n_components, n_neighbors, local) or local < 1:
        return (None, None) if return_core else None
    dist = NearestNeighbors(n_neighbors=local).fit(rows).kneighbors()[0][:, -1]
    core = np.sort(np.argsort(dist, kind="stable")[:n_core])
    core_labels = graph_partition(
        self_tuning_graph(rows[core], n_neighbors), n_components, seed
    )
    search = NearestNeighbors(n_neighbors=n_neighbors).fit(rows[core])
    near = core_labels[search.kneighbors(rows, return_distance=False)]
    votes = np.zeros((n, n_components))
    np.add.at(votes, (np.repeat(np.arange(n), near.shape[1]), near.ravel()), 1)
    labels = votes.argmax(1)
    labels[core] = core_labels
    return (labels, core) if return_core else labels


def separating_partition(
    graph, maps, labels, n_components, seed, max_cut=None, max_ratio=None
):
    """The partition of ``maps`` that the spectral start keeps: of least
    inertia, or one that separates the groups of the graph clearly better.

    ``SPECTRAL_ROUNDINGS`` single KMeans runs from the seeds after ``seed``
    cut the rows of ``maps`` too. The partition of least
    :func:`map_inertia` among them and ``labels`` (KMeans' own choice among
    its restarts) is the least-inertia one: KMeans stops in a local minimum
    of its inertia, and on classes that touch (``load_digits``) ten
    restarts end in different minima from one seed to the next, while the
    further runs, made anyway, reach lower ones more consistently. The run
    with the least :func:`weighted_cut` replaces it when that cut is below
    ``SPECTRAL_SEPARATED_CUT`` (groups with almost no edge weight between
    them) and below ``SPECTRAL_MAX_CUT_RATIO`` times the least-inertia
    partition's (``max_cut`` and ``max_ratio`` replace those two): KMeans
    can cut two noisy rings across where another run parts them with a cut
    five times smaller. Where the groups touch, the least cut often cuts
    off a sliver or joins two groups (iris, digits), and where two cuts are
    close it does not rank them (noisy moons), so the least-inertia
    partition stays.
    """
    rows = unit_rows(maps)
    fit, fit_inertia = labels, _unit_inertia(rows, labels)
    runs, cuts, kept = [], [], None
    for r in range(1, SPECTRAL_ROUNDINGS + 1):
        candidate = cut_spectral_rows(maps, n_components, seed + r, n_init=1)
        runs.append(candidate)
        cuts.append(weighted_cut(graph, candidate, n_components))
        inertia = _unit_inertia(rows, candidate)
        # the same partition numbered otherwise differs by rounding only
        if inertia < fit_inertia * (1 - SPECTRAL_INERTIA_RTOL):
            fit, fit_inertia, kept = candidate, inertia, len(runs) - 1
    own = weighted_cut(graph, fit, n_components) if kept is None else cuts[kept]
    best, best_cut = fit, own
    for candidate, cut in zip(runs, cuts):
        if cut < best_cut:
            best, best_cut = candidate, cut
    max_cut = SPECTRAL_SEPARATED_CUT if max_cut is None else max_cut
    max_ratio = SPECTRAL_MAX_CUT_RATIO if max_ratio is None else max_ratio
    clearly = best_cut < max_cut and best_cut < max_ratio * own
    return best if clearly else fit


def map_inertia(maps, labels):
    """KMeans' objective for ``labels`` on the rows of ``maps`` as
    :func:`cut_spectral_rows` cuts them (scaled to unit length): the summed
    squared distances of the rows to their cluster's mean."""
    return _unit_inertia(unit_rows(maps), labels)


def _unit_inertia(rows, labels):
    """:func:`map_inertia` of rows already scaled to unit length."""
    total = 0.0
    for cluster in np.unique(labels):
        members = rows[labels == cluster]
        total += float(((members - members.mean(0)) ** 2).sum())
    return total


def unit_rows(maps):
    """The rows of ``maps`` scaled to unit length (zero rows stay zero)."""
    return maps / np.maximum(np.linalg.norm(maps, axis=1, keepdims=True), 1e-12)


def cut_spectral_rows(maps, n_components, seed, n_init=None):
    """KMeans (``n_init`` restarts, default ``SPECTRAL_KMEANS_INIT``) on the
    rows of ``maps``, each scaled to unit length."""
    from sklearn.cluster import KMeans

    n_init = SPECTRAL_KMEANS_INIT if n_init is None else n_init
    maps = unit_rows(maps)
    return KMeans(n_components, n_init=n_init, random_state=seed).fit_predict(maps)


def umap_labels(embedding, n_components, seed, max_rows=None):
    """A full-covariance Gaussian mixture on a UMAP layout of the rows of
    ``embedding``.

    UMAP (McInnes, Healy and Melville, 2018, arXiv:1802.03426) lays the
    ``UMAP_NEIGHBORS``-nearest-neighbour fuzzy graph out in
    ``min(n_components, UMAP_DIMS)`` dimensions with ``min_dist=0``, which
    packs each densely connected group into a compact blob; the mixture
    (``UMAP_GMM_INIT`` EM restarts, the likeliest kept) cuts the blobs.
    Computed on a seeded subset of at most ``max_rows`` rows (default
    ``UMAP_ROWS``); the other rows get -1.

    Returns
    -------
    labels : ndarray of shape (n,) or None
        None when umap-learn is not installed or the rows are too few.
    layout : ndarray of shape (n_used, d)
        The UMAP coordinates of the rows used (all rows when there are no
        more than ``max_rows``).
    """
    import warnings

    from sklearn.mixture import GaussianMixture

    try:
        import umap
    except ImportError:
        return None, None
    max_rows = UMAP_ROWS if max_rows is None else max_rows
    rng = np.random.default_rng(seed)
    rows = seeded_rows(embedding.shape[0], max_rows, rng)
    subset = embedding[rows]
    dims = min(n_components, UMAP_DIMS)
    if len(subset) <= max(n_components, dims + 2, UMAP_NEIGHBORS):
        return None, None
    state = int(rng.integers(0, 2**31 - 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layout = umap.UMAP(
            n_neighbors=UMAP_NEIGHBORS,
            n_components=dims,
            min_dist=0.0,
            random_state=state,
        ).fit_transform(subset)
        labels = GaussianMixture(
            n_components, covariance_type="full", n_init=UMAP_GMM_INIT, random_state=state
        ).fit_predict(layout)
    out = np.full(embedding.shape[0], -1, dtype=np.intp)
    out[rows] = labels
    return out, layout


def weighted_cut(graph, labels, n_components):
    """The normalised cut of ``labels`` on the weighted ``graph``, divided
    by ``n_components``: the mean over clusters of the share of each
    cluster's edge weight that leads to another cluster. Rows labelled -1
    are left out; an empty cluster counts as all cut."""
    coo = graph.tocoo()
    head, tail = labels[coo.row], labels[coo.col]
    kept = (head >= 0) & (tail >= 0)
    head, tail, weight = head[kept], tail[kept], coo.data[kept]
    volume = np.bincount(head, weights=weight, minlength=n_components)
    leaving = head != tail
    cut = np.bincount(head[leaving], weights=weight[leaving], minlength=n_components)
    return float(np.where(volume > 0, cut / np.maximum(volume, 1e-300), 1.0).mean())


def graph_leak(near, labels, n_components):
    """Mean over clusters of the share of each cluster's edge ends (in the
    symmetrised graph whose rows' neighbours are ``near``) that lead to
    another cluster: the normalised cut divided by ``n_components``. Rows
    labelled -1 are left out; an empty cluster counts as all leak (see
    :func:`weighted_cut`, here with every edge of weight 1)."""
    return weighted_cut(symmetric_graph(near), labels, n_components)


def checked_labels(embedding, n_components, seed, n_neighbors=None):
    """The partition of the UMAP start, unless it cuts the neighbour graph
    clearly worse than the spectral start's: then that one.

    Both partitions are computed (:func:`umap_labels`,
    :func:`spectral_labels`, the same rows) and scored by
    :func:`graph_leak` on the ``n_neighbors``-nearest-neighbour graph; the
    UMAP partition is kept unless its leak exceeds the spectral one's by
    more than ``CHECKED_MAX_EXTRA_LEAK``. UMAP packs densely connected
    groups into blobs and finds groups spectral clustering merges (digits),
    but on a few hundred rows it can break a small group apart, which shows
    as edges cut inside it.

    Returns
    -------
    labels : ndarray of shape (n,) or None
        As :func:`spectral_labels`.
    layout : ndarray or None
        The UMAP layout when its partition is kept, else None.
    """
    spectral = spectral_labels(embedding, n_components, seed, n_neighbors)
    found, layout = umap_labels(embedding, n_components, seed)
    if found is None or spectral is None:
        return spectral, None
    n_neighbors = SPECTRAL_NEIGHBORS if n_neighbors is None else n_neighbors
    rows = np.flatnonzero((spectral >= 0) & (found >= 0))
    near = neighbor_indices(embedding[rows], n_neighbors)
    if not umap_partition_holds(near, found[rows], spectral[rows], n_components):
        return spectral, None
    return found, layout


def umap_partition_holds(near, umap_part, spectral_part, n_components):
    """Whether the UMAP partition's :func:`graph_leak` on the graph of
    ``near`` exceeds the spectral partition's by no more than
    ``CHECKED_MAX_EXTRA_LEAK``."""
    extra = graph_leak(near, umap_part, n_components) - graph_leak(
        near, spectral_part, n_components
    )
    return extra <= CHECKED_MAX_EXTRA_LEAK


def start_leak(near, weights, labels):
    """How much the partition ``labels`` cuts through the neighbour graph:
    the mean over rows of the share of a row's neighbour weight that falls
    on rows of another cluster (0 for clusters with no edge between them).

    Parameters
    ----------
    near : ndarray of shape (n, k)
        Neighbours of each row.
    weights : ndarray of shape (n, k)
        Their shares, rows summing to 1.
    labels : ndarray of shape (n,)
    """
    labels = np.asarray(labels)
    return float((weights * (labels[near] != labels[:, None])).sum(1).mean())


def neighbour_shares(embedding, n_neighbors):
    """Each row's ``n_neighbors`` nearest other rows of ``embedding`` and
    their shares of the row's neighbour weight: the weights of
    :func:`self_tuning_weights`, each row's summing to 1."""
    near, weights = self_tuning_weights(embedding, n_neighbors)
    return near, weights / np.maximum(weights.sum(1, keepdims=True), 1e-300)


def anchor_shares(embedding, n_neighbors, n_anchors, seed):
    """As :func:`neighbour_shares`, with each row's neighbours taken among
    at most ``n_anchors`` rows drawn with ``seed`` (all rows when there are
    no more): the cost of the search grows with the anchors, not with the
    square of the rows. A row is not its own neighbour."""
    from sklearn.neighbors import NearestNeighbors

    n = embedding.shape[0]
    if n <= n_anchors:
        return neighbour_shares(embedding, n_neighbors)
    anchors = np.sort(np.random.default_rng(seed).choice(n, n_anchors, replace=False))
    k = min(int(n_neighbors), n_anchors - 1)
    search = NearestNeighbors(n_neighbors=k + 1).fit(embedding[anchors])
    dist, near = search.kneighbors(embedding)
    near = anchors[near]
    # drop each anchor's own entry, and the farthest of the other rows
    dropped = near == np.arange(n)[:, None]
    dropped[~dropped.any(axis=1), -1] = True
    near, dist = near[~dropped].reshape(n, k), dist[~dropped].reshape(n, k)
    weights = edge_weights(dist, near)
    return near, weights / np.maximum(weights.sum(1, keepdims=True), 1e-300)


def weighted_resample(rows, weights, seed):
    """As many of ``rows`` as there are, drawn with replacement in
    proportion to ``weights`` with ``seed``: weighted rows for an estimator
    that takes none (``GaussianMixture``)."""
    return rows[resample_indices(rows.shape[0], weights, seed)]


def resample_indices(n_rows, weights, seed):
    """The indices of :func:`weighted_resample`'s rows: ``n_rows`` draws
    with replacement in proportion to ``weights``, with ``seed``."""
    return np.random.default_rng(seed).choice(n_rows, n_rows, p=weights / weights.sum())


def full_covariance_estimable(n_rows, n_features, n_components):
    """Whether ``n_rows`` split evenly into ``n_components`` clusters leave
    each cluster ``INPUT_MIXTURE_ROWS_PER_FEATURE`` rows per feature, and
    the mixture's covariance matrices, ``n_features * (n_features + 1) / 2``
    free entries each, have at most ``INPUT_MIXTURE_ENTRIES_PER_ROW``
    entries per row in all."""
    per_cluster = n_rows / n_components
    entries = n_components * n_features * (n_features + 1) / 2
    return (
        per_cluster >= INPUT_MIXTURE_ROWS_PER_FEATURE * n_features
        and entries <= INPUT_MIXTURE_ENTRIES_PER_ROW * n_rows
    )


def input_mixture_labels(inputs, n_components, seed, weights=None):
    """The clusters of a ``GaussianMixture`` of the input rows
    (:func:`input_mixture`: full, tied or diagonal covariances, the shape
    chosen on held-out rows), or None where the input has not the rows for
    a full covariance per cluster (see :func:`full_covariance_estimable`).
    None too, whatever the shape, where the likeliest mixture has a cluster
    of no more rows than features: a full covariance of it is then
    singular but for the regularisation, and the likelihood grows without
    telling classes apart (on ``load_wine`` one seed in 24 of the full
    mixture gave a cluster of three rows).

    Parameters
    ----------
    inputs : ndarray of shape (n, n_features)
        The rows as the network sees them.
    """
    n, n_features = inputs.shape
    if n <= n_components or not full_covariance_estimable(n, n_features, n_components):
        return None
    labels = input_mixture(inputs, n_components, seed, weights)
    if undetermined_cluster(labels, n_components, n_features, weights):
        return None
    if flat_cluster(inputs, labels, n_components, weights):
        return None
    return labels


def flat_cluster(inputs, labels, n_components, weights=None):
    """Whether a cluster of ``labels`` takes a single value on a feature
    that varies over the rows (of positive weight): its covariance is then
    singular but for the regularisation, as where it has too few rows.

    On features of few values (binary answers, counts) the likeliest
    full-covariance mixture gathers rows that agree on some features
    exactly, and its likelihood grows with each such feature whatever
    the groups: on four groups of 300 rows in 30 binary features the
    mixture of the input rows parted them at 0.47, ``KMeans`` at 0.93.
    """
    kept = slice(None) if weights is None else np.asarray(weights) > 0
    rows, labels = np.asarray(inputs)[kept], np.asarray(labels)[kept]
    varies = rows.max(axis=0) > rows.min(axis=0)
    for k in range(n_components):
        own = rows[labels == k]
        if len(own) and np.any(varies & (own.max(axis=0) == own.min(axis=0))):
            return True
    return False


def undetermined_cluster(labels, n_components, n_features, weights=None):
    """Whether a cluster of ``labels`` has no more rows (of positive
    weight) than ``n_features``: a full covariance that its rows do not
    determine, singular but for the regularisation."""
    counted = labels if weights is None else labels[np.asarray(weights) > 0]
    return bool(np.bincount(counted, minlength=n_components).min() <= n_features)


def input_mixture(inputs, n_components, seed, weights=None):
    """The clusters of the likeliest of ``INPUT_MIXTURE_INIT`` EM runs of a
    ``GaussianMixture`` of the rows of ``inputs`` whose covariance shape
    (full, tied or diagonal) holds out best (:func:`held_out_shape`), each
    run started from KMeans. With ``weights``, fitted on as many rows drawn
    with replacement in proportion to them.

    The mixture's likelihood does not depend on how the features are
    scaled, but the KMeans runs that start EM do: the rows are scaled to
    unit (weighted) variance first, so that no feature is too narrow for
    KMeans to cut along it.
    """
    from sklearn.mixture import GaussianMixture

    inputs, train, drawn = scaled_inputs(inputs, seed, weights)
    gmm = GaussianMixture(
        n_components=n_components,
        covariance_type=held_out_shape(train, n_components, seed, groups=drawn),
        reg_covar=INPUT_MIXTURE_REG,
        n_init=INPUT_MIXTURE_INIT,
        random_state=int(seed) % (2**32),
    ).fit(train)
    return gmm.predict(inputs)


def held_out_shape(rows, n_components, seed, groups=None):
    """The covariance shape of ``INPUT_MIXTURE_SHAPES`` whose mixture of
    ``n_components`` gives held-out rows the highest log-likelihood
    (:func:`held_out_scores`); on a tie, the first of them (full).

    A full covariance per cluster parts classes of any orientation, but
    fitted on few rows per feature it follows the sample's noise, and the
    partition with it; a shared (tied) or diagonal covariance has fewer
    entries to estimate. The held-out likelihood weighs the two without
    the labels: on ``load_wine`` (178 rows, 13 features) it chooses the
    tied shape (the mixture of the input alone parts the classes at 0.961
    with full covariances, 0.983 tied, over three seeds), on twenty count
    features the diagonal one (0.924 full, 0.935 diagonal), and it keeps the
    full shape on ``load_iris``, ``load_breast_cancer`` and
    ``make_classification``, whose classes are correlated Gaussians. It is
    not accuracy: on nested Gaussian shells and on spiral arms turned into
    30 features it prefers the tied shape, which parts fewer rows than the
    full one (0.382 against 0.439, 0.561 against 0.706;
    ``benchmarks/experiments/bench_input_shape.py``).
    """
    scores = held_out_scores(rows, n_components, seed, groups)
    return max(INPUT_MIXTURE_SHAPES, key=scores.get)


def held_out_scores(rows, n_components, seed, groups=None):
    """Each covariance shape of ``INPUT_MIXTURE_SHAPES`` with the
    log-likelihood that its mixture of ``n_components``, fitted on all but
    one of ``INPUT_MIXTURE_FOLDS`` folds of ``rows`` (at most
    ``INPUT_MIXTURE_SHAPE_ROWS`` of them, drawn with ``seed``), gives the
    rows of the fold left out, summed over the folds (one EM run each,
    started from KMeans).

    Parameters
    ----------
    rows : ndarray of shape (n, n_features)
        The standardised rows (or a weighted resample of them).
    n_components : int
        The mixture's number of clusters.
    seed : int
        Seeds the draw of rows, the folds and the EM runs.
    groups : ndarray of shape (n,), default=None
        One entry per row of ``rows`` (before the draw): rows of one group
        fall in one held-out fold (:func:`shape_folds`). Given the indices
        that a weighted resample drew (:func:`resample_indices`), no copy
        of a held-out row is among the rows fitted.

    Returns
    -------
    dict
        The summed held-out log-likelihood, by shape.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    state = int(seed) % (2**32)
    kept = seeded_rows(rows.shape[0], INPUT_MIXTURE_SHAPE_ROWS, np.random.default_rng(seed))
    rows = rows[kept]
    groups = None if groups is None else np.asarray(groups)[kept]
    folds = shape_folds(len(rows), state, groups, n_components)
    held = {}
    for shape in INPUT_MIXTURE_SHAPES:
        held[shape] = 0.0
        for fit_rows, test_rows in folds:
            gmm = GaussianMixture(
                n_components, covariance_type=shape, reg_covar=INPUT_MIXTURE_REG, random_state=state
            )
            with warnings.catch_warnings():
                # a run stopped by max_iter is still compared on held-out rows
                warnings.simplefilter("ignore", ConvergenceWarning)
                gmm.fit(rows[fit_rows])
            held[shape] += float(gmm.score_samples(rows[test_rows]).sum())
    return held


def shape_folds(n_rows, state, groups=None, n_components=1):
    """The (fitted, held-out) row indices of ``INPUT_MIXTURE_FOLDS`` folds,
    shuffled with ``state``.

    Parameters
    ----------
    n_rows : int
    state : int
    groups : ndarray of shape (n_rows,), default=None
        Each group's rows fall in one held-out fold: the distinct groups
        are dealt to the folds in a shuffled order, so the folds hold
        about as many groups each, not as many rows. Where there are fewer
        groups than folds, or a fold's fitted rows would hold fewer than
        ``n_components`` groups, the rows are split as without groups.
    n_components : int, default=1

    Returns
    -------
    list of (ndarray, ndarray)
        Without ``groups``, the folds of a shuffled ``KFold``.
    """
    from sklearn.model_selection import KFold

    if groups is not None:
        distinct, member = np.unique(groups, return_inverse=True)
        dealt = np.random.RandomState(state).permutation(len(distinct)) % INPUT_MIXTURE_FOLDS
        smallest_fitted = len(distinct) - np.bincount(dealt, minlength=INPUT_MIXTURE_FOLDS).max()
        if len(distinct) >= INPUT_MIXTURE_FOLDS and smallest_fitted >= n_components:
            fold = dealt[member]
            return [
                (np.flatnonzero(fold != f), np.flatnonzero(fold == f))
                for f in range(INPUT_MIXTURE_FOLDS)
            ]
    split = KFold(INPUT_MIXTURE_FOLDS, shuffle=True, random_state=state)
    return list(split.split(np.zeros(n_rows)))


def scaled_inputs(inputs, seed, weights=None):
    """The rows of ``inputs`` scaled to zero mean and unit (weighted)
    variance per feature (:func:`standardised`), the rows a mixture is
    fitted on: the same, or with ``weights`` as many rows drawn with
    replacement in proportion to them (``GaussianMixture`` takes no
    weights), and the indices drawn (None without ``weights``)."""
    inputs = standardised(inputs, weights)
    if weights is None:
        return inputs, inputs, None
    drawn = resample_indices(inputs.shape[0], weights, seed)
    return inputs, inputs[drawn], drawn


def standardised(inputs, weights=None):
    """The rows of ``inputs`` scaled to zero mean and unit (weighted)
    variance per feature; a constant feature is only centred."""
    mean = np.average(inputs, axis=0, weights=weights)
    spread = np.sqrt(np.average((inputs - mean) ** 2, axis=0, weights=weights))
    return (inputs - mean) / np.where(spread > 0, spread, 1.0)


def graph_space(embedding, inputs, n_components, seed, n_neighbors=None, weights=None):
    """The rows whose neighbour graph the ``"spectral_or_gaussian"`` and
    ``"gaussian"`` starts cut, their spectral partition
    (:func:`spectral_labels`), its leak (:func:`partition_leak`) and the
    neighbours of each row in the graph it was cut from
    (:func:`sparse_partition`).

    The rows are the input rows, standardised, where they have no more
    features than the embedding has dimensions; where they have more, the
    embedding where its partition is clean (a leak below
    ``TOUCHING_LEAK``) and leaks less of its ``n_neighbors``-nearest-
    neighbour graph than the input rows' partition leaks of theirs (or as
    much), else the input rows; the embedding where ``inputs`` is None.

    Two graphs' leaks are compared only where the embedding's partition is
    clean: an autoencoder can gather rows into clumps that are not the
    groups, and a partition that touches in its graph then leaks less than
    the input rows' one on theirs while it cuts across the groups. On two
    groups of 16 binary features (votes-like, four seeds of twelve) the
    embedding's partition leaked 0.051-0.077 of its graph at accuracy
    0.50-0.56, the input rows' 0.083 at 0.931; on the input rows' graph
    the embedding's partition leaked more (0.106-0.166).

    An autoencoder that has nothing to compress can only bend the
    neighbourhoods of its input: on five spiral arms in 2-D, default fits
    started from the input rows' graph reach 0.984 over twelve seeds (worst
    0.978), where those started from the 10-dimensional embedding's joined
    pieces of arms on some (0.951, worst 0.817). One that has something to
    compress can still bend curved groups that the input's graph keeps
    apart: on two circles turned into 20 features the spectral partition of
    the input rows' graph leaks 0.001 of a row's neighbour weight, the
    embedding's 0.017 to 0.027, which on some seeds sent the start to the
    input's Gaussian mixture, which cuts the rings across (three seeds:
    0.9995 against 0.668). The input rows come only where they can carry a
    full covariance per cluster (otherwise ``inputs`` is None).

    Returns
    -------
    rows : ndarray of shape (n, d)
    labels : ndarray of shape (n,) or None
    leak : float
        On the graph the partition was cut from; ``inf`` where ``labels``
        is None.
    n_neighbors : int
        Neighbours of each row in that graph.
    """
    n_neighbors = SPECTRAL_NEIGHBORS if n_neighbors is None else int(n_neighbors)
    spaces = [embedding]
    if inputs is not None:
        scaled = standardised(inputs, weights)
        spaces = [scaled] if inputs.shape[1] <= embedding.shape[1] else [embedding, scaled]
    found = [
        (rows, sparse_partition(rows, n_components, seed, n_neighbors, inputs is not None))
        for rows in spaces
    ]
    embedded = found[0][1][1]
    if len(found) > 1 and (embedded >= TOUCHING_LEAK or embedded > found[1][1][1]):
        found = found[1:]  # the embedding's partition touches or leaks more
    rows, (labels, _, leak, count) = found[0]
    return rows, labels, leak, count


def sparse_partition(rows, n_components, seed, n_neighbors, sparse=True):
    """The spectral partition of the ``n_neighbors``-nearest-neighbour
    graph of ``rows``, or, where it touches (a leak of at least
    ``TOUCHING_LEAK``) and ``sparse``, that of the graph of
    ``SPARSE_NEIGHBORS_SHARE`` times as many neighbours where it does not
    touch on its own graph and leaks less on the first. Not where the
    partition leaves rows out (above ``SPECTRAL_ROWS``), whose start is
    spectral either way. Each of the two may come from a graph of
    ``SPECTRAL_DENSER_RATIO`` times as many neighbours
    (:func:`spectral_labels`); the leaks are read on the graphs of
    ``n_neighbors`` and of the sparser count.

    A graph of many neighbours can join groups that lie close in a few of
    many noisy features, and its spectral partition then cuts the joined
    groups elsewhere than between them: on three spiral arms turned into
    30 features the partition of the 15-neighbour graph leaks 0.039 of its
    weight (accuracy 0.964), that of the 7-neighbour graph 0.022 of the
    same graph's weight and 0.015 of its own (0.996). A cluster of no more
    rows than ``n_neighbors`` is a clump the sparser graph cut off, not a
    group the first graph joined: rows that repeat (one-hot categories)
    make such clumps, cliques of a few identical rows, which a graph of
    seven neighbours leaves unjoined to the rest (clusters of 8 and 12
    rows beside 580); the first partition is kept then.

    Returns
    -------
    labels : ndarray of shape (n,) or None
    leak : float
        On the ``n_neighbors`` graph (``inf`` where ``labels`` is None).
    own_leak : float
        On the graph ``labels`` was cut from.
    n_neighbors : int
        Neighbours of each row in that graph.
    """
    labels = spectral_labels(rows, n_components, seed, n_neighbors)
    if labels is None or np.any(labels < 0):  # rows left out: a start of its own
        leak = np.inf if labels is None else partition_leak(rows, labels, n_neighbors)
        return labels, leak, leak, n_neighbors
    near, shares = neighbour_shares(rows, n_neighbors)  # every row labelled
    leak = start_leak(near, shares, labels)
    fewer = int(n_neighbors * SPARSE_NEIGHBORS_SHARE)
    if not sparse or leak < TOUCHING_LEAK or fewer < 2:
        return labels, leak, leak, n_neighbors
    cut = spectral_labels(rows, n_components, seed, fewer)
    if cut is None or np.any(cut < 0):
        return labels, leak, leak, n_neighbors
    own, wide = partition_leak(rows, cut, fewer), start_leak(near, shares, cut)
    if own < TOUCHING_LEAK and wide < leak and (
        np.bincount(cut, minlength=n_components).min() > n_neighbors
    ):
        return cut, wide, own, fewer
    return labels, leak, leak, n_neighbors


def partition_leak(rows, labels, n_neighbors=None):
    """:func:`start_leak` of ``labels`` on the ``n_neighbors``-nearest-
    neighbour graph (default ``SPECTRAL_NEIGHBORS``) of the labelled
    ``rows`` (those labelled -1 left out)."""
    n_neighbors = SPECTRAL_NEIGHBORS if n_neighbors is None else n_neighbors
    kept = np.asarray(labels) >= 0
    rows, labels = (rows, labels) if kept.all() else (rows[kept], labels[kept])
    near, shares = neighbour_shares(rows, n_neighbors)
    return start_leak(near, shares, labels)


def refined_labels(inputs, labels, n_components, seed, weights=None):
    """The clusters of a full-covariance ``GaussianMixture`` of the input
    rows whose EM starts at the clusters of ``labels``, or None where EM
    moves more than ``REFINED_MOVED_SHARE`` of the rows (weighted), or
    where ``labels`` or EM's partition has a cluster of no more rows (of
    positive weight) than features.

    EM started at a partition whose groups are Gaussian in the input keeps
    the groups and moves only the rows near their boundaries, to the side
    the mixture finds likelier; from the clusters of curved or nested groups
    it moves whole arcs, or collapses a ring into its neighbour.

    Parameters
    ----------
    inputs : ndarray of shape (n, n_features)
        The rows as the network sees them.
    labels : ndarray of shape (n,)
        A partition of every row into ``n_components`` clusters.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    n_features = inputs.shape[1]
    scaled, train, _ = scaled_inputs(inputs, seed, weights)
    shares = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    if undetermined_cluster(labels, n_components, n_features, shares):
        return None
    sizes, means, precisions = [], [], []
    for k in range(n_components):
        rows, share = scaled[labels == k], shares[labels == k]
        sizes.append(share.sum())
        means.append(np.average(rows, axis=0, weights=share))
        covariance = np.cov(rows, rowvar=False, bias=True, aweights=share)
        covariance = covariance.reshape(n_features, n_features)
        precisions.append(np.linalg.inv(covariance + INPUT_MIXTURE_REG * np.eye(n_features)))
    gmm = GaussianMixture(
        n_components=n_components,
        covariance_type="full",
        reg_covar=INPUT_MIXTURE_REG,
        weights_init=np.array(sizes) / np.sum(sizes),
        means_init=np.array(means),
        precisions_init=np.array(precisions),
        init_params="random_from_data",
        random_state=int(seed) % (2**32),
    )
    with warnings.catch_warnings():
        # EM stopped by max_iter still moved rows towards the likelier side;
        # the moved share below decides whether its partition is taken
        warnings.simplefilter("ignore", ConvergenceWarning)
        found = gmm.fit(train).predict(scaled)
    moved = shares[found != labels].sum() / shares.sum()
    if undetermined_cluster(found, n_components, n_features, shares):
        return None
    return None if moved > REFINED_MOVED_SHARE else found


def gmm_components(embedding, n_components, seed, weights=None):
    """Means and variances of a diagonal ``GaussianMixture`` fitted on
    ``embedding`` (the start of VaDE). With ``weights``, on as many rows
    drawn with replacement in proportion to them (``GaussianMixture`` takes
    no weights).

    Returns
    -------
    means, variances : ndarray of shape (n_components, d)
    """
    from sklearn.mixture import GaussianMixture

    if weights is not None:
        embedding = weighted_resample(embedding, weights, seed)

    gmm = GaussianMixture(
        n_components=n_components,
        covariance_type="diag",
        reg_covar=1e-4,
        n_init=1,
        max_iter=200,
        random_state=int(seed) % (2**32),
    ).fit(embedding)
    return gmm.means_, gmm.covariances_


def gaussian_or_spectral(
    embedding, inputs, n_components, seed, n_neighbors=None, touching_only=False, weights=None
):
    """The partition of the ``"gaussian"`` start (``touching_only``: of
    the ``"spectral_or_gaussian"`` one), see :func:`initial_components`, the
    start it is: ``"gaussian"``, ``"refined"``, ``"spherical"`` or
    ``"spectral"``, and the
    rows whose graph was cut (:func:`graph_space`; None for ``"gaussian"``).
    The graph is that of :func:`graph_space` (the embedding's or the
    standardised input rows').

    The spectral partition (:func:`spectral_labels`) parts groups that the
    graph separates, whatever their shape; where its
    clusters touch, the groups are not told apart by the graph, and a
    Gaussian mixture fitted on the input rows themselves
    (:func:`input_mixture_labels`) sees classes that the embedding has bent
    together. Where they do not touch and ``inputs`` are given, EM of a
    full-covariance mixture started at the spectral clusters refines their boundaries
    (``"refined"``) when it moves few rows (:func:`refined_labels`). A clean
    partition of a sparser graph than the one asked for gives way to that
    mixture unless it leaks less than ``SPARSE_RIVAL_RATIO`` times what the
    mixture leaks (:func:`sparse_rival`). Where the clusters touch and
    that mixture cannot be estimated (its clusters undetermined or flat on
    a feature, :func:`input_mixture_labels`), ``KMeans`` on the input rows
    started at them moves their boundaries (``"spherical"``,
    :func:`spherical_refined`).
    """
    spectral = None
    if touching_only:
        space, spectral, leak, count = graph_space(
            embedding, inputs, n_components, seed, n_neighbors, weights
        )
        if spectral is None or np.any(spectral < 0):
            return spectral, "spectral", space
        if leak < TOUCHING_LEAK:
            rival = sparse_rival(
                space, spectral, count, inputs, n_components, seed, n_neighbors, weights
            )
            if rival is not None:
                return rival, "gaussian", None
            found = None if inputs is None else refined_labels(
                inputs, spectral, n_components, seed, weights
            )
            return (spectral, "spectral", space) if found is None else (found, "refined", space)
    found = None
    if inputs is not None:
        found = input_mixture_labels(inputs, n_components, seed, weights)
    if found is not None:
        return found, "gaussian", None
    if spectral is None:
        space, spectral, _, _ = graph_space(
            embedding, inputs, n_components, seed, n_neighbors, weights
        )
    elif inputs is not None and not np.any(spectral < 0):  # touching, no mixture
        return spherical_refined(inputs, spectral, n_components, seed, weights), "spherical", space
    return spectral, "spectral", space


def spherical_refined(inputs, labels, n_components, seed, weights=None):
    """The clusters of ``KMeans`` on the standardised input rows
    (:func:`standardised`) started at the means of the clusters of
    ``labels``: the mixture of one shared spherical covariance, where the
    input's mixture (:func:`input_mixture_labels`) cannot be estimated.

    Where the graph's clusters touch, their boundaries are the graph's
    guess; the input's mixture would move them to the
    likelier side, but on features of few values it gathers rows that agree
    on one feature (:func:`flat_cluster`), and with few rows its clusters
    are undetermined. A shared spherical covariance is estimable in both
    cases: on four groups of 30 binary features the spectral partition of
    the input rows' graph is 0.924 accurate and ``KMeans`` from it 0.938, on
    two groups of 16 binary features 0.931 and 0.940.

    Parameters
    ----------
    inputs : ndarray of shape (n, n_features)
    labels : ndarray of shape (n,)
        A partition of every row into ``n_components`` clusters, none empty
        (else ``labels`` is returned).
    """
    from sklearn.cluster import KMeans

    scaled = standardised(inputs, weights)
    shares = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    sizes = np.bincount(labels, weights=shares, minlength=n_components)
    if np.any(sizes <= 0):
        return labels
    means = partition_moments(scaled, labels, n_components, weights)[0]
    search = KMeans(n_components, init=means, n_init=1, random_state=int(seed) % (2**32))
    return search.fit(scaled, sample_weight=shares).labels_.astype(labels.dtype)


def sparse_rival(rows, labels, count, inputs, n_components, seed, n_neighbors=None, weights=None):
    """The clusters of the Gaussian mixture of ``inputs``
    (:func:`input_mixture_labels`) where ``labels`` was cut from a sparser
    graph of ``rows`` than the ``n_neighbors`` one (``count`` neighbours,
    see :func:`sparse_partition`) and leaks at least ``SPARSE_RIVAL_RATIO``
    times as much as they do of the ``n_neighbors`` graph; else None (also
    where ``labels`` was cut from that graph itself or there is no such
    mixture).

    Small groups beside a large one can leave a sparse graph's spectral
    partition as clean as parted spiral arms do while it splits the large
    group; the mixture, which parts the groups, then leaks about as much
    of the first graph, or less.
    """
    n_neighbors = SPECTRAL_NEIGHBORS if n_neighbors is None else int(n_neighbors)
    if count >= n_neighbors or inputs is None:
        return None
    found = input_mixture_labels(inputs, n_components, seed, weights)
    if found is None:
        return None
    leak = partition_leak(rows, labels, n_neighbors)
    return found if leak >= SPARSE_RIVAL_RATIO * partition_leak(rows, found, n_neighbors) else None


def initial_components(
    embedding,
    n_components,
    seed,
    method="consensus",
    n_neighbors=None,
    return_labels=False,
    return_layout=False,
    weights=None,
    inputs=None,
    return_method=False,
):
    """Means and variances the mixture starts from.

    Parameters
    ----------
    embedding : ndarray of shape (n, d)
        Float64 rows of the pretrained embedding. At most
        ``MIXTURE_INIT_ROWS`` of them, drawn with ``seed``, are used.
    n_components : int
    seed : int
        Seed of every draw.
    method : {"spectral_or_gaussian", "spectral", "gaussian", "umap", "checked", "consensus", "gmm"} or callable, default="consensus"
        ``"spectral"``: the moments of the clusters of
        :func:`spectral_labels` on the ``n_neighbors``-nearest-neighbour
        graph (or a denser one, see there). ``"gaussian"``: those of :func:`input_mixture_labels`, the
        clusters of a Gaussian mixture of ``inputs`` (:func:`input_mixture`);
        ``"spectral"`` where it gives none (no ``inputs``, too few rows, or
        a cluster of no more rows than features). ``"spectral_or_gaussian"``: ``"spectral"``, unless its
        clusters touch in the graph (a :func:`start_leak` of at least ``TOUCHING_LEAK``), then
        ``"gaussian"`` where it can be estimated; where they do not, the
        spectral clusters refined by the mixture of ``inputs``
        (:func:`refined_labels`) when it moves few rows; where they touch
        and no mixture can be estimated, ``KMeans`` on the standardised
        ``inputs`` started at them (:func:`spherical_refined`). These two cut the
        graph of :func:`graph_space`: the standardised ``inputs`` where they
        have no more features than ``embedding`` has dimensions, or more and
        a spectral partition that leaks less unless the embedding's is clean
        and leaks no more; where the partition of that
        graph touches, the graph of half as many neighbours may part the
        groups instead (:func:`sparse_partition`, :func:`sparse_rival`). ``"umap"``: those of
        :func:`umap_labels`; ``"spectral"`` where umap-learn is not
        installed. ``"checked"``: those of
        :func:`checked_labels` (the UMAP partition unless it cuts the graph
        clearly worse than the spectral one); ``"spectral"`` without
        umap-learn. ``"consensus"``: those of the
        clusters of :func:`consensus_components`. All fall back to ``"gmm"``
        where the rows are too few. ``"gmm"``: a diagonal ``GaussianMixture`` (see
        :func:`gmm_components`). A callable is called as
        ``method(embedding, n_components, seed)`` on the rows used and
        returns the pair itself.
    n_neighbors : int or None
        Neighbours of the spectral graph; None takes ``SPECTRAL_NEIGHBORS``.
    return_labels : bool, default=False
        Also return the partition the moments come from.
    return_layout : bool, default=False
        Also return the start's layout where there is one: its UMAP
        coordinates, or the standardised ``inputs`` whose graph it cut.
    weights : ndarray of shape (n,) or None, default=None
        Weights of the rows: in the moments of every partition, the KMeans
        runs of ``"consensus"`` and the rows of ``"gmm"`` and of the input
        mixture. The spectral and UMAP graphs, and a callable, see each row
        once.
    inputs : ndarray of shape (n, n_features) or None, default=None
        The rows of the model's input that ``embedding`` encodes, as the
        network sees them; only the ``"gaussian"`` and
        ``"spectral_or_gaussian"`` starts read them.
    return_method : bool, default=False
        Also return the start that was made: ``"spectral"``,
        ``"gaussian"``, ``"refined"``, ``"spherical"``, ``"umap"``, ``"consensus"``, ``"gmm"`` (also where
        another start fell back to it) or ``"callable"``.

    Returns
    -------
    means, variances : ndarray of shape (n_components, d)
    labels : ndarray of shape (n,)
        Only with ``return_labels``: the cluster of each row of
        ``embedding`` in the partition of the start, -1 where it has none
        (rows left out, and every row for ``"gmm"`` and a callable).
    layout : ndarray of shape (n, d) or None
        Only with ``return_layout``: the UMAP coordinates of every row for
        ``"umap"`` (and ``"checked"`` when it keeps the UMAP partition), or
        the standardised ``inputs`` where a spectral, refined or spherical start cut
        their graph (:func:`graph_space`), when it used every row; else None.
    method : str
        Only with ``return_method``.
    """
    if not callable(method) and method not in INIT_METHODS + (SPECTRAL_OR_GAUSSIAN,):
        raise ValueError(f"unknown start {method!r}; use one of {INIT_METHODS}")
    labels = np.full(embedding.shape[0], -1, dtype=np.intp)
    rows = mixture_rows(embedding.shape[0], np.random.default_rng(seed))
    used = embedding if rows is None else embedding[rows]
    if weights is not None and rows is not None:
        weights = weights[rows]
    if inputs is not None and rows is not None:
        inputs = inputs[rows]
    found = layout = part = None
    if method == "umap":
        part, layout = umap_labels(used, n_components, seed)
        if rows is not None or part is None or len(layout) != len(used):
            layout = None
        if part is None:
            method = "spectral"
    elif method == "checked":
        part, layout = checked_labels(used, n_components, seed, n_neighbors)
        method = "spectral" if layout is None else "umap"  # the start it made
        if rows is not None or layout is None or len(layout) != len(used):
            layout = None
    taken = "callable" if callable(method) else method
    if callable(method):
        means, variances = method(used, n_components, int(seed))
        found = np.asarray(means, dtype=float), np.asarray(variances, dtype=float)
    elif method != "gmm":
        if method in (SPECTRAL_OR_GAUSSIAN, "gaussian"):
            touching_only = method == SPECTRAL_OR_GAUSSIAN
            part, taken, space = gaussian_or_spectral(
                used, inputs, n_components, seed, n_neighbors, touching_only, weights
            )
            layout = space if rows is None and space is not None and space is not used else None
        elif method == "spectral" and part is None:
            part = spectral_labels(used, n_components, seed, n_neighbors)
        elif method == "consensus":
            part = chosen_consensus_labels(used, n_components, seed, weights)
        if part is not None:
            found = partition_moments(used, part, n_components, weights)
            labels[slice(None) if rows is None else rows] = part
    if found is None:
        found = gmm_components(used, n_components, seed, weights)
        taken = "gmm"
    out = (*found, labels) if return_labels else found
    out = (*out, layout) if return_layout else out
    return (*out, taken) if return_method else out


def allocate_components(sizes, n_components):
    """Share ``n_components`` among clusters of the given sizes.

    In proportion to the sizes (largest remainder), with at least one for
    every non-empty cluster, none for an empty one, and never more than a
    cluster has rows. ``sizes`` must sum to at least ``n_components``, and
    the non-empty clusters be at most ``n_components``.

    Returns
    -------
    counts : ndarray of int, same shape as ``sizes``
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    quota = sizes * (n_components / sizes.sum())
    counts = np.where(sizes > 0, np.maximum(1, np.floor(quota)), 0).astype(np.int64)
    counts = np.minimum(counts, sizes)
    while counts.sum() < n_components:
        room = np.where(counts < sizes, quota - counts, -np.inf)
        counts[np.argmax(room)] += 1
    while counts.sum() > n_components:
        spare = np.where(counts > 1, counts - quota, -np.inf)
        counts[np.argmax(spare)] -= 1
    return counts


def split_components(embedding, labels, anchors, n_old, n_components, seed, weights=None):
    """Children of the components of a mixture, for ``n_components`` in all.

    Each component gets a share of the new components in proportion to the
    rows it holds (see :func:`allocate_components`), one per cluster of a
    KMeans partition of its rows' embedding. A child is its parent moved by
    the offset of its cluster's mean from where the parent's mean sits
    (``anchors``: the parent's mean at each row's w, averaged over its rows),
    with the variance of its cluster. Components that no row holds get no
    child.

    Parameters
    ----------
    embedding : ndarray of shape (n, d)
        Float64 posterior means of the rows.
    labels : ndarray of shape (n,)
        Component of each row, in ``range(n_old)``.
    anchors : ndarray of shape (n, d)
        Mean of each row's component at that row's w.
    n_old, n_components : int
        Components before and after.
    seed : int
        Seed of the row subset and of the KMeans runs.
    weights : ndarray of shape (n,) or None, default=None
        Weights of the rows in the KMeans runs and the moments (the shares
        count rows).

    Returns
    -------
    parents : list of int
    offsets, variances : ndarray of shape (n_components, d)
    """
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    rows = mixture_rows(embedding.shape[0], rng)
    if rows is not None:
        embedding, labels, anchors = embedding[rows], labels[rows], anchors[rows]
        weights = None if weights is None else weights[rows]
    counts = allocate_components(np.bincount(labels, minlength=n_old), n_components)
    spread = embedding.var(0) if embedding.shape[0] > 1 else np.ones(embedding.shape[1])
    parents, offsets, variances = [], [], []
    for component in np.flatnonzero(counts):
        mine = labels == component
        members = embedding[mine]
        member_weights = None if weights is None else weights[mine]
        centre = weighted_moments(anchors[mine], member_weights)[0]
        parts = KMeans(
            int(counts[component]),
            n_init=SPLIT_KMEANS_INIT,
            random_state=int(rng.integers(0, 2**31 - 1)),
        ).fit_predict(members, sample_weight=member_weights)
        for part in range(counts[component]):
            chosen = parts == part
            if not chosen.any():  # KMeans found fewer distinct points
                chosen = np.ones(len(members), dtype=bool)
            mean, var = weighted_moments(
                members[chosen], None if weights is None else member_weights[chosen]
            )
            parents.append(component)
            offsets.append(mean - centre)
            variances.append(var if chosen.sum() > 1 else spread)
    return parents, np.stack(offsets), np.maximum(np.stack(variances), 1e-4)
