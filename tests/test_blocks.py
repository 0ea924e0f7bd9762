import dimod
import numpy as np
import pytest

from layersweep.blocks import BlockProblem, BlockSamples, block_problem, descend
from layersweep.exceptions import BlockError

from conftest import all_spins, brute_force_minimum


def test_block_energy_is_the_full_energy_restricted_to_the_block(tiny_net, rng):
    """For every state of the active layers, E_block differs from the full energy by a
    constant (the frozen layers' own terms): brute force over all 2^5 block states."""
    x = rng.random((1, 5)).astype(np.float32)
    frozen = [None] + [rng.choice([-1.0, 1.0], (1, n)).astype(np.float32)
                       for n in tiny_net.sizes[1:]]
    for l in (1, 2):
        a, b = tiny_net.sizes[l], tiny_net.sizes[l + 1]
        problem = block_problem(tiny_net, l, x, frozen[l - 1],
                                frozen[l + 2] if l + 2 <= tiny_net.depth else None)
        states = all_spins(a + b)
        low, high = states[None, :, :a], states[None, :, a:]
        block_e = problem.energy(low, high)[0]
        full = [None] + [np.repeat(s, len(states), axis=0) for s in frozen[1:]]
        full[l], full[l + 1] = low[0], high[0]
        full_e = tiny_net.energy(full, np.repeat(x, len(states), axis=0))
        assert np.ptp(full_e - block_e) < 1e-5


def test_bqm_has_the_same_energies(small_problem, rng):
    a, b = small_problem.shape
    low = rng.choice([-1.0, 1.0], (4, 3, a)).astype(np.float32)
    high = rng.choice([-1.0, 1.0], (4, 3, b)).astype(np.float32)
    ours = small_problem.energy(low, high)
    for p in range(4):
        bqm = small_problem.to_bqm(p)
        assert bqm.vartype is dimod.SPIN and set(bqm.variables) == set(range(a + b))
        rows = small_problem.spins_to_dimod(low[p], high[p])
        assert np.allclose(bqm.energies((rows, range(a + b))), ours[p], atol=1e-4)


def test_exact_solver_ground_state_matches_brute_force(small_problem):
    exact = [dimod.ExactSolver().sample(small_problem.to_bqm(p)).first.energy for p in range(4)]
    assert np.allclose(exact, brute_force_minimum(small_problem), atol=1e-4)


def test_descend_never_raises_energy_and_ends_in_a_fixed_point(small_problem, rng):
    a, b = small_problem.shape
    low = rng.choice([-1.0, 1.0], (4, 50, a)).astype(np.float32)
    high = rng.choice([-1.0, 1.0], (4, 50, b)).astype(np.float32)
    before = small_problem.energy(low, high)
    low2, high2 = descend(small_problem, low, high)
    assert np.all(small_problem.energy(low2, high2) <= before + 1e-5)
    assert np.array_equal(np.where(small_problem.low_field(high2) >= 0, 1, -1), low2)


def test_field_scale_tracks_weight_scale(small_problem):
    doubled = BlockProblem(2 * small_problem.J, 2 * small_problem.h_low, 2 * small_problem.h_high)
    assert np.allclose(doubled.field_scale(), 2 * small_problem.field_scale())


def test_lowest_and_sampleset(small_problem, rng):
    a, b = small_problem.shape
    low = rng.choice([-1.0, 1.0], (4, 3, a)).astype(np.float32)
    high = rng.choice([-1.0, 1.0], (4, 3, b)).astype(np.float32)
    samples = BlockSamples(low, high, small_problem.energy(low, high))
    best_low, _, best_e = samples.lowest()
    assert np.allclose(best_e, samples.energy.min(axis=1))
    sampleset = samples.to_sampleset(small_problem, 2)
    assert np.allclose(np.sort(sampleset.record.energy), np.sort(samples.energy[2]), atol=1e-4)


def test_mismatched_shapes_are_refused():
    with pytest.raises(BlockError, match="must be \\(P, 3\\)"):
        BlockProblem(np.zeros((2, 3)), np.zeros((1, 4)), np.zeros((1, 2)))


def test_block_outside_the_network_is_refused(tiny_net):
    with pytest.raises(BlockError, match="does not exist"):
        block_problem(tiny_net, 3, np.zeros((1, 5)))
