"""The training loop's greedy start and parameter averaging (layersweep.train.Trainer)."""

import numpy as np
import pytest

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier
from layersweep.exceptions import ArchitectureError
from layersweep.network import Network
from layersweep.rules import LearningRates
from layersweep.samplers import BipartiteAnnealer
from layersweep.sweep import SweepConfig
from layersweep.train import Trainer, error_rate, greedy_stage, predict, worst_recall


def test_the_greedy_stage_is_the_shallow_algorithm_on_the_deep_nets_input_side():
    """During the stage the deep net's W1, b1 learn exactly as the shallow net input - layer 1
    - output would (same seed, bit for bit); its upper layers are untouched until it ends."""
    d = datasets.synthetic(n=24, features=10, classes=2, seed=3)
    deep = Network.random([10, 6, 5, 4], np.random.default_rng(1), classes=2, redundancy=2)
    stage = greedy_stage(deep, np.random.default_rng(2))
    shallow = Network([10, 6, 4], 2, 2, [None, deep.W[1].copy(), stage[0].copy()],
                      [None, deep.b[1].copy(), stage[1].copy()])
    upper = [w.copy() for w in deep.W[2:]]
    rates = LearningRates([0.02, 0.01], [0.02, 0.01])
    common = dict(sampler=BipartiteAnnealer(sweeps=8), sweep=SweepConfig(reads=3), batch_size=3)
    staged = Trainer(deep, rates=LearningRates([0.5] * 3, [0.5] * 3),
                     rng=np.random.default_rng(9), greedy=2, stage=stage, stage_rates=rates,
                     **common)
    plain = Trainer(shallow, rates=rates, rng=np.random.default_rng(9), **common)
    staged.run_epoch(d.X, d.y)
    plain.run_epoch(d.X, d.y)
    assert np.array_equal(deep.W[1], shallow.W[1]) and np.array_equal(deep.b[1], shallow.b[1])
    assert np.array_equal(staged.stage[0], shallow.W[2])
    assert all(np.array_equal(w, w0) for w, w0 in zip(deep.W[2:], upper))
    assert staged.history[0]["greedy"] == 1 and "gap_1-3" in staged.history[0]
    assert staged.history[0]["train_error"] == plain.history[0]["train_error"]

    staged.run_epoch(d.X, d.y)  # the stage's last epoch: its output side is dropped
    assert staged.stage is None and not staged.staging
    staged.run_epoch(d.X, d.y)  # the deep net trains from the stage's W1, b1
    assert "greedy" not in staged.history[2] and "gap_2-3" in staged.history[2]
    assert not np.array_equal(deep.W[2], upper[0])


def test_a_shallow_net_refuses_a_greedy_start():
    d = datasets.synthetic(n=20, features=8, classes=2, seed=1)
    with pytest.raises(ArchitectureError, match="needs a deep net"):
        LayerSweepClassifier(hidden_layer_sizes=(4,), redundancy=2,
                             recipe=dict(greedy_epochs=1)).fit(d.X, d.y)


def test_a_greedy_start_does_not_change_the_deep_nets_initial_parameters():
    d = datasets.synthetic(n=20, features=8, classes=2, seed=1)
    params = dict(hidden_layer_sizes=(5, 4), redundancy=2, epochs=0, random_state=3)
    with_stage = LayerSweepClassifier(**params, recipe=dict(greedy_epochs=2)).fit(d.X, d.y)
    without = LayerSweepClassifier(**params, recipe=dict(greedy_epochs=0)).fit(d.X, d.y)
    for name, value in without.network_.parameters().items():
        assert np.array_equal(with_stage.network_.parameters()[name], value), name
    assert with_stage.trainer_.stage is not None and without.trainer_.stage is None
    # the deep defaults: rescaled initialisation, per-layer rates from the shallow pair (the
    # hidden-hidden coupling learnt from below, at 2δJ/3) and reference starts for the top
    # block only
    assert with_stage.trainer_.rates.W == pytest.approx([0.005, 0.003 * 2 / 3, 0.0015])
    assert with_stage.trainer_.stage_rates.W == [0.01, 0.003]
    assert with_stage.trainer_.sweep.start == "top-reference"  # a deep net's free samples
    shallow = LayerSweepClassifier(hidden_layer_sizes=(5,), redundancy=2, epochs=0).fit(d.X, d.y)
    assert shallow.trainer_.sweep.start == "reference"  # the paper's
    bound = 0.4 / np.sqrt(5)
    assert np.abs(without.network_.W[2]).max() <= bound


