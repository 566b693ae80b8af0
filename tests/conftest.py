import os
from pathlib import Path

import pytest

#: The benchmark data sets live beside the repository, never downloaded.
DATA_DIR = Path(
    os.environ.get(
        "SKGMVAE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)


@pytest.fixture(scope="session")
def data_dir():
    if not (DATA_DIR / "mnist").is_dir():
        pytest.skip(f"benchmark data not found at {DATA_DIR} (set SKGMVAE_DATA)")
    return DATA_DIR
