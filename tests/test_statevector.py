"""The state-vector quantum annealer against an independent solver and known limits."""

from functools import reduce

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.stats import chisquare

from layersweep.blocks import BlockProblem
from layersweep.exceptions import SamplerError
from layersweep.samplers.statevector import (StateVectorSampler, anneal_schedule, anneal_state,
                                             auto_steps, basis_energies, basis_index, evolve,
                                             index_spins, plus_state)

from conftest import all_spins

PAULI_X = np.array([[0.0, 1.0], [1.0, 0.0]])
PAULI_Z = np.diag([1.0, -1.0])


def on_qubit(matrix, j, n):
    """``matrix`` on qubit j of n (qubit 0 is the leftmost factor of the Kronecker product)."""
    return reduce(np.kron, [matrix if k == j else np.eye(2) for k in range(n)])


def reference_state(problem, p, points, psi0):
    """The time-dependent Schrödinger equation of dense Pauli matrices, solved by DOP853."""
    a, b = problem.shape
    n = a + b
    spins = np.array([np.diag(on_qubit(PAULI_Z, j, n)) for j in range(n)]).T   # (2**n, n)
    low, high = spins[:, :a], spins[:, a:]
    J = problem.J.astype(float)
    energy = -(low @ problem.h_low[p].astype(float) + high @ problem.h_high[p].astype(float)
               + np.einsum("kb,ba,ka->k", high, J, low))
    h_x = sum(on_qubit(PAULI_X, j, n) for j in range(n))
    h_p = np.diag(energy / float(problem.field_scale()[p]))
    t, s = np.asarray(points).T

    def rhs(time, y):
        sv = np.interp(time, t, s)
        return -1j * (-(1 - sv) * (h_x @ y) + sv * (h_p @ y))

    y = np.asarray(psi0, complex)
    for i in range(len(t) - 1):
        y = solve_ivp(rhs, (t[i], t[i + 1]), y, method="DOP853", rtol=1e-12, atol=1e-13).y[:, -1]
    return y


def gaussian(rng, a, b, P=1, field=1.0):
    return BlockProblem(rng.normal(size=(b, a)), field * rng.normal(size=(P, a)),
                        field * rng.normal(size=(P, b)))


def test_bit_convention_and_energies(rng):
    """Qubit 0 is the most significant bit, bit 0 is spin +1; energies are the model's."""
    problem = gaussian(rng, 2, 3, P=2)
    states = all_spins(5)                          # itertools order: (-1, ...) first
    index = basis_index(states[:, :2], states[:, 2:])
    assert np.array_equal(index, (2 ** 5 - 1) - np.arange(32))
    low, high = index_spins(index, 2, 3)
    assert np.array_equal(low, states[:, :2]) and np.array_equal(high, states[:, 2:])
    energies = basis_energies(problem)[:, index]
    expected = problem.energy(np.broadcast_to(states[None, :, :2], (2, 32, 2)),
                              np.broadcast_to(states[None, :, 2:], (2, 32, 3)))
    assert np.allclose(energies, expected, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 2), (1, 3)])
@pytest.mark.parametrize("reverse", [False, True])
def test_final_state_agrees_with_an_independent_solver(shape, reverse, rng):
    """Same convention, same phase: the whole state vector within 1e-6 of DOP853."""
    problem = gaussian(rng, *shape)
    n = sum(shape)
    if reverse:
        points = anneal_schedule(4.0, s_pause=0.4)
        psi0 = np.zeros(2 ** n, complex)
        psi0[5] = 1.0
    else:
        points, psi0 = anneal_schedule(4.0), plus_state(n)
    psi = evolve(psi0, problem, 0, points, steps=6000)
    assert np.linalg.norm(psi - reference_state(problem, 0, points, psi0)) < 1e-6


def test_splitting_error_is_second_order_and_the_step_rule_is_about_1e_3(rng):
    problem = gaussian(rng, 2, 2)
    points = anneal_schedule(10.0)
    exact = reference_state(problem, 0, points, plus_state(4))
    steps = int(auto_steps(problem, points)[0])
    errors = [np.linalg.norm(evolve(plus_state(4), problem, 0, points, k) - exact)
              for k in (steps, 2 * steps)]
    assert errors[0] < 3e-3
    assert 3.5 < errors[0] / errors[1] < 4.5


def test_slow_anneal_ends_in_the_ground_state():
    """A biased ferromagnetic K(2, 3): the unique ground state is all +1 (basis state 0), the
    next level 2.4 field scales above; adiabatic at annealing_time 50."""
    problem = BlockProblem(0.6 * np.ones((3, 2)), [[0.3, 0.3]], [[0.2, 0.2, 0.2]])
    energies = basis_energies(problem, 0)
    order = np.argsort(energies)
    assert order[0] == 0 and energies[order[1]] - energies[0] > 2 * problem.field_scale()[0]
    assert abs(anneal_state(problem, 0, 50.0)[0]) ** 2 > 0.99
    samples = StateVectorSampler(annealing_time=50.0).sample(problem, reads=200, seed=1)
    assert (basis_index(samples.low[0], samples.high[0]) == 0).mean() > 0.95
    assert abs(anneal_state(problem, 0, 2.0)[0]) ** 2 < 0.9      # a fast anneal is not


