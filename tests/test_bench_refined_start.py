"""benchmarks/experiments/bench_refined_start.py runs end to end in its quick form."""


def test_quick_run_measures_the_refinement_and_both_fits_where_it_is_taken(
    tmp_path, quick_seed_table
):
    table, text = quick_seed_table(
        "bench_refined_start", tmp_path, "circles_small", "blobs_scaled"
    )
    from skgmvae._init import REFINED_MOVED_SHARE

    (rings,), (blobs,) = table["circles_small"], table["blobs_scaled"]
    # EM from two rings collapses one into the other: never taken
    assert not rings["taken"] and rings["default"] is None
    # the blobs' spectral start is clean and their 3 features carry the
    # mixture, which moves a few boundary rows at most
    assert blobs["em"] and blobs["taken"]
    assert 0.0 <= blobs["moved"] <= REFINED_MOVED_SHARE
    for key in ("spectral", "refined", "default", "unrefined"):
        assert 0.3 <= blobs[key] <= 1.0
    assert "| blobs_scaled | 1 | 1 |" in text and "| circles_small | 1 |" in text
