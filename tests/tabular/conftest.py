"""Fixtures for the tabular tests."""

from __future__ import annotations

import pytest

from tabular.helpers import write_config


@pytest.fixture
def trained(workspace, tmp_path):
    """A workspace with heart-disease:1 (logistic regression) trained on Cleveland."""
    from modelward.training import load_config, train_model

    result = train_model(workspace, load_config(write_config(tmp_path)))
    return result
