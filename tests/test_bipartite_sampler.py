"""BipartiteSampler: a dimod sampler for bipartite BQMs on the block annealer's kernel."""

import itertools
import unittest
import warnings

import dimod
import dimod.testing
import numpy as np
import pytest

from layersweep.blocks import BlockProblem
from layersweep.exceptions import SamplerError
from layersweep.samplers.bipartite import BipartiteSampler, bipartition, default_beta_range


def random_bipartite(rng, a, b, density=1.0, vartype="SPIN", offset=0.0, labels=None,
                     isolated=0):
    """A random bipartite BQM: N(0, 1) biases on K(a, b) (each edge kept with probability
    ``density``) plus ``isolated`` variables with fields only."""
    n = a + b + isolated
    labels = list(range(n)) if labels is None else labels
    linear = {labels[i]: float(rng.normal()) for i in range(n)}
    quadratic = {(labels[i], labels[a + j]): float(rng.normal())
                 for i in range(a) for j in range(b) if rng.random() < density}
    return dimod.BinaryQuadraticModel(linear, quadratic, offset, vartype)


# dimod's own battery: empty, one variable, one and two-edge paths (all of them trees, so
# all bipartite) for Float32/Float64/Dict BQMs, SPIN and BINARY, with tuple labels
@dimod.testing.load_sampler_bqm_tests(BipartiteSampler)
class TestDimodBattery(unittest.TestCase):
    pass


def test_sampler_api():
    sampler = BipartiteSampler()
    dimod.testing.assert_sampler_api(sampler)
    assert {"num_reads", "num_sweeps", "beta_range", "seed", "initial_states",
            "reverse_beta"} <= set(sampler.parameters)
    assert "geometric" in sampler.properties["beta_schedule_options"]


def test_energies_equal_bqm_energies_with_offset():
    rng = np.random.default_rng(0)
    bqm = random_bipartite(rng, 9, 6, density=0.7, offset=3.25)
    sampleset = BipartiteSampler().sample(bqm, num_reads=7, num_sweeps=50, seed=1)
    assert len(sampleset) == 7
    np.testing.assert_array_equal(sampleset.record.energy, bqm.energies(sampleset))
    assert set(sampleset.info["timing"]) == {"preprocessing_ns", "sampling_ns",
                                             "postprocessing_ns"}


def test_string_and_tuple_labels_and_binary_round_trip():
    rng = np.random.default_rng(1)
    labels = ["a", ("t", 1), "c", (2, "x"), "e", frozenset({9}), ("deep", ("n",))]
    for vartype in ("SPIN", "BINARY"):
        bqm = random_bipartite(rng, 3, 3, labels=labels, vartype=vartype, offset=-1.0,
                               isolated=1)
        sampleset = BipartiteSampler().sample(bqm, num_reads=5, num_sweeps=20, seed=2)
        assert sampleset.vartype is bqm.vartype
        assert set(sampleset.variables) == set(labels)
        values = {-1, 1} if vartype == "SPIN" else {0, 1}
        assert set(np.unique(sampleset.record.sample)) <= values
        np.testing.assert_array_equal(sampleset.record.energy, bqm.energies(sampleset))


def test_sample_qubo_and_ising():
    sampler = BipartiteSampler()
    answer = sampler.sample_qubo({("x", "x"): -1.0, ("x", "y"): 2.0, ("y", "y"): -1.0},
                                 num_reads=10, seed=3)
    assert answer.vartype is dimod.BINARY
    assert answer.first.energy == -1.0
    answer = sampler.sample_ising({"a": 0.5}, {("a", "b"): -1.0}, num_reads=10, seed=3)
    assert answer.first.energy == -1.5


def test_block_problem_round_trip():
    """A BlockProblem's BQM (to_bqm) sampled here: the samples' energies in the network's
    convention equal the BQM's (the sign conventions agree both ways)."""
    rng = np.random.default_rng(2)
    problem = BlockProblem(rng.normal(size=(4, 6)), rng.normal(size=(1, 6)),
                           rng.normal(size=(1, 4)))
    bqm = problem.to_bqm(0)
    sampleset = BipartiteSampler().sample(bqm, num_reads=8, num_sweeps=30, seed=4)
    rows = sampleset.record.sample[:, [sampleset.variables.index(v) for v in range(10)]]
    low, high = problem.spins_from_dimod(rows)
    np.testing.assert_allclose(problem.energy(low[None], high[None])[0],
                               sampleset.record.energy, rtol=1e-5, atol=1e-5)
    assert sorted(map(sorted, bipartition(bqm))) == [list(range(6)), list(range(6, 10))]


