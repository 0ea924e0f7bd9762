"""The default annealer's compiled kernel: agreement with its NumPy twin, determinism across
thread counts, the heat-bath probabilities, and the zero-temperature finish."""

import numpy as np
import pytest

from layersweep.blocks import BlockProblem, descend
from layersweep.exceptions import SamplerError
from layersweep.network import spin_sign
from layersweep.samplers import BipartiteAnnealer, _kernels, annealer

needs_numba = pytest.mark.skipif(_kernels.numba is None, reason="numba is not installed")


def dyadic_problem(rng, P=5, a=11, b=7):
    """Couplings and fields in multiples of 1/8: every field sum is exact in float32, so the
    kernel (incremental fields) and the twin (matrix products) see the same numbers."""
    J = rng.integers(-8, 9, (b, a)) / 8
    return BlockProblem(J, rng.integers(-16, 17, (P, a)) / 8, rng.integers(-16, 17, (P, b)) / 8)


def kernel(problem, reads, beta2, high, key, max_passes, exact_low):
    """The compiled kernel called directly (so that beta2 can be chosen exact)."""
    P = problem.num_problems
    a, b = problem.shape
    N = P * reads
    low = np.empty((N, a), np.float32)
    start = np.empty((N, b), np.float32) if high is None else high.copy()
    passes = np.empty(N, np.int32)
    _kernels.anneal(_kernels.padded(problem.J), _kernels.padded(problem.J.T), problem.h_low,
                    problem.h_high, beta2, reads, _kernels.row_keys(key, N), _kernels.LOGIT,
                    low, start, high is None, max_passes, passes, exact_low)
    return low, start, passes


@needs_numba
@pytest.mark.parametrize("exact_low", [False, True])
@pytest.mark.parametrize("random_start", [True, False])
@pytest.mark.parametrize("sweeps", [0, 1, 6])
def test_kernel_equals_numpy_twin(rng, exact_low, random_start, sweeps):
    problem = dyadic_problem(rng)
    reads = 9
    beta2 = (2.0 ** rng.integers(-3, 3, (problem.num_problems, sweeps))).astype(np.float32)
    high = None if random_start else \
        rng.choice([-1.0, 1.0], (problem.num_problems * reads, 7)).astype(np.float32)
    key = _kernels.call_key(42)
    got = kernel(problem, reads, beta2, high, key, 50, exact_low)
    want = _kernels.anneal_numpy(problem.J, problem.h_low, problem.h_high, beta2, reads, key,
                                 high, 50, exact_low)
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


@needs_numba
def test_backends_agree_through_the_sampler(rng):
    problem = dyadic_problem(rng)
    fast = BipartiteAnnealer(sweeps=5, backend="numba").sample(problem, 6, seed=3)
    slow = BipartiteAnnealer(sweeps=5, backend="numpy").sample(problem, 6, seed=3)
    # beta * field may round differently (a fused multiply-add): allow a rare differing read
    same = (fast.low == slow.low).all(-1) & (fast.high == slow.high).all(-1)
    assert same.mean() > 0.9


@needs_numba
def test_same_seed_same_samples_on_any_number_of_threads(rng, monkeypatch):
    problem = BlockProblem(rng.normal(size=(20, 50)), rng.normal(size=(8, 50)),
                           rng.normal(size=(8, 20)))
    monkeypatch.setattr(annealer, "PARALLEL_WORK", 0)  # always on THREADS threads
    monkeypatch.setattr(annealer, "CHUNK_READS", 7)
    sampler = BipartiteAnnealer(sweeps=10)
    runs = []
    for threads in (1, 2, 3):
        monkeypatch.setattr(annealer, "THREADS", threads)
        runs.append(sampler.sample(problem, 40, seed=9))
    for r in runs[1:]:
        assert np.array_equal(r.low, runs[0].low) and np.array_equal(r.high, runs[0].high)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_heat_bath_probabilities_are_the_boltzmann_ones(backend):
    """No couplings: every low spin is independent, +1 with probability sigmoid(2 beta h)
    after one half-sweep (no finishing pass). 20000 reads, a 5-sigma band."""
    h = np.array([[-2.0, -0.5, 0.0, 0.3, 1.0, 3.0]], np.float32)
    problem = BlockProblem(np.zeros((2, 6)), h, np.zeros((1, 2)))
    beta = 0.7 * problem.field_scale()[0]  # so that 2 beta / field_scale = 1.4
    low, _, _ = annealer.run(problem, 20000, np.array([beta]), None, 5, backend=backend,
                             max_passes=0)
    frequency = (low[0] > 0).mean(axis=0)
    p = 1 / (1 + np.exp(-1.4 * h[0]))
    assert np.all(np.abs(frequency - p) < 5 * np.sqrt(p * (1 - p) / 20000) + 1e-3)


