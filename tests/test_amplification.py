"""Amplitude amplification of the wrong-class component: the closed form against literal
Grover iterations, the protocols' costs, the estimate of |A|^2, the sampler's distributions,
and the unbiased (split) free average."""

import math

import numpy as np
import pytest
from scipy.stats import chisquare

from layersweep.blocks import BlockProblem
from layersweep.exceptions import SamplerError
from layersweep.rules import block_gradients
from layersweep.samplers.amplification import (anneals, bbht, estimate, exact,
                                               marked_probability)
from layersweep.samplers.statevector import (StateVectorSampler, anneal_state, basis_index,
                                             grover_state, marked_basis)
from layersweep.sweep import amplified_weights

T = 5.0


@pytest.fixture
def block():
    """K(3, 3), 3 problems; the oracle marks two of the high side's 8 basis states."""
    rng = np.random.default_rng(7)
    problem = BlockProblem(rng.normal(size=(3, 3)), rng.normal(size=(3, 3)),
                           rng.normal(size=(3, 3)))
    marked = np.zeros((3, 8), bool)
    marked[:, [1, 6]] = True
    marked[2, 3] = True
    return problem, marked


def test_literal_grover_iterations_follow_the_closed_form(block):
    problem, marked = block
    mask = marked_basis(marked[0], 3)
    probs = np.abs(anneal_state(problem, 0, T)) ** 2
    a = probs[mask].sum()
    theta = math.asin(math.sqrt(a))
    for k in range(6):
        after = np.abs(grover_state(problem, 0, T, marked[0], k)) ** 2
        assert after.sum() == pytest.approx(1.0, abs=1e-12)
        assert after[mask].sum() == pytest.approx(marked_probability(theta, k), abs=1e-9)
        # inside each part the relative weights never change
        np.testing.assert_allclose(after[mask] / after[mask].sum(), probs[mask] / a, atol=1e-9)
        np.testing.assert_allclose(after[~mask] / after[~mask].sum(), probs[~mask] / (1 - a),
                                   atol=1e-9)


def test_marked_basis_matches_the_bit_convention():
    marked_high = np.array([False, True, False, False])           # high side (+1, -1)
    mask = marked_basis(marked_high, 2)
    low = np.array([[1.0, -1.0]])
    high = np.array([[1.0, -1.0]])
    assert mask[basis_index(low, high)[0]]
    assert mask.sum() == 4


@pytest.mark.parametrize("search", [bbht, exact])
def test_protocols_cost_grows_like_one_over_the_amplitude(search):
    """Anneals per marked sample against a = sin^2(theta): slope -1/2 in log-log, where
    plain reads need 1/a (slope -1)."""
    rng = np.random.default_rng(0)
    amplitudes = np.geomspace(1e-4, 1e-1, 7)
    costs = []
    for a in amplitudes:
        theta = math.asin(math.sqrt(a))
        spent = [anneals(search(theta, rng, 10 ** 6, 10 ** 9)[1]) for _ in range(400)]
        costs.append(np.mean(spent))
    slope = np.polyfit(np.log(amplitudes), np.log(costs), 1)[0]
    assert -0.62 < slope < -0.4
    assert costs[0] < 0.1 / amplitudes[0]                       # far cheaper than plain reads


def test_protocols_find_and_report_their_attempts():
    rng = np.random.default_rng(1)
    found, attempts = exact(math.asin(math.sqrt(0.01)), rng, 100, 10 ** 6)
    assert found and set(attempts) == {7}                      # floor(pi / (4 * 0.1002))
    assert anneals([0, 7, 3]) == 1 + 15 + 7
    assert exact(0.0, rng, 100, 100) == (False, [])
    found, attempts = bbht(0.0, rng, 5, 60)                     # nothing to find: the budget
    assert not found and anneals(attempts) >= 60 and max(attempts) < 5


def test_estimate_is_the_maximum_likelihood():
    assert math.isnan(estimate({}))
    assert estimate({0: (0, 50)}) == 0.0
    assert estimate({0: (50, 50)}) == pytest.approx(1.0)
    assert estimate({0: (25, 100)}) == pytest.approx(0.25, abs=2e-3)
    # deep attempts resolve a small amplitude that plain reads cannot
    a = 0.002
    theta = math.asin(math.sqrt(a))
    rng = np.random.default_rng(2)
    counts = {}
    for k in (0, 1, 2, 4, 8, 16):
        hits = int((rng.random(200) < marked_probability(theta, k)).sum())
        counts[k] = (hits, 200)
    assert estimate(counts) == pytest.approx(a, rel=0.15)


