"""skgmvae: deep unsupervised clustering with the Gaussian Mixture VAE as a
scikit-learn estimator."""

from ._callbacks import Callback
from ._estimator import GMVAEClustering
from ._plotting import plot_history

__version__ = "0.1.0"

__all__ = ["Callback", "GMVAEClustering", "__version__", "plot_history"]
