import numpy as np
import pytest

from layersweep.blocks import BlockProblem
from layersweep.exceptions import ArchitectureError
from layersweep.network import Network, spin_sign
from layersweep.rules import LearningRates, apply_gradients
from layersweep.samplers import BipartiteAnnealer
from layersweep.sweep import (SweepConfig, backward_sweep, forward_sweep, ground_states,
                              reference_classes, whole_descent)

from conftest import all_spins


def shallow_qp_step(net, sampler, x, y, m, rng, rates):
    """The paper's shallow algorithm (L = 2) written out directly for one image, in float32."""
    f32 = np.float32
    wrong = reference_classes(y, m, net.classes, rng)[0]
    h = x[0] @ net.W[1].T + net.b[1]
    nudged_out = net.targets(y[0])
    nudged_hidden = np.where(h + nudged_out @ net.W[2] >= 0, f32(1), f32(-1))
    ref_out = net.targets(wrong)
    ref_hidden = np.where(h + ref_out @ net.W[2] >= 0, f32(1), f32(-1))
    problem = BlockProblem(net.W[2], h[None], net.b[2][None])
    seed = int(rng.integers(2 ** 31))
    s = sampler.sample(problem, m, initial=(ref_hidden[None], ref_out[None]), seed=seed)
    hid, out = s.low[0], s.high[0]
    net.W[2] += f32(rates.W[1]) * (np.outer(nudged_out, nudged_hidden) - out.T @ hid / f32(m))
    net.b[2] += f32(rates.b[1]) * (nudged_out - out.mean(0))
    delta = nudged_hidden - hid.mean(0)
    net.W[1] += f32(rates.W[0]) * np.outer(delta, x[0])
    net.b[1] += f32(rates.b[0]) * delta