def test_estimates_from_the_searches_own_attempts_are_close():
    """The maximum-likelihood estimate from ten BBHT searches and ten plain reads."""
    rng = np.random.default_rng(3)
    for a in (0.003, 0.03, 0.3):
        theta = math.asin(math.sqrt(a))
        errors = []
        for _ in range(100):
            plain = int((rng.random(10) < a).sum())
            counts = {0: [plain, 10]}
            for _ in range(10):
                found, attempts = bbht(theta, rng, 10 ** 4, 10 ** 7)
                for j, k in enumerate(attempts):
                    c = counts.setdefault(k, [0, 0])
                    c[0] += found and j == len(attempts) - 1
                    c[1] += 1
            errors.append(estimate(counts) / a - 1)
        assert abs(np.median(errors)) < 0.2
        assert np.median(np.abs(errors)) < 0.5


def test_amplified_samples_are_the_marked_components_distribution(block):
    problem, marked = block
    sampler = StateVectorSampler(annealing_time=T)
    out = sampler.sample_marked(problem, marked, reads=3000, plain=3000, seed=4)
    assert out.low.shape == (3, 6000, 3) and out.high.shape == (3, 6000, 3)
    np.testing.assert_allclose(out.energy, problem.energy(out.low, out.high), rtol=1e-6)
    index = basis_index(out.low, out.high)
    for p in range(3):
        probs = np.abs(anneal_state(problem, p, T)) ** 2
        mask = marked_basis(marked[p], 3)
        assert out.info["probability"][p] == pytest.approx(probs[mask].sum(), abs=1e-12)
        assert np.array_equal(out.info["marked"][p], mask[index[p]])
        plain, amplified = index[p, :3000], index[p, 3000:]
        expected = probs * 3000
        keep = expected > 5
        observed = np.bincount(plain, minlength=64)
        assert chisquare(observed[keep], expected[keep] * observed[keep].sum()
                         / expected[keep].sum()).pvalue > 1e-3
        assert out.info["marked"][p, 3000:].all()               # every search found one
        inside = probs * mask / probs[mask].sum() * 3000
        keep = inside > 5
        observed = np.bincount(amplified, minlength=64)
        assert observed[~mask].sum() == 0
        assert chisquare(observed[keep], inside[keep] * observed[keep].sum()
                         / inside[keep].sum()).pvalue > 1e-3
        assert out.info["estimate"][p] == pytest.approx(out.info["probability"][p], rel=0.1)
    tally = sampler.take_tally()
    assert tally["anneals"] == out.info["anneals"].sum() >= 3 * 6000
    assert tally["marked_problems"] == 3
    assert sampler.summarize_tally(tally)["marked_probability"] == pytest.approx(
        out.info["probability"].mean())
    assert sampler.take_tally() == {}


def test_sample_marked_is_seeded_and_refuses_bad_input(block):
    problem, marked = block
    sampler = StateVectorSampler(annealing_time=T, protocol="exact")
    one = sampler.sample_marked(problem, marked, reads=5, plain=2, seed=9)
    two = sampler.sample_marked(problem, marked, reads=5, plain=2, seed=9)
    assert np.array_equal(one.low, two.low) and np.array_equal(one.high, two.high)
    assert np.array_equal(one.info["estimate"], one.info["probability"])   # the bound knows a
    with pytest.raises(SamplerError, match=r"\(3, 2\*\*3\) bool"):
        sampler.sample_marked(problem, marked[:, :4], reads=1)
    with pytest.raises(SamplerError, match="reads must be"):
        sampler.sample_marked(problem, marked, reads=0)
    with pytest.raises(SamplerError, match="protocol"):
        StateVectorSampler(protocol="grover")
    with pytest.raises(SamplerError, match="max_qubits"):
        StateVectorSampler(max_qubits=4).sample_marked(problem, marked, reads=1)


def test_split_weights_by_hand():
    marked = np.array([[True, False, False, True], [False] * 4, [True] * 4])
    weights = amplified_weights(marked, np.array([0.2, 0.3, 0.4]))
    np.testing.assert_allclose(weights, [[0.1, 0.4, 0.4, 0.1], [0.25] * 4, [0.25] * 4])


def test_uniform_weights_give_the_plain_gradients():
    rng = np.random.default_rng(5)
    B, m, a, b, n0 = 4, 6, 5, 3, 7
    spins = lambda *shape: np.sign(rng.normal(size=shape)).astype(np.float32)  # noqa: E731
    below, nudged, free = spins(B, n0), (spins(B, a), spins(B, b)), (spins(B, m, a),
                                                                     spins(B, m, b))
    plain = block_gradients(1, below, nudged, free)
    weighted = block_gradients(1, below, nudged, free,
                               weights=np.full((B, m), 1 / m, np.float32))
    assert plain.keys() == weighted.keys()
    for name in plain:
        np.testing.assert_allclose(weighted[name], plain[name], atol=1e-6)


