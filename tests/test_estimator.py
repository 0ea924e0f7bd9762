import dimod
import numpy as np
import pytest

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier, warn_lost_class
from layersweep.exceptions import (ArchitectureError, DataError, LostClassWarning,
                                   NotFittedError)
from layersweep.rules import LearningRates

from conftest import classifier
from layersweep.recipe import Recipe


@pytest.fixture(scope="module")
def problem():
    d = datasets.synthetic(n=300, features=32, classes=4, noise=0.15, seed=0)
    return d.X[:200], d.y[:200], d.X[200:], d.y[200:]


def small(**kw):
    params = dict(hidden_layer_sizes=(16,), redundancy=2, epochs=3, lr_W=0.01, lr_b=0.01,
                  sweeps=16, random_state=0)
    params.update(kw)
    return classifier(**params)


def strip_seconds(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


@pytest.mark.parametrize("rule", ["qp", "ep"])
def test_learns_a_separable_problem(problem, rule):
    X, y, Xt, yt = problem
    model = small(rule=rule).fit(X, y, eval_sets={"test": (Xt, yt)})
    assert model.score(Xt, yt) >= 0.9
    assert len(model.history_) == 3 and "test_error" in model.history_[0]
    assert model.loss_curve_[-1] <= 0.05
    assert model.network_.sizes == [32, 16, 8]


def test_same_seed_same_model_other_seed_other_model(problem):
    X, y, _, _ = problem
    a, b, c = small().fit(X, y), small().fit(X, y), small(random_state=1).fit(X, y)
    for name, value in a.network_.parameters().items():
        assert np.array_equal(value, b.network_.parameters()[name])
    assert strip_seconds(a.history_) == strip_seconds(b.history_)
    assert not np.array_equal(a.network_.W[1], c.network_.W[1])


def test_partial_fit_matches_fit(problem):
    X, y, _, _ = problem
    fitted = small(epochs=2).fit(X, y)
    partial = small()
    partial.partial_fit(X, y, classes=np.arange(4))
    partial.partial_fit(X, y)
    for name, value in fitted.network_.parameters().items():
        assert np.array_equal(value, partial.network_.parameters()[name])


def test_inputs_are_not_modified(problem):
    X, y, _, _ = problem
    X_copy, y_copy = X.copy(), y.copy()
    small(epochs=1).fit(X, y).predict(X)
    assert np.array_equal(X, X_copy) and np.array_equal(y, y_copy)


def test_minibatches_and_other_samplers_train(problem):
    X, y, Xt, yt = problem
    assert small(batch_size=8, lr_W=0.05, lr_b=0.05).fit(X, y).score(Xt, yt) >= 0.8
    assert small(sampler="neal", epochs=1, reads=4, batch_size=1).fit(X[:60], y[:60]).score(Xt, yt) > 0.25
    tiny = datasets.synthetic(n=40, features=6, classes=2, seed=3)
    model = LayerSweepClassifier(hidden_layer_sizes=(4,), redundancy=2, epochs=1,
                                 sampler=dimod.ExactSolver(), random_state=0, recipe=dict(reads=3))
    assert model.fit(tiny.X, tiny.y).predict(tiny.X).shape == (40,)


def test_predict_states_and_ties(problem):
    X, y, Xt, _ = problem
    model = small(epochs=1).fit(X, y)
    states = model.predict_states(Xt[:5])
    assert [s.shape for s in states[1:]] == [(5, 16), (5, 8)]
    assert set(model.predict(Xt)) <= {-1, 0, 1, 2, 3}


def test_errors_name_the_problem(problem):
    X, y, _, _ = problem
    with pytest.raises(NotFittedError, match="fit"):
        small().predict(X)
    model = small(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 10 features, but LayerSweepClassifier is "
                                         "expecting 32"):
        model.predict(X[:, :10])
    with pytest.raises(ValueError, match="NaN"):
        model.score(np.full_like(X, np.nan), y)
    with pytest.raises(DataError, match="classes="):
        small().partial_fit(X, y)
    with pytest.raises(ArchitectureError, match="rule"):
        small(rule="backprop").fit(X, y)
    with pytest.raises(ArchitectureError, match="one free sample"):
        small(rule="ep", reads=5).fit(X, y)
    with pytest.raises(ArchitectureError, match="batch_size"):
        small(batch_size=0).fit(X, y)


def test_params_round_trip():
    model = small()
    assert model.get_params()["hidden_layer_sizes"] == (16,)
    model.set_params(batch_size=7, recipe={"reads": 3})
    assert model.batch_size == 7 and model.recipe == {"reads": 3}
    with pytest.raises(ValueError, match="Invalid parameter 'colour'"):
        model.set_params(colour="red")
    recipe = Recipe(reads=5)
    assert recipe.set_params(cycles=2) is recipe and recipe.get_params()["cycles"] == 2
    with pytest.raises(ValueError, match="unknown recipe field"):
        recipe.set_params(colour="red")


def test_capacity_limit_refuses_a_block_too_large_before_training(problem):
    from layersweep.exceptions import BlockTooLargeError

    X, y, _, _ = problem
    model = small(hidden_layer_sizes=(16, 12), max_block_spins=27)
    with pytest.raises(BlockTooLargeError, match="block \\(1, 2\\) has 16 \\+ 12 = 28 spins"):
        model.fit(X, y)
    assert not hasattr(model, "trainer_")
    small(hidden_layer_sizes=(16, 12), max_block_spins=28, epochs=1, greedy_epochs=0).fit(X, y)


def test_deep_network_trains_with_every_block(problem):
    """A greedy epoch, the three of the warm-up and two more."""
    X, y, Xt, yt = problem
    model = small(hidden_layer_sizes=(16, 12), epochs=6, greedy_epochs=1).fit(X, y)
    assert model.history_[0]["greedy"] == 1 and "gap_1-3" in model.history_[0]
    assert {"gap_1-2", "gap_2-3", "free_correct"} <= set(model.history_[-1])
    assert model.score(Xt, yt) >= 0.8
    with pytest.warns(UserWarning, match="fit ended after epoch 3, inside the greedy start of 5"):
        small(hidden_layer_sizes=(16, 12), epochs=3).fit(X, y)


def test_hidden_decay_defaults_and_effect(problem):
    """A deep net decays its hidden-to-hidden couplings by default, L = 2 has none to decay;
    the decay shrinks W^2."""
    X, y, _, _ = problem
    deep = small(hidden_layer_sizes=(16, 12), epochs=0, greedy_epochs=0).fit(X, y)
    assert deep.trainer_.rates.decay == [0.0, 0.5, 0.0]
    assert small(epochs=0).fit(X, y).trainer_.rates.decay is None
    assert small(hidden_layer_sizes=(16, 12), epochs=0, hidden_decay=0).fit(
        X, y).trainer_.rates.decay is None
    W2 = {}
    for decay in (0.0, 50.0):
        model = small(hidden_layer_sizes=(16, 12), epochs=1, greedy_epochs=0,
                      hidden_decay=decay).fit(X, y)
        W2[decay] = np.sqrt((model.trainer_.net.W[2] ** 2).mean())
    assert W2[50.0] < 0.9 * W2[0.0]
    with pytest.raises(ArchitectureError, match="hidden_decay must be a finite number >= 0"):
        small(hidden_layer_sizes=(16, 12), hidden_decay=-1).fit(X, y)
    with pytest.raises(ArchitectureError, match="hidden_decay=0.5 needs a deep net"):
        small(hidden_decay=0.5).fit(X, y)


def test_hidden_couplings_and_error_driven(problem):
    """By default every deep net learns its hidden-hidden couplings from below at 2δJ/3,
    warmed up, with a quarter of the lower blocks' reads error-driven; the inner couplings
    (at δJ/6) come with neither; L = 2 refuses error-driven reads (it has no lower block)."""
    X, y, _, _ = problem
    for hidden, rates in (((16, 12, 8), [0.005, 0.002, 0.002, 0.0015]),
                          ((16, 12), [0.005, 0.002, 0.0015])):
        trainer = small(hidden_layer_sizes=hidden, epochs=0, greedy_epochs=0,
                        lr_W=(0.01, 0.003)).fit(X, y).trainer_
        assert (trainer.sweep.hidden_couplings, trainer.sweep.error_driven) == ("upper", 0.25)
        assert trainer.rates.W == pytest.approx(rates)
        assert trainer.rates.warmup == (0.1, 0.3, 0.6)
        # the top block's reads from reference states with two hidden layers, none with more
        assert trainer.sweep.start == ("top-reference" if len(hidden) == 2 else "random")
    free_above = small(hidden_layer_sizes=(16, 12, 8), epochs=0, frozen_above="free").fit(X, y)
    assert free_above.trainer_.sweep.error_driven == 0.0  # every read is error-driven already
    inner = small(hidden_layer_sizes=(16, 12), epochs=0, greedy_epochs=0, lr_W=(0.01, 0.003),
                  hidden_couplings="inner").fit(X, y).trainer_
    assert (inner.sweep.hidden_couplings, inner.sweep.error_driven) == ("inner", 0.0)
    assert inner.rates.W == pytest.approx([0.005, 0.0005, 0.0015])
    assert inner.rates.warmup == ()
    shallow = small(epochs=0).fit(X, y).trainer_
    assert (shallow.sweep.error_driven, shallow.rates.warmup) == (0.0, ())
    trained = {}
    for couplings in ("inner", "upper"):
        model = small(hidden_layer_sizes=(16, 12), epochs=1, greedy_epochs=0,
                      hidden_couplings=couplings, error_driven=0.25).fit(X, y)
        trained[couplings] = model.trainer_.net.W[2]
    assert not np.array_equal(trained["inner"], trained["upper"])
    with pytest.raises(ArchitectureError, match="error_driven=0.5 needs a deep net"):
        small(error_driven=0.5).fit(X, y)
    with pytest.raises(ArchitectureError, match="error_driven must be a fraction"):
        small(hidden_layer_sizes=(16, 12), error_driven=2).fit(X, y)
    with pytest.raises(ArchitectureError, match="needs frozen_above='reference'"):
        small(hidden_layer_sizes=(16, 12), error_driven=0.5, frozen_above="free").fit(X, y)
    with pytest.raises(ArchitectureError, match="hidden_couplings must be one of"):
        small(hidden_layer_sizes=(16, 12), hidden_couplings="both").fit(X, y)


def test_the_warm_up_scales_only_the_hidden_couplings_rates_in_the_first_deep_epochs(problem):
    """With a greedy start of 2 epochs and the warm-up (0.25, 0.5), epochs 3 and 4 train
    W^2, b^2 at a quarter and half their rate, W^1 and the top coupling at theirs, and every
    rate is whole from epoch 5; the greedy stage's rates are its own. The trained couplings
    equal a run without the warm-up whose rates are set by hand epoch by epoch."""
    X, y, _, _ = problem
    model = small(hidden_layer_sizes=(16, 12), epochs=0, greedy_epochs=2, lr_W=(0.01, 0.003),
                  lr_b=(0.01, 0.003), hidden_warmup=(0.25, 0.5)).fit(X, y)
    trainer = model.trainer_
    seen = []
    for epoch in range(6):
        trainer.epoch = epoch
        net, rates = trainer.active()
        seen.append(rates.W)
        if epoch < 2:
            assert net is not trainer.net and rates is trainer.stage_rates
    assert seen[2:] == [pytest.approx([0.005, 0.002 * f, 0.0015]) for f in (0.25, 0.5, 1, 1)]
    trainer.epoch = 0
    model.train_to(X, y, 5)
    plain = small(hidden_layer_sizes=(16, 12), epochs=0, greedy_epochs=2, lr_W=(0.01, 0.003),
                  lr_b=(0.01, 0.003), hidden_warmup=()).fit(X, y)
    base = plain.trainer_.rates
    for epoch, factor in zip(range(1, 6), (1, 1, 0.25, 0.5, 1)):
        hand = [base.W[0], base.W[1] * factor, base.W[2]]
        plain.trainer_.rates = LearningRates(hand, [base.b[0], base.b[1] * factor, base.b[2]],
                                             base.decay)
        plain.train_to(X, y, epoch)
    for l in (1, 2, 3):
        np.testing.assert_array_equal(model.trainer_.net.W[l], plain.trainer_.net.W[l])
    with pytest.raises(ArchitectureError, match="hidden_warmup=.* needs a deep net"):
        small(hidden_warmup=(0.5,)).fit(X, y)
    for bad in ((1.5,), (0.1, float("nan")), "0.1", 0.5):
        with pytest.raises(ArchitectureError, match="hidden_warmup must be a sequence"):
            small(hidden_layer_sizes=(16, 12), hidden_warmup=bad).fit(X, y)


def test_a_lost_class_is_warned_about_with_the_remedy_for_inner_couplings(problem):
    """A deep net (predicting with its own parameters) whose output group of class 2 is
    pinned down by its biases, trained on at zero rates so that nothing undoes it: the epoch
    that ends training warns, naming the class and, for inner couplings, the remedy."""
    X, y, _, _ = problem
    model = small(hidden_layer_sizes=(16, 12), epochs=3, average=0, greedy_epochs=0,
                  hidden_couplings="inner").fit(X, y)
    assert model.history_[-1]["worst_recall"] > 0.5
    net = model.trainer_.net
    model.trainer_.rates = LearningRates([0.0] * net.depth, [0.0] * net.depth)
    net.b[net.depth][4:6] = -50.0  # class 2's group (redundancy 2)
    with pytest.warns(LostClassWarning, match=r"predicts class 2 for 0\.0% .*"
                                              r"the default hidden_couplings='upper'"):
        model.train_to(X, y, 4)
    assert model.history_[-1]["worst_class"] == 2


def test_a_lost_class_is_one_the_network_had_learnt():
    def row(epoch, worst_recall, **kw):
        return dict(epoch=epoch, train_error=0.1, worst_class=8, worst_recall=worst_recall, **kw)

    with pytest.warns(LostClassWarning, match=r"class 8 for 0\.3% .*\(training error 10\.0%\)"
                                              r".* it has lost that class$"):
        warn_lost_class([row(1, 0.3), row(2, 0.8), row(3, 0.003)], 10)
    quiet = [[row(1, 0.0)],  # not learnt yet
             [row(1, 0.3), row(2, 0.2), row(3, 0.0)],  # never every class learnt
             [row(1, 0.8), row(2, 0.15)],  # still above chance
             [row(1, 0.8, greedy=1), row(2, 0.0)],  # learnt by the greedy stage only
             [row(1, 0.8), row(2, 0.0, greedy=1)],  # a greedy stage's epoch ends the run
             [{"epoch": 1, "train_error": 0.2}, {"epoch": 2, "train_error": 0.2}]]  # old files
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for history in quiet:
            warn_lost_class(history, 10)
