"""Learning on the real bundled MNIST digits with the package's defaults (the paper's setup)."""

import numpy as np
import pytest

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier


@pytest.mark.slow
def test_default_qp_learns_mnist_in_two_epochs():
    splits = datasets.split(datasets.load("mnist5k"), 1000, 100)
    model = LayerSweepClassifier(epochs=2, random_state=0)
    model.fit(splits["train"].X, splits["train"].y)
    heldout = splits["heldout"]
    assert model.score(heldout.X[:1000], heldout.y[:1000]) >= 0.80
    assert model.history_[1]["train_error"] < model.history_[0]["train_error"] < 0.5
    assert 0 < model.history_[-1]["free_correct"] < 1
    assert np.isfinite(model.history_[-1]["gap_1-2"])
