import dimod
import numpy as np
import pytest

from layersweep.blocks import BlockProblem
from layersweep.exceptions import BlockError, SamplerError
from layersweep.samplers import (BipartiteAnnealer, DimodBlockSampler, NealSampler,
                                 make_sampler)

from conftest import brute_force_minimum

SAMPLERS = {
    "numpy": lambda: BipartiteAnnealer(sweeps=64),
    "neal": lambda: NealSampler(sweeps=256),
    "exact": lambda: DimodBlockSampler(dimod.ExactSolver()),
}


@pytest.fixture(params=sorted(SAMPLERS))
def sampler(request):
    return SAMPLERS[request.param]()


def test_spins_and_reported_energies_are_the_models(sampler, small_problem):
    result = sampler.sample(small_problem, reads=5, seed=7)
    a, b = small_problem.shape
    assert result.low.shape == (4, 5, a) and result.high.shape == (4, 5, b)
    assert set(np.unique(result.low)) <= {-1.0, 1.0} and set(np.unique(result.high)) <= {-1.0, 1.0}
    assert np.allclose(result.energy, small_problem.energy(result.low, result.high), atol=1e-5)


def test_samplers_reach_the_brute_force_ground_state(sampler, rng):
    """Blocks of 16 spins (K(10, 6)), 6 problems: the lowest of 20 reads is the exact minimum."""
    problem = BlockProblem(rng.normal(size=(6, 10)), rng.normal(size=(6, 10)),
                           rng.normal(size=(6, 6)))
    found = sampler.sample(problem, reads=20, seed=3).energy.min(axis=1)
    assert np.allclose(found, brute_force_minimum(problem), atol=1e-4)


@pytest.mark.parametrize("name", ["numpy", "neal"])
def test_same_seed_same_samples_another_seed_other_samples(name, rng):
    """On a glassy K(40, 40) (many local minima) 8 short anneals of 4 problems: the same seed
    repeats every spin, another seed does not."""
    problem = BlockProblem(rng.normal(size=(40, 40)), rng.normal(size=(4, 40)) * 0.1,
                           rng.normal(size=(4, 40)) * 0.1)
    sampler = BipartiteAnnealer(sweeps=4) if name == "numpy" else NealSampler(sweeps=4)
    first = sampler.sample(problem, reads=8, seed=11)
    again = sampler.sample(problem, reads=8, seed=11)
    other = sampler.sample(problem, reads=8, seed=12)
    assert np.array_equal(first.low, again.low) and np.array_equal(first.high, again.high)
    assert not np.array_equal(first.low, other.low)
    assert not np.array_equal(first.high, other.high)


@pytest.mark.parametrize("name", ["numpy", "neal"])
def test_initial_states_are_honoured(name, rng):
    """A cold anneal started from a deep local minimum stays there; a hot one leaves it."""
    a, b = 8, 6
    target_low = rng.choice([-1.0, 1.0], a).astype(np.float32)
    target_high = rng.choice([-1.0, 1.0], b).astype(np.float32)
    J = np.outer(target_high, target_low) * 0.5
    problem = BlockProblem(J, np.zeros((1, a)), np.zeros((1, b)))  # ground states: ±target
    start = (np.tile(target_low, (1, 20, 1)), np.tile(target_high, (1, 20, 1)))
    cold = SAMPLERS[name]().__class__(sweeps=8, beta_range=(0.1, 8.0), reverse_beta=8.0)
    result = cold.sample(problem, reads=20, initial=start, seed=5)
    assert np.all(result.low == target_low) and np.all(result.high == target_high)
    free = cold.sample(problem, reads=40, seed=5)  # random starts find both ±target
    signs = np.sign(free.low @ target_low)
    assert {-1.0, 1.0} <= set(signs[0].tolist())


def test_dimod_sampler_with_fewer_rows_than_reads_cycles(small_problem):
    sampler = DimodBlockSampler(dimod.RandomSampler())
    result = sampler.sample(small_problem, reads=3, seed=1)
    assert result.low.shape[1] == 3


def test_bad_arguments_are_refused(small_problem):
    sampler = BipartiteAnnealer()
    with pytest.raises(BlockError, match="reads"):
        sampler.sample(small_problem, reads=0)
    with pytest.raises(SamplerError, match="seed"):
        sampler.sample(small_problem, reads=1, seed=2 ** 31)
    with pytest.raises(BlockError, match="shapes"):
        sampler.sample(small_problem, reads=2, initial=(np.ones((4, 1, 6)), np.ones((4, 1, 5))))
    with pytest.raises(BlockError, match="-1 or \\+1"):
        sampler.sample(small_problem, reads=1, initial=(np.zeros((4, 1, 6)), np.ones((4, 1, 5))))
    with pytest.raises(TypeError, match="BlockProblem"):
        sampler.sample("not a problem")
    with pytest.raises(SamplerError, match="beta_range"):
        BipartiteAnnealer(beta_range=(2.0, 1.0))
    with pytest.raises(SamplerError, match="unknown sampler"):
        make_sampler("qpu-please")
    with pytest.raises(SamplerError, match="dimod.Sampler"):
        DimodBlockSampler(object())


def test_make_sampler():
    assert isinstance(make_sampler("numpy", sweeps=5), BipartiteAnnealer)
    assert isinstance(make_sampler("neal"), NealSampler)
    assert isinstance(make_sampler(dimod.ExactSolver()), DimodBlockSampler)
    assert make_sampler("numpy", sweeps=5).properties["sweeps"] == 5