def test_sudden_anneal_measures_the_uniform_superposition(rng):
    problem = gaussian(rng, 1, 2)
    samples = StateVectorSampler(annealing_time=1e-6).sample(problem, reads=4000, seed=3)
    counts = np.bincount(basis_index(samples.low[0], samples.high[0]), minlength=8)
    assert chisquare(counts).pvalue > 0.01


def test_norm_is_kept_and_the_inverse_undoes_the_anneal(rng):
    problem = gaussian(rng, 3, 4, P=2)
    points = anneal_schedule(10.0, s_pause=0.3)
    start = rng.normal(size=(2, 2 ** 7)) + 1j * rng.normal(size=(2, 2 ** 7))
    start /= np.linalg.norm(start, axis=1, keepdims=True)
    psi = start
    for _ in range(3):                      # norms along the way: anneal after anneal
        psi = evolve(psi, problem, [0, 1], points)
        assert np.allclose(np.linalg.norm(psi, axis=1), 1, atol=1e-10, rtol=0)
    back = evolve(evolve(start, problem, [0, 1], points), problem, [0, 1], points, inverse=True)
    assert np.abs(back - start).max() < 1e-10


def test_reverse_anneal_with_s_pause_near_one_stays_put(rng):
    problem = gaussian(rng, 3, 3, P=2)
    low = rng.choice([-1.0, 1.0], size=(2, 10, 3))
    high = rng.choice([-1.0, 1.0], size=(2, 10, 3))
    sampler = StateVectorSampler(annealing_time=10.0, s_pause=0.99)
    samples = sampler.sample(problem, reads=10, initial=(low, high), seed=4)
    assert np.array_equal(samples.low, low) and np.array_equal(samples.high, high)
    psi = anneal_state(problem, 1, 10.0, start=(low[1, 0], high[1, 0]), s_pause=0.99)
    assert abs(psi[basis_index(low[1, 0], high[1, 0])]) ** 2 > 0.99


def test_shapes_energies_and_seeds(small_problem):
    sampler = StateVectorSampler(annealing_time=3.0)
    first = sampler.sample(small_problem, reads=6, seed=7)
    assert first.low.shape == (4, 6, 6) and first.high.shape == (4, 6, 5)
    assert first.energy.shape == (4, 6)
    assert set(np.unique(first.low)) <= {-1.0, 1.0} and set(np.unique(first.high)) <= {-1.0, 1.0}
    assert np.allclose(first.energy, small_problem.energy(first.low, first.high), atol=1e-5)
    assert first.info["qubits"] == 11 and first.info["steps"] >= 16
    again = sampler.sample(small_problem, reads=6, seed=7)
    assert np.array_equal(first.low, again.low) and np.array_equal(first.high, again.high)
    warm = sampler.sample(small_problem, reads=6, initial=(first.low, first.high), seed=7)
    assert warm.low.shape == (4, 6, 6)
    assert sampler.properties["name"] == "statevector"


def test_too_large_blocks_and_bad_arguments_are_refused(rng):
    problem = gaussian(rng, 15, 10)
    with pytest.raises(SamplerError, match="max_qubits=20"):
        StateVectorSampler(max_qubits=20).sample(problem)
    with pytest.raises(SamplerError, match="max_qubits"):
        StateVectorSampler(max_qubits=40)
    with pytest.raises(SamplerError, match="annealing_time"):
        StateVectorSampler(annealing_time=0)


def test_batched_problems_give_the_states_of_single_calls(rng):
    problem = gaussian(rng, 3, 3, P=3)
    points = anneal_schedule(5.0)
    batched = evolve(np.tile(plus_state(6), (3, 1)), problem, [0, 1, 2], points, steps=400)
    for p in range(3):
        assert np.allclose(batched[p], evolve(plus_state(6), problem, p, points, steps=400),
                           atol=1e-13, rtol=0)
    # the sampler: a problem's steps and reads do not depend on the problems batched with it
    # (the first problem's reads use the same random numbers alone as in the batch)
    sampler = StateVectorSampler(annealing_time=5.0)
    together = sampler.sample(problem, reads=50, seed=2)
    alone = sampler.sample(BlockProblem(problem.J, problem.h_low[:1], problem.h_high[:1]),
                           reads=50, seed=2)
    assert np.array_equal(together.low[0], alone.low[0])
    assert np.array_equal(together.high[0], alone.high[0])
