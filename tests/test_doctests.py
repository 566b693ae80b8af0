"""The Examples sections of the public modules run and print what they show."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["skgmvae.metrics", "skgmvae.model_selection"])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
