"""scikit-learn's own estimator checks."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgmvae import GMVAEClustering

SMALL = GMVAEClustering(
    n_components=3,
    latent_dim=2,
    noise_dim=2,
    hidden_layer_sizes=(16,),
    prior_hidden=8,
    max_iter=15,
    pretrain_epochs=15,
    kl_warmup=2,
    batch_size=32,
    n_score_samples=4,
)

#: Checks that cannot hold for a model fitted by stochastic minibatch steps,
#: with why; what does hold is tested elsewhere.
_WEIGHTS_IN_EXPECTATION = (
    "integer weights equal repeated rows in expectation only: repeated rows "
    "make more minibatch steps an epoch and another random stream "
    "(tests/test_sample_weight.py checks the expectation and that weight-0 "
    "rows equal absent rows exactly)"
)
EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": _WEIGHTS_IN_EXPECTATION,
    "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS_IN_EXPECTATION,
}

#: Checks written for classifiers: with a predict_proba they read the
#: classifier tags (None for a clusterer) and expect 2 or 4 classes. Fitting
#: and predicting on every sparse format is tested in tests/test_sparse.py.
EXPECTED_FAILURES.update(
    {
        name: "assumes a classifier's predict_proba; see tests/test_sparse.py"
        for name in ("check_estimator_sparse_array", "check_estimator_sparse_matrix")
    }
)


@parametrize_with_checks([SMALL], expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
