"""The QPU path on a real D-Wave solver. Skipped unless Ocean finds an API token
(``DWAVE_API_TOKEN`` or ``dwave config create``); each test spends well under a second of QPU
access time. Run with ``pytest tests/qpu``; pick a solver with ``LAYERSWEEP_SOLVER``
(a name or a filter such as ``zephyr``)."""

import os

import numpy as np
import pytest

from layersweep.blocks import BlockProblem, descend


def _token():
    try:
        from dwave.cloud.config import load_config

        return load_config().get("token")
    except Exception:  # an unreadable config file: no credentials either
        return None


pytestmark = pytest.mark.skipif(not _token(), reason="no D-Wave API token configured")


@pytest.fixture(scope="module")
def sampler():
    from layersweep.samplers import make_sampler

    qpu = make_sampler("dwave", solver=os.environ.get("LAYERSWEEP_SOLVER"), s_pause=0.7)
    yield qpu
    qpu.qpu.close()


def test_reverse_anneals_on_the_qpu_stay_near_their_start(sampler):
    rng = np.random.default_rng(0)
    problem = BlockProblem(rng.normal(size=(16, 24)) * 0.3, rng.normal(size=(3, 24)) * 0.3,
                           rng.normal(size=(3, 16)) * 0.3)
    low, high = descend(problem, np.sign(rng.normal(size=(3, 1, 24))).astype(np.float32),
                        np.sign(rng.normal(size=(3, 1, 16))).astype(np.float32))
    out = sampler.sample(problem, 4, initial=(np.repeat(low, 4, 1), np.repeat(high, 4, 1)))
    assert out.low.shape == (3, 4, 24) and out.high.shape == (3, 4, 16)
    assert out.info["qpu_modelled_calls"] == 0  # a real solver reports its timing
    assert out.info["qpu_access_seconds"] > 0
    assert 0 <= out.info["chain_break_fraction"] <= 1


def test_forward_anneals_on_the_qpu(sampler):
    rng = np.random.default_rng(1)
    problem = BlockProblem(rng.normal(size=(16, 24)), rng.normal(size=(2, 24)),
                           rng.normal(size=(2, 16)))
    out = sampler.sample(problem, 5)
    assert np.allclose(out.energy, problem.energy(out.low, out.high), atol=1e-3)
    assert sampler.take_tally()["qpu_calls"] >= 2