@pytest.mark.parametrize("protocol, tolerance", [("exact", 0.06), ("bbht", 0.12)])
def test_the_split_free_average_is_unbiased(block, protocol, tolerance):
    """The weighted free correlation of split samples averages to the exact <s_high s_low>
    of the annealed state; the literal one (all amplified) to the marked part's. With the
    exact |A|^2 (the bound) the split average is unbiased; BBHT's estimate of it, from three
    searches and three plain reads, is biased upwards by ~20% at a = 0.2, which shifts the
    average by ~0.05 (measured over 3000 seeds)."""
    problem, marked = block
    p = 1
    one = BlockProblem(problem.J, problem.h_low[p:p + 1], problem.h_high[p:p + 1])
    probs = np.abs(anneal_state(problem, p, T)) ** 2
    spins = np.array([[1 - 2 * ((k >> (5 - j)) & 1) for j in range(6)] for k in range(64)],
                     float)
    exact_corr = np.einsum("k,kb,ka->ba", probs, spins[:, 3:], spins[:, :3])
    mask = marked_basis(marked[p], 3)
    marked_corr = np.einsum("k,kb,ka->ba", probs * mask, spins[:, 3:], spins[:, :3]) \
        / probs[mask].sum()
    sampler = StateVectorSampler(annealing_time=T, protocol=protocol)
    split, literal = [], []
    for seed in range(400):
        out = sampler.sample_marked(one, marked[p:p + 1], reads=3, plain=3, seed=seed)
        w = amplified_weights(out.info["marked"], out.info["estimate"])[0]
        split.append(np.einsum("r,rb,ra->ba", w, out.high[0], out.low[0]))
        literal.append(np.einsum("rb,ra->ba", out.high[0, 3:], out.low[0, 3:]) / 3)
    assert np.abs(np.mean(split, axis=0) - exact_corr).max() < tolerance
    assert np.abs(np.mean(literal, axis=0) - marked_corr).max() < 0.06
    assert np.abs(marked_corr - exact_corr).max() > 0.3           # the literal bias is large


# ---- acceptance: a trained net, a long anneal ----------------------------------------------
@pytest.fixture(scope="module")
def trained():
    """64-4-6 on three classes of scikit-learn's 8x8 digits, 15 epochs of QP on the CPU
    annealer: the network, 60 training images and their class indices."""
    from sklearn.datasets import load_digits

    from layersweep import LayerSweepClassifier

    digits = load_digits()
    keep = np.isin(digits.target, [3, 5, 8])
    X = (digits.data[keep] / 16).astype(np.float32)
    y = digits.target[keep]
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order][:240], y[order][:240]
    model = LayerSweepClassifier(hidden_layer_sizes=(4,), redundancy=2, recipe={"reads": 10},
                                 epochs=15, batch_size=10, random_state=0).fit(X, y)
    assert model.history_[-1]["train_error"] < 0.1
    return model.network_, X[:60], np.searchsorted(model.classes_, y[:60])


def test_amplified_reads_reach_wrong_classes_at_a_cost_like_one_over_the_amplitude(trained):
    """At a long anneal most plain reads of a trained net are right (|A|^2 < 0.05);
    amplified samples are wrong-class ones, and their anneals per wrong-class sample grow
    like 1/|A|, where plain reads need 1/|A|^2."""
    from layersweep.blocks import block_problem
    from layersweep.sweep import wrong_outputs

    net, X, y = trained
    problem = block_problem(net, 1, X)
    sampler = StateVectorSampler(annealing_time=40.0)
    out = sampler.sample_marked(problem, wrong_outputs(net, y), reads=20, plain=20, seed=0)
    a = out.info["probability"]
    rare = a < 0.05
    assert rare.sum() >= 20 and np.median(a[rare]) < 0.01
    plain, amplified = out.info["marked"][:, :20], out.info["marked"][:, 20:]
    assert plain[rare].mean() < 0.05                 # plain reads rarely wrong ...
    assert amplified[rare].mean() > 0.9              # ... amplified ones mostly
    per_sample = out.info["anneals"][rare] / amplified[rare].sum(axis=1)   # incl. plain ones
    slope = np.polyfit(np.log(a[rare]), np.log(per_sample), 1)[0]
    assert -0.7 < slope < -0.3                       # ~ |A|^-1 = a^-1/2, not a^-1
    assert np.median(per_sample * a[rare]) < 0.2     # far below plain reads' 1/a