def test_logistic_table():
    table = _kernels.LOGIT
    assert table.dtype == np.float32 and len(table) == 2 ** _kernels.BITS
    assert np.all(np.diff(table) > 0) and np.allclose(table, -table[::-1])
    # the 16-bit indices of four spins per hash are uniform
    noise = _kernels.noise(_kernels.row_keys(1, 4000), 3, 10, 40)
    assert abs(float((noise > 0).mean()) - 0.5) < 0.01


@pytest.mark.parametrize("finisher", ["descend", "finish"])
def test_zero_temperature_finish_never_raises_the_energy(rng, finisher):
    problem = BlockProblem(rng.normal(size=(15, 30)), rng.normal(size=(6, 30)),
                           rng.normal(size=(6, 15)))
    low = rng.choice([-1.0, 1.0], (6, 8, 30)).astype(np.float32)
    high = rng.choice([-1.0, 1.0], (6, 8, 15)).astype(np.float32)
    if finisher == "descend":
        new_low, new_high = descend(problem, low, high)
    else:
        new_low, new_high = annealer.finish(problem, high)
    before = problem.energy(low, high)
    after = problem.energy(new_low, new_high)
    assert np.all(after <= before + 1e-4)
    # a local minimum: each side is the sign of its field given the other
    assert np.array_equal(spin_sign(problem.low_field(new_high)), new_low)
    assert np.array_equal(spin_sign(problem.high_field(new_low)), new_high)


def test_finish_equals_descend_on_exact_problems(rng):
    problem = dyadic_problem(rng, P=4, a=12, b=6)
    high = rng.choice([-1.0, 1.0], (4, 10, 6)).astype(np.float32)
    want = descend(problem, np.ones((4, 10, 12), np.float32), high)
    got = annealer.finish(problem, high)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_exact_low_samples_are_minimal_on_the_low_side(rng):
    problem = BlockProblem(rng.normal(size=(10, 30)), rng.normal(size=(3, 30)),
                           rng.normal(size=(3, 10)))
    result = BipartiteAnnealer(sweeps=12, exact_low=True).sample(problem, 7, seed=2)
    assert np.array_equal(spin_sign(problem.low_field(result.high)), result.low)
    assert result.info["finish_passes"] >= 0
    assert BipartiteAnnealer(exact_low=True).properties["exact_low"] is True


def test_bad_backend_is_refused():
    with pytest.raises(SamplerError, match="backend"):
        BipartiteAnnealer(backend="gpu")


@needs_numba
@pytest.mark.parametrize("shape", [(7, 5), (64, 32), (300, 200)])
@pytest.mark.parametrize("warm", [False, True])
@pytest.mark.parametrize("exact_low", [False, True])
def test_the_dense_backend_is_the_numpy_twin_bit_for_bit(shape, warm, exact_low):
    """Whole-side matrix products with compiled decisions give the twin's samples exactly
    (fields, noise and finish are the same operations), on real-valued couplings."""
    a, b = shape
    rng = np.random.default_rng(a)
    problem = BlockProblem(rng.normal(size=(b, a)), rng.normal(size=(4, a)),
                           rng.normal(size=(4, b)))
    start = np.sign(rng.normal(size=(4, 6, b))).astype(np.float32) if warm else None
    betas = np.geomspace(0.1, 4, 8).astype(np.float32)
    twin = annealer.run(problem, 6, betas, start, 5, backend="numpy", exact_low=exact_low)
    dense = annealer.run(problem, 6, betas, start, 5, backend="dense", exact_low=exact_low)
    for x, y in zip(twin, dense):
        np.testing.assert_array_equal(x, y)


@needs_numba
def test_auto_picks_the_kernel_for_training_blocks_and_dense_for_wide_ones():
    assert annealer._backend("auto", (120, 40), given=True) == "numba"
    assert annealer._backend("auto", (256, 128), given=False) == "numba"
    assert annealer._backend("auto", (512, 512), given=False) == "numba"
    assert annealer._backend("auto", (768, 768), given=False) == "dense"
    assert annealer._backend("auto", (768, 768), given=True) == "numba"
    assert annealer._backend("auto", (1024, 1024), given=True) == "numba"
    assert annealer._backend("dense") == "dense"
