import numpy as np
import pytest

from layersweep.network import Network
from layersweep.rules import LearningRates, apply_gradients, block_gradients


def test_block_update_by_hand():
    """One image, x = (1, 0.5); a = 2 hidden, b = 2 outputs; m = 2 free samples."""
    x = np.array([[1.0, 0.5]], np.float32)
    n_low = np.array([[1, -1]], np.float32)
    n_high = np.array([[1, 1]], np.float32)
    f_low = np.array([[[1, 1], [-1, -1]]], np.float32)
    f_high = np.array([[[1, -1], [-1, 1]]], np.float32)
    g = block_gradients(1, x, (n_low, n_high), (f_low, f_high))
    # s^N_high (s^N_low)^T = [[1,-1],[1,-1]]; <s_high s_low^T> = ([[1,1],[-1,-1]] + [[1,1],[-1,-1]])/2
    assert g["W2"].tolist() == [[0, -2], [2, 0]]
    assert g["b2"].tolist() == [1, 1]            # (1,1) - mean((1,-1),(-1,1))
    # delta_low = (1,-1) - mean((1,1),(-1,-1)) = (1,-1); dW1 = delta x^T
    assert g["W1"].tolist() == [[1, 0.5], [-1, -0.5]]
    assert g["b1"].tolist() == [1, -1]


def test_identical_free_and_nudged_states_give_no_update():
    rng = np.random.default_rng(0)
    n_low = rng.choice([-1.0, 1.0], (3, 4)).astype(np.float32)
    n_high = rng.choice([-1.0, 1.0], (3, 2)).astype(np.float32)
    g = block_gradients(1, rng.random((3, 5)), (n_low, n_high),
                        (np.repeat(n_low[:, None], 6, 1), np.repeat(n_high[:, None], 6, 1)))
    assert all(not np.any(v) for v in g.values())


def test_minibatch_update_is_the_mean_of_single_updates():
    rng = np.random.default_rng(1)
    x = rng.random((4, 5)).astype(np.float32)
    spins = lambda *s: rng.choice([-1.0, 1.0], s).astype(np.float32)  # noqa: E731
    nudged, free = (spins(4, 3), spins(4, 2)), (spins(4, 7, 3), spins(4, 7, 2))
    batch = block_gradients(1, x, nudged, free)
    singles = [block_gradients(1, x[i:i + 1], (nudged[0][i:i + 1], nudged[1][i:i + 1]),
                               (free[0][i:i + 1], free[1][i:i + 1])) for i in range(4)]
    for name in batch:
        assert np.allclose(batch[name], np.mean([s[name] for s in singles], axis=0), atol=1e-6)


def test_upper_blocks_update_only_their_own_parameters():
    rng = np.random.default_rng(2)
    g = block_gradients(2, None, (rng.random((1, 3)), rng.random((1, 2))),
                        (rng.random((1, 4, 3)), rng.random((1, 4, 2))))
    assert sorted(g) == ["W3", "b3"]


def test_coupling_from_below_by_hand():
    """Block (2, 3) learning W^2, b^2 from its frozen layer 1: ΔW^2 = (s2_N - <s2_γ>) (s1)^T;
    without its inner coupling it leaves W^3, b^3 to another block."""
    s1 = np.array([[1, -1, 1]], np.float32)
    n_low, n_high = np.array([[1, -1]], np.float32), np.array([[1]], np.float32)
    f_low = np.array([[[1, 1], [-1, 1]]], np.float32)
    f_high = np.array([[[1], [-1]]], np.float32)
    g = block_gradients(2, s1, (n_low, n_high), (f_low, f_high), inner=False, lower=True)
    assert sorted(g) == ["W2", "b2"]
    # delta = (1, -1) - mean((1, 1), (-1, 1)) = (1, -2)
    assert g["W2"].tolist() == [[1, -1, 1], [-2, 2, -2]]
    assert g["b2"].tolist() == [1, -2]


def test_the_update_lowers_the_nudged_energy_relative_to_the_free_state():
    """After a small EP step, E(nudged) - E(free) decreases (docs/how-it-works.md §4)."""
    rng = np.random.default_rng(3)
    net = Network.random([6, 4, 4], rng, classes=2, redundancy=2)
    x = rng.random((1, 6)).astype(np.float32)
    nudged = [None, rng.choice([-1.0, 1.0], (1, 4)).astype(np.float32), net.targets([0])]
    free = [None, rng.choice([-1.0, 1.0], (1, 4)).astype(np.float32), net.targets([1])]
    before = net.energy(nudged, x) - net.energy(free, x)
    g = block_gradients(1, x, (nudged[1], nudged[2]), (free[1][:, None], free[2][:, None]))
    apply_gradients(net, g, LearningRates([0.01] * 2, [0.01] * 2))
    assert (net.energy(nudged, x) - net.energy(free, x))[0] < before[0]


def test_the_warm_up_scales_the_hidden_to_hidden_rates_of_the_first_deep_epochs():
    rates = LearningRates([0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], [0.0, 0.5, 0.5, 0.0],
                          (0.1, 0.5))
    first, second = rates.at(0), rates.at(1)
    assert first.W == pytest.approx([0.1, 0.02, 0.03, 0.4])
    assert first.b == pytest.approx([0.5, 0.06, 0.07, 0.8])
    assert second.W == pytest.approx([0.1, 0.1, 0.15, 0.4])
    assert first.decay == rates.decay and first.warmup == ()
    assert rates.at(2) is rates and rates.at(-1) is rates
    assert rates.scaled(2.0).warmup == (0.1, 0.5)
    assert rates.scaled(0.5).W == pytest.approx([0.05, 0.1, 0.15, 0.2])
    assert rates.scaled(0.5).decay == rates.decay


def test_hidden_decay_update_by_hand():
    """W^2 += rate (ΔW^2 - λ W^2); W^1, W^3 and the biases take their plain updates."""
    net = Network.random([3, 2, 2, 2], np.random.default_rng(0), classes=2, redundancy=1)
    before = {k: v.copy() for k, v in net.parameters().items()}
    grads = {f"W{l}": np.ones_like(net.W[l], dtype=np.float64) for l in (1, 2, 3)}
    grads.update({f"b{l}": np.ones_like(net.b[l], dtype=np.float64) for l in (1, 2, 3)})
    apply_gradients(net, grads, LearningRates([0.1] * 3, [0.1] * 3, [0.0, 2.0, 0.0]))
    np.testing.assert_allclose(net.W[2], before["W2"] + 0.1 * (1.0 - 2.0 * before["W2"]),
                               rtol=1e-6)
    for name in ("W1", "W3", "b1", "b2", "b3"):
        np.testing.assert_allclose(net.parameters()[name], before[name] + 0.1, rtol=1e-6)