@pytest.mark.parametrize("bqm", [
    dimod.BinaryQuadraticModel({}, {("a", "b"): 1, ("b", "c"): 1, ("c", "a"): 1}, 0, "SPIN"),
    dimod.BinaryQuadraticModel({}, {(i, (i + 1) % 5): 1.0 for i in range(5)}, 0, "BINARY"),
])
def test_odd_cycle_refused(bqm):
    with pytest.raises(SamplerError, match="not bipartite.*odd cycle of length (3|5)"):
        BipartiteSampler().sample(bqm)
    assert issubclass(SamplerError, ValueError)


@pytest.mark.parametrize("case", range(4))
def test_reaches_exact_ground_state(case):
    """<= 14 variables, several components and isolated variables: the lowest read is the
    exact ground state."""
    rng = np.random.default_rng(10 + case)
    shapes = [(7, 7, 1.0, 0), (6, 5, 0.6, 3), (4, 4, 0.8, 2), (8, 6, 0.5, 0)]
    a, b, density, isolated = shapes[case]
    bqm = random_bipartite(rng, a, b, density, vartype=("SPIN", "BINARY")[case % 2],
                           offset=0.5, isolated=isolated)
    exact = dimod.ExactSolver().sample(bqm).first.energy
    found = BipartiteSampler().sample(bqm, num_reads=20, num_sweeps=200, seed=case).first.energy
    assert found == pytest.approx(exact, abs=1e-9)