def test_two_layer_sweep_is_the_shallow_algorithm_bit_for_bit():
    rng = np.random.default_rng(5)
    X = rng.random((30, 12)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    sweep_net = Network.random([12, 8, 6], np.random.default_rng(9), classes=3, redundancy=2)
    shallow_net = sweep_net.copy()
    rates = LearningRates([0.01, 0.02], [0.005, 0.003])
    sampler = BipartiteAnnealer(sweeps=8)
    rng_a, rng_b = np.random.default_rng(77), np.random.default_rng(77)
    for i in range(30):
        grads, _ = backward_sweep(sweep_net, sampler, X[i:i + 1], y[i:i + 1],
                                  SweepConfig(reads=5), rng_a)
        apply_gradients(sweep_net, grads, rates)
        shallow_qp_step(shallow_net, sampler, X[i:i + 1], y[i:i + 1], 5, rng_b, rates)
    for name, value in sweep_net.parameters().items():
        assert np.array_equal(value, shallow_net.parameters()[name]), name
    assert not np.array_equal(sweep_net.W[2], Network.random([12, 8, 6], np.random.default_rng(9),
                                                              classes=3, redundancy=2).W[2])


@pytest.mark.parametrize("hidden_couplings,error_driven", [("inner", 0.0), ("upper", 0.5)])
@pytest.mark.parametrize("sizes", [[5, 3, 2, 4], [5, 4, 3, 3, 4]])
def test_every_parameter_is_updated_exactly_once_per_step(sizes, hidden_couplings,
                                                          error_driven, rng):
    net = Network.random(sizes, rng, classes=2, redundancy=2)
    x = rng.random((3, 5)).astype(np.float32)
    y = np.array([0, 1, 1])
    free = forward_sweep(net, BipartiteAnnealer(sweeps=4), x, rng)
    config = SweepConfig(reads=3, hidden_couplings=hidden_couplings, error_driven=error_driven)
    grads, reports = backward_sweep(net, BipartiteAnnealer(sweeps=4), x, y, config, rng, free)
    assert sorted(grads) == sorted(net.parameters())
    assert [r.block for r in reports] == list(reversed(net.blocks))
    for name, g in grads.items():
        assert g.shape == net.parameters()[name].shape


@pytest.mark.parametrize("frozen_above", ["reference", "free"])
def test_deep_sweep_variants_run(frozen_above, tiny_net, rng):
    x = rng.random((4, 5)).astype(np.float32)
    y = np.array([0, 1, 0, 1])
    free = forward_sweep(tiny_net, BipartiteAnnealer(sweeps=4), x, rng)
    config = SweepConfig(reads=3, frozen_above=frozen_above, cycles=2)
    grads, reports = backward_sweep(tiny_net, BipartiteAnnealer(sweeps=4), x, y, config, rng, free)
    assert all(np.isfinite(g).all() for g in grads.values())
    assert np.isnan(reports[1].correct) and 0 <= reports[0].correct <= 1


class Recording:
    """A block sampler that keeps every call's problem and samples (and its initial states)."""

    def __init__(self, sampler):
        self.sampler, self.calls, self.initials = sampler, [], []

    def sample(self, problem, reads, initial=None, seed=None):
        samples = self.sampler.sample(problem, reads, initial=initial, seed=seed)
        self.calls.append((problem, samples))
        self.initials.append(initial)
        return samples


def deep_step(tiny_net, rng, start="random", recording=None, **config):
    """One L = 3 backward sweep (random starts by default) on 3 images, with every sampler
    call kept: the top block's free samples, then the lower block's nudged state and free
    samples."""
    x = rng.random((3, 5)).astype(np.float32)
    y = np.array([0, 1, 1])
    free = forward_sweep(tiny_net, BipartiteAnnealer(sweeps=4), x, rng)
    sampler = recording or Recording(BipartiteAnnealer(sweeps=4))
    grads, _ = backward_sweep(tiny_net, sampler, x, y,
                              SweepConfig(reads=4, start=start, **config), rng, free)
    assert len(sampler.calls) == 3
    return x, y, free, grads, sampler.calls


@pytest.mark.parametrize("start, top, lower", [("random", False, False),
                                               ("reference", True, True),
                                               ("top-reference", True, False)])
def test_free_samples_start_where_the_start_option_says_per_block(tiny_net, rng, start, top,
                                                                   lower):
    """"top-reference": the top block's reads start from the wrong classes' reference
    states (the shallow net's QP), the lower block's from random states."""
    recording = Recording(BipartiteAnnealer(sweeps=4))
    x, y, *_ = deep_step(tiny_net, rng, start=start, recording=recording)
    top_start, _, lower_start = recording.initials
    assert (top_start is not None) == top and (lower_start is not None) == lower
    if top:  # the top block's layers: each read at a wrong class's reference output
        output = top_start[1]  # (B, m, n_3)
        classes = tiny_net.predict_output(output)
        assert output.shape == (3, 4, tiny_net.sizes[3]) and not (classes == y[:, None]).any()


def test_error_driven_reads_freeze_the_layer_above_at_the_top_blocks_free_samples(tiny_net,
                                                                                  rng):
    net = tiny_net
    x, y, free, grads, calls = deep_step(net, rng, error_driven=0.5)
    top_samples = calls[0][1]
    lower_free = calls[2][0]  # one problem per image and read, image-major
    h_high = lower_free.h_high.reshape(3, 4, -1)
    driven = net.b[2] + top_samples.high @ net.W[3]  # (B, m, n_2)
    np.testing.assert_allclose(h_high[:, :2], driven[:, :2], rtol=1e-5, atol=1e-6)
    references = net.b[2] + net.targets(np.arange(net.classes)) @ net.W[3]  # (classes, n_2)
    for i in range(3):
        for k in (2, 3):  # the other reads: a wrong class's reference output
            match = np.isclose(h_high[i, k], references, atol=1e-6).all(axis=1)
            assert match.any() and not match[y[i]]


def test_upper_hidden_couplings_are_learnt_from_below_in_the_top_block(tiny_net, rng):
    """With hidden_couplings="upper", W^2, b^2 follow the top block's nudged state and free
    samples with layer 1 frozen at its free value; W^1, b^1 the lower block's; as the
    shallow net learns its input coupling."""
    net = tiny_net
    x, y, free, grads, calls = deep_step(net, rng, hidden_couplings="upper")
    top, top_samples = calls[0]
    n2 = spin_sign(top.low_field(net.targets(y)[:, None, :])[:, 0])
    delta2 = n2 - top_samples.low.mean(axis=1)
    np.testing.assert_allclose(grads["W2"], delta2.T @ free[1] / 3, atol=1e-6)
    np.testing.assert_allclose(grads["b2"], delta2.mean(axis=0), atol=1e-6)
    n1 = calls[1][1].lowest()[0]
    delta1 = n1 - calls[2][1].low.reshape(3, 4, -1).mean(axis=1)
    np.testing.assert_allclose(grads["W1"], delta1.T @ x / 3, atol=1e-6)
    inner = deep_step(net, np.random.default_rng(1234), hidden_couplings="inner")[3]
    assert not np.allclose(inner["W2"], grads["W2"])


def test_forward_sweep_never_raises_the_total_energy(tiny_net, rng):
    x = rng.random((20, 5)).astype(np.float32)
    start = tiny_net.feedforward(x)
    free = forward_sweep(tiny_net, BipartiteAnnealer(sweeps=3, beta_range=(0.01, 0.1),
                                                     reverse_beta=0.01), x, rng)
    assert np.all(tiny_net.energy(free, x) <= tiny_net.energy(start, x) + 1e-5)


def test_reference_classes_cycle_over_wrong_classes(rng):
    y = np.array([0, 3, 9])
    wrong = reference_classes(y, 20, 10, rng)
    assert wrong.shape == (3, 20)
    assert not np.any(wrong == y[:, None])
    for row, label in zip(wrong, y):
        assert set(row[:9].tolist()) == set(range(10)) - {label}
        assert np.array_equal(row[9:18], row[:9])


def test_ground_states_find_the_exact_ground_state_of_a_shallow_net(rng):
    net = Network.random([5, 6, 4], rng, classes=2, redundancy=2)
    net.b[2] = rng.normal(0, 0.3, 4).astype(np.float32)
    x = rng.random((8, 5)).astype(np.float32)
    states = all_spins(10)
    split = [None, states[:, :6], states[:, 6:]]
    exact = np.array([net.energy(split, xi).min() for xi in x])
    found = ground_states(net, x, BipartiteAnnealer(), rng, reads=16)
    assert np.allclose(net.energy(found, x), exact, atol=1e-5)


def test_deep_ground_states_are_below_every_class_descent(tiny_net, rng):
    x = rng.random((8, 5)).astype(np.float32)
    found = tiny_net.energy(ground_states(tiny_net, x, BipartiteAnnealer(), rng), x)
    for c in range(tiny_net.classes):
        descended = tiny_net.energy(tiny_net.clamped_descent(x, tiny_net.targets(c)), x)
        assert np.all(found <= descended + 1e-5)
    assert np.all(found <= tiny_net.energy(tiny_net.feedforward(x), x) + 1e-5)


def test_whole_descent_never_raises_energy(tiny_net, rng):
    x = rng.random((10, 5)).astype(np.float32)
    states = [None] + [rng.choice([-1.0, 1.0], (10, n)).astype(np.float32)
                       for n in tiny_net.sizes[1:]]
    after = whole_descent(tiny_net, x, states)
    assert np.all(tiny_net.energy(after, x) <= tiny_net.energy(states, x) + 1e-5)


def test_bad_sweep_configs_are_refused():
    with pytest.raises(ArchitectureError, match="reads"):
        SweepConfig(reads=0)
    with pytest.raises(ArchitectureError, match="start"):
        SweepConfig(start="hot")
    with pytest.raises(ArchitectureError, match="frozen_above"):
        SweepConfig(frozen_above="nudged")
    for bad in (-0.1, 1.5, float("nan"), "half", True):
        with pytest.raises(ArchitectureError, match="error_driven must be a fraction"):
            SweepConfig(error_driven=bad)
    with pytest.raises(ArchitectureError, match="needs frozen_above='reference'"):
        SweepConfig(error_driven=0.5, frozen_above="free")
    with pytest.raises(ArchitectureError, match="hidden_couplings must be one of"):
        SweepConfig(hidden_couplings="outer")