def averaging_trainer(average, greedy=0):
    net = Network.random([10, 6, 5, 4], np.random.default_rng(1), classes=2, redundancy=2)
    return Trainer(net, BipartiteAnnealer(sweeps=8), SweepConfig(reads=3),
                   LearningRates([0.05] * 3, [0.05] * 3), np.random.default_rng(9),
                   batch_size=3, average=average, greedy=greedy,
                   stage=greedy_stage(net, np.random.default_rng(2)) if greedy else None,
                   stage_rates=LearningRates([0.05, 0.05], [0.05, 0.05]) if greedy else None)


def test_averaging_is_a_moving_average_and_never_changes_training():
    """average=6 with 3 images per update: the average is the latest parameters until 16
    images are seen (a quarter of them is under one update), then weights 3/4, 3/5, 3/6."""
    d = datasets.synthetic(n=24, features=10, classes=2, seed=3)
    averaged, plain = averaging_trainer(6), averaging_trainer(0)
    snapshots = []
    averaged.run_epoch(d.X, d.y, on_step=lambda t: snapshots.append(t.net.copy()))
    plain.run_epoch(d.X, d.y)
    for l in range(1, 4):  # training is the same, bit for bit
        assert np.array_equal(averaged.net.W[l], plain.net.W[l])
        assert np.array_equal(averaged.net.b[l], plain.net.b[l])
    weights = [1, 1, 1, 1, 1, 3 / 4, 3 / 5, 3 / 6]  # after 3, 6, ..., 24 images
    for l in range(1, 4):
        expected = np.zeros_like(snapshots[0].W[l], np.float64)
        for weight, snapshot in zip(weights, snapshots):
            expected += weight * (snapshot.W[l] - expected)
        np.testing.assert_allclose(averaged.averaged.W[l], expected, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(averaged.averaged.W[1], averaged.net.W[1])
    assert averaged.averaged_images == 24
    # what predicts, and what the epoch's figures measure, is the average
    assert averaged.predictor is averaged.averaged and plain.predictor is plain.net
    assert averaged.history[0]["train_error"] == error_rate(averaged.averaged, d.X, d.y)


def test_averaging_starts_with_the_deep_net_after_a_greedy_stage():
    d = datasets.synthetic(n=24, features=10, classes=2, seed=3)
    trainer = averaging_trainer(6, greedy=1)
    trainer.run_epoch(d.X, d.y)
    assert trainer.averaged is None and trainer.averaged_images == 0
    trainer.run_epoch(d.X, d.y)
    assert trainer.averaged is not None and trainer.averaged_images == 24


def test_worst_recall_names_the_class_recalled_worst():
    y = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    assert worst_recall(np.array([0, 0, 1, 1, 2, 2, 2, 2]), y) == (0, 1.0)
    # a tie (-1) is no recall; class 2 is recalled 1 of 4, class 1 1 of 2
    assert worst_recall(np.array([0, 0, 1, -1, 2, 0, 1, -1]), y) == (2, 0.25)


def test_an_epoch_records_a_class_the_network_has_lost():
    """With the output group of class 1 pinned down by its biases, no image is predicted as
    a 1: the epoch's row names it, recall 0 (the rates are zero, so the epoch cannot undo
    it)."""
    d = datasets.synthetic(n=24, features=10, classes=2, seed=3)
    trainer = averaging_trainer(0)
    trainer.rates = LearningRates([0.0] * 3, [0.0] * 3)
    trainer.net.b[3][2:] = -50.0  # class 1's group (redundancy 2)
    row = trainer.run_epoch(d.X, d.y)
    predicted = predict(trainer.net, d.X)
    assert not np.any(predicted == 1)
    assert (row["worst_class"], row["worst_recall"]) == (1, 0.0)
    assert row["train_error"] == np.mean(predicted != d.y)


def test_a_deep_net_predicts_with_averaged_parameters_a_shallow_one_with_its_own():
    d = datasets.synthetic(n=20, features=8, classes=2, seed=1)
    deep = LayerSweepClassifier(hidden_layer_sizes=(5, 4), redundancy=2, sweeps=4, epochs=1,
                                random_state=3, recipe=dict(reads=2, greedy_epochs=0)).fit(d.X,
                                d.y)
    assert deep.network_ is deep.trainer_.averaged is not deep.trainer_.net
    assert deep.error_rate(d.X, d.y) == error_rate(deep.trainer_.averaged, d.X, d.y)
    shallow = LayerSweepClassifier(hidden_layer_sizes=(5,), redundancy=2, sweeps=4, epochs=1,
                                   random_state=3, recipe=dict(reads=2)).fit(d.X, d.y)
    assert shallow.network_ is shallow.trainer_.net and shallow.trainer_.averaged is None