def test_boltzmann_distribution_at_fixed_beta():
    """Reads at a constant moderate beta, no finish: the frequencies of the 2**5 states of a
    small K(3, 2) follow exp(-beta E) / Z (chi-square, fixed seed, 99.9% quantile)."""
    rng = np.random.default_rng(5)
    bqm = random_bipartite(rng, 3, 2, offset=1.0)
    beta, reads = 0.6, 20000
    sampleset = BipartiteSampler().sample(
        bqm, num_reads=reads, beta_schedule_type="custom", beta_schedule=[beta] * 12,
        finish=False, seed=6)
    order = list(bqm.variables)
    states = np.array(list(itertools.product((-1, 1), repeat=len(order))))
    weights = np.exp(-beta * (bqm.energies((states, order)) - bqm.offset))
    expected = reads * weights / weights.sum()
    rows = sampleset.record.sample[:, [sampleset.variables.index(v) for v in order]]
    index = ((rows + 1) // 2) @ (2 ** np.arange(len(order))[::-1])
    observed = np.bincount(index, minlength=len(states))
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    # 99.9% quantile of chi-square with 31 degrees of freedom: 61.1
    assert chi2 < 61.1, chi2


def test_seeds():
    rng = np.random.default_rng(7)
    bqm = random_bipartite(rng, 20, 20)
    sampler = BipartiteSampler()
    kwargs = dict(num_reads=5, num_sweeps=10, beta_range=[0.01, 0.1], finish=False)
    first = sampler.sample(bqm, seed=11, **kwargs).record.sample
    np.testing.assert_array_equal(first, sampler.sample(bqm, seed=11, **kwargs).record.sample)
    assert not np.array_equal(first, sampler.sample(bqm, seed=12, **kwargs).record.sample)


def test_initial_states_cold_anneal_stays_in_deep_minimum():
    rng = np.random.default_rng(8)
    bqm = random_bipartite(rng, 6, 6, offset=0.0)
    ground = dimod.ExactSolver().sample(bqm).first
    sampler = BipartiteSampler()
    sampleset = sampler.sample(bqm, num_reads=12, num_sweeps=30, beta_range=[0.05, 20.0],
                               reverse_beta=20.0, initial_states=dimod.as_samples(ground.sample),
                               initial_states_generator="tile", seed=9, finish=False)
    assert np.all(sampleset.record.energy == pytest.approx(ground.energy))
    # num_sweeps=0 without finish returns the start states themselves
    start = sampler.sample(bqm, num_reads=3, num_sweeps=0, finish=False, seed=1,
                           initial_states=sampleset)
    np.testing.assert_array_equal(start.record.sample, sampleset.record.sample[:3])


def test_initial_states_in_the_other_vartype_and_filled():
    bqm = dimod.BinaryQuadraticModel({"a": -1.0, "b": -1.0}, {("a", "b"): -2.0}, 0, "BINARY")
    answer = BipartiteSampler().sample(bqm, num_reads=4, initial_states={"a": 1, "b": 1},
                                       reverse_beta=None, seed=2)
    assert len(answer) == 4 and answer.first.energy == -4.0
    with pytest.raises(ValueError):
        BipartiteSampler().sample(bqm, num_reads=4, initial_states={"a": 1, "b": 1},
                                  initial_states_generator="none")


def test_schedules():
    rng = np.random.default_rng(12)
    bqm = random_bipartite(rng, 5, 4)
    sampler = BipartiteSampler()
    for kwargs in (dict(beta_schedule_type="linear", beta_range=[0.1, 3.0]),
                   dict(beta_schedule_type="geometric", num_sweeps_per_beta=4, num_sweeps=40),
                   dict(beta_schedule_type="custom", beta_schedule=[0.1, 1.0, 3.0])):
        answer = sampler.sample(bqm, num_reads=3, seed=1, **kwargs)
        np.testing.assert_array_equal(answer.record.energy, bqm.energies(answer))


def test_default_beta_range_matches_neal():
    samplers = pytest.importorskip("dwave.samplers.sa.sampler")
    rng = np.random.default_rng(13)
    for bqm in (random_bipartite(rng, 6, 5, density=0.5, isolated=2),
                dimod.BinaryQuadraticModel({0: 0, 1: 2, 2: 0}, {(0, 1): -1, (1, 2): 1}, 0,
                                           "BINARY"),
                dimod.BinaryQuadraticModel({0: 0.0, 1: 0.0}, {}, 0, "SPIN")):
        with warnings.catch_warnings():  # neal warns that all biases are zero
            warnings.simplefilter("ignore", UserWarning)
            reference = samplers.default_beta_range(bqm)
        np.testing.assert_allclose(default_beta_range(bqm), reference)


@pytest.mark.parametrize("kwargs, error", [
    (dict(seed="1"), TypeError), (dict(seed=1.5), TypeError), (dict(seed=-1), ValueError),
    (dict(seed=2 ** 31), ValueError), (dict(num_reads=0), ValueError),
    (dict(num_reads=2.0), TypeError), (dict(num_sweeps=-1), ValueError),
    (dict(num_sweeps=10, num_sweeps_per_beta=3), ValueError),
    (dict(num_sweeps_per_beta=0), ValueError), (dict(beta_range=[1.0]), ValueError),
    (dict(beta_range=[-1.0, 2.0]), ValueError), (dict(beta_range=[0.0, 2.0]), ValueError),
    (dict(beta_range="hot"), TypeError), (dict(beta_schedule_type="cubic"), ValueError),
    (dict(beta_schedule_type="custom"), ValueError),
    (dict(beta_schedule=[1.0, 2.0]), ValueError),
    (dict(beta_schedule_type="custom", beta_schedule=[1.0, -2.0]), ValueError),
    (dict(beta_range=[0.1, 1.0], reverse_beta=2.0), ValueError),
    (dict(reverse_beta="cold"), TypeError), (dict(finish="yes"), TypeError),
    (dict(initial_states_generator="sometimes"), ValueError),
    (dict(initial_states={"x": 1}), ValueError),
])
def test_bad_arguments(kwargs, error):
    bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {("a", "b"): -1.0}, 0, "SPIN")
    with pytest.raises(error):
        BipartiteSampler().sample(bqm, **kwargs)


def test_not_a_bqm():
    with pytest.raises(TypeError, match="BinaryQuadraticModel"):
        BipartiteSampler().sample({"a": 1.0})


def test_unknown_keyword_warns():
    bqm = dimod.BinaryQuadraticModel({"a": 1.0}, {}, 0, "SPIN")
    with pytest.warns(dimod.exceptions.SamplerUnknownArgWarning):
        BipartiteSampler().sample(bqm, not_a_parameter=3)
