"""LayerSweepClassifier in scikit-learn's ecosystem: its own conformance checks, model
selection, pipelines, any labels, probabilities from the physics, pickling and cloning."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from layersweep import LayerSweepClassifier, Recipe
from layersweep import data as datasets


def small(**params):
    return LayerSweepClassifier(**{"hidden_layer_sizes": (16,), "epochs": 5, "random_state": 0,
                                   "recipe": {"reads": 5}, **params})


@parametrize_with_checks([small()])
def test_scikit_learns_own_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    """600 training and 1000 held-out real digits."""
    splits = datasets.split(datasets.load(), 600, 0)
    return splits["train"], splits["heldout"]


def test_model_selection_and_pipelines_work(digits):
    train, _ = digits
    X, y = train.X[:300], train.y[:300]
    scores = cross_val_score(small(epochs=3), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.5  # chance is 0.1
    search = GridSearchCV(small(epochs=2, recipe=Recipe(reads=5)),
                          {"recipe__reads": [2, 5], "batch_size": [10, 20]}, cv=2)
    search.fit(X, y)
    assert set(search.best_params_) == {"recipe__reads", "batch_size"}
    assert search.best_estimator_.recipe.reads == search.best_params_["recipe__reads"]
    pipeline = make_pipeline(MinMaxScaler(), small(epochs=3)).fit(X * 255, y)
    assert pipeline.score(X * 255, y) > 0.6


def test_any_labels_round_trip():
    d = datasets.synthetic(n=90, features=12, classes=3, seed=2)
    names = np.array(["cat", "dog", "eel"])[d.y]
    model = small(redundancy=2).fit(d.X, names)
    assert model.classes_.tolist() == ["cat", "dog", "eel"] and model.n_features_in_ == 12
    assert set(model.predict(d.X)) <= {"cat", "dog", "eel"} and model.score(d.X, names) > 0.8
    sparse = np.array([3, 10, 42])[d.y]
    assert small(redundancy=2).fit(d.X, sparse).classes_.tolist() == [3, 10, 42]
    with pytest.raises(ValueError, match="not among the classes"):
        model.partial_fit(d.X[:5], np.array(["cat", "owl", "dog", "eel", "cat"]))


def test_probabilities_are_boltzmann_weights_that_learn(digits):
    """Rows sum to 1; their argmax is predict; the log-loss beats the uniform guess and falls
    as training proceeds."""
    train, held = digits
    model = small(hidden_layer_sizes=(60,), epochs=0, recipe={"reads": 10}).fit(train.X, train.y)
    losses = []
    for epochs in (1, 4):
        model.train_to(train.X, train.y, epochs)
        proba = model.predict_proba(held.X)
        assert proba.shape == (len(held), 10) and np.allclose(proba.sum(axis=1), 1)
        np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)],
                                      model.predict(held.X))
        losses.append(log_loss(held.y, proba, labels=model.classes_))
    assert losses[1] < losses[0] < np.log(10)
    scores = model.decision_function(held.X[:5])
    assert scores.shape == (5, 10)


def test_a_fitted_model_pickles_and_clones(digits):
    train, held = digits
    model = small(epochs=2).fit(train.X[:200], train.y[:200])
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(held.X[:100]), model.predict(held.X[:100]))
    fresh = clone(model)
    assert not hasattr(fresh, "trainer_") and fresh.get_params()["recipe"] == {"reads": 5}
