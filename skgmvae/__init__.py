"""skgmvae: deep unsupervised clustering with the Gaussian Mixture VAE as a
scikit-learn estimator."""

from ._estimator import GMVAEClustering

__version__ = "0.1.0"

__all__ = ["GMVAEClustering", "__version__"]
