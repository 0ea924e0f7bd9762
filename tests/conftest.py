"""Shared fixtures: small networks and block problems that brute force can check."""

import itertools

import numpy as np
import pytest

from layersweep import data as datasets
from layersweep.blocks import BlockProblem
from layersweep.estimator import LayerSweepClassifier
from layersweep.network import Network
from layersweep.recipe import FIELDS


def all_spins(n: int) -> np.ndarray:
    """Every configuration of n spins, ``(2**n, n)`` float32."""
    return np.array(list(itertools.product((-1.0, 1.0), repeat=n)), dtype=np.float32)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def tiny_net(rng):
    """5 inputs -> 3 -> 2 -> 4 spins (2 classes x redundancy 2): three spin layers."""
    net = Network.random([5, 3, 2, 4], rng, classes=2, redundancy=2)
    for l in range(1, net.depth + 1):
        net.b[l] = rng.normal(0, 0.3, net.b[l].shape).astype(np.float32)
    return net


@pytest.fixture
def small_problem(rng):
    """Four problems on K(6, 5) that share couplings: 11 spins, 2048 states each."""
    return BlockProblem(rng.normal(size=(5, 6)), rng.normal(size=(4, 6)),
                        rng.normal(size=(4, 5)))


def brute_force_minimum(problem: BlockProblem) -> np.ndarray:
    """``(P,)`` exact ground-state energies of every problem, by enumeration."""
    a, b = problem.shape
    states = all_spins(a + b)
    low = np.broadcast_to(states[None, :, :a], (problem.num_problems, len(states), a))
    high = np.broadcast_to(states[None, :, a:], (problem.num_problems, len(states), b))
    return problem.energy(low, high).min(axis=1)


@pytest.fixture
def npz(tmp_path):
    """A small learnable data set as a user's .npz file: 120 samples, 12 features, 3 classes."""
    d = datasets.synthetic(n=120, features=12, classes=3, seed=2)
    path = tmp_path / "digits.npz"
    np.savez(path, X=d.X, y=d.y)
    return str(path)


def classifier(**params) -> LayerSweepClassifier:
    """A LayerSweepClassifier from flat parameters: the recipe's fields among them are
    gathered into ``recipe=`` (merged with a ``recipe`` dict given too)."""
    recipe = {name: params.pop(name) for name in list(params) if name in FIELDS}
    if recipe:
        params["recipe"] = {**(params.get("recipe") or {}), **recipe}
    return LayerSweepClassifier(**params)
