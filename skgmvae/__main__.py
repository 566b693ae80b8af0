"""``python -m skgmvae``: the ``skgmvae`` command line.

With no command it runs the digits demo (GMVAEClustering, KMeans and
GaussianMixture on scikit-learn's ``load_digits``); ``fit`` clusters the rows
of a CSV or ``.npy`` file. ``python -m skgmvae --help`` lists the options.
"""

import sys

from ._cli import main
from ._demo import compare_models, run_demo

__all__ = ["compare_models", "main", "run_demo"]

if __name__ == "__main__":
    sys.exit(main())
