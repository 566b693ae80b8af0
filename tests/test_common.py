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


@parametrize_with_checks([SMALL])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
