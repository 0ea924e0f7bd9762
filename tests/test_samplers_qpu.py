"""The QPU path offline: tiled embeddings, reverse anneals, cost accounting, errors, CLI.

Small lattices (pegasus:4, zephyr:3) and small blocks keep these fast; the K(120, 40) end to end
run on pegasus:16 carries the ``slow`` marker.
"""

import dimod
import numpy as np
import pytest
from dwave.system import FixedEmbeddingComposite, ParallelEmbeddingComposite
from dwave.system.testing import MockDWaveSampler

from layersweep.blocks import BlockProblem, descend
from layersweep.embedding import EmbeddingCache, tile_embeddings
from layersweep.embedding.cache import _checkout_store
from layersweep.exceptions import SamplerError
from layersweep.samplers import QPUBlockSampler, make_sampler
from layersweep.samplers.mock import MockQPUSampler, mock_from_spec
from layersweep.cost import estimate_run
from layersweep.samplers.cloud import parse_solver
from layersweep.samplers.composite import TiledEmbeddingComposite
from layersweep.samplers.timing import (PUBLISHED_TIMING, access_time, pack_problems,
                                        readout_time, reverse_schedule)
from layersweep.topology import target_from_sampler


@pytest.fixture
def cache(tmp_path):
    """A private cache that reads the committed embeddings but never writes beside them."""
    store = _checkout_store()
    return EmbeddingCache(tmp_path / "emb", read_only=[store] if store else [])


@pytest.fixture(scope="module")
def small_qpu():
    return MockQPUSampler("pegasus", [4])


def block(rng, P=3, a=12, b=8, scale=1.0):
    return BlockProblem(rng.normal(size=(b, a)) * scale, rng.normal(size=(P, a)) * scale,
                        rng.normal(size=(P, b)) * scale)


def random_spins(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


# ---- planning and the timing model ---------------------------------------------------------

def test_pack_problems_sorts_by_reads_and_fills_tiles():
    calls = pack_problems([2, 3, 2, 2, 3, 1], tiles=4)
    assert [sorted(chunk.tolist()) for chunk, _ in calls] == [[0, 1, 2, 4], [3, 5]]
    assert [reads for _, reads in calls] == [3, 2]
    assert len(pack_problems([1] * 9, tiles=1)) == 9


def test_access_time_model_follows_published_figures():
    t = access_time(906, 3, 20.0, reverse=True)
    programming = PUBLISHED_TIMING["typical_programming_time"] + 1000.0
    per_read = 20.0 + readout_time(906) + 20.54 - 4.5
    assert t["qpu_access_time"] == pytest.approx(programming + 3 * per_read)
    assert 150 < readout_time(906) < 300 and readout_time(100) < readout_time(3000)
    forward = access_time(906, 3, 20.0, reverse=False)["qpu_access_time"]
    assert forward == pytest.approx(t["qpu_access_time"] + 3 * 4.5)


def test_estimate_compares_tiled_and_untiled(cache):
    from layersweep import LayerSweepClassifier, data

    train = data.split(data.load("mnist5k"), 100, 0)["train"]

    def estimate(**recipe):
        model = LayerSweepClassifier(epochs=2, random_state=0, recipe=dict(reads=20, **recipe))
        result = estimate_run(model, train.X, train.y, topology="pegasus:16", cache=cache)
        return {s["strategy"]: s for s in result["strategies"]}, result["plan"]

    rows, plan = estimate()
    assert plan["blocks"] == [{"shape": [120, 40], "copies": 4, "qubits_per_copy": 906}]
    tiled, untiled = rows["tiled"]["stages"][0], rows["one problem per call"]["stages"][0]
    assert untiled["problems_per_epoch"] == 900 == untiled["calls_per_epoch"]
    assert tiled["calls_per_epoch"] == 10 * 23  # 90 problems per minibatch, 4 per call
    assert rows["tiled"]["seconds"] < rows["one problem per call"]["seconds"] / 3
    forward, _ = estimate(start="random")
    assert forward["tiled"]["stages"][0]["calls_per_epoch"] == 10 * 3


def test_parse_solver_forms():
    assert parse_solver(None) is None and parse_solver("") is None
    assert parse_solver("zephyr") == {"topology__type": "zephyr"}
    assert parse_solver("topology__type=zephyr,num_active_qubits__gte=5000") == \
        {"topology__type": "zephyr", "num_active_qubits__gte": 5000}
    assert parse_solver('{"qpu": true}') == {"qpu": True}
    assert parse_solver("Advantage_system4.1") == "Advantage_system4.1"


# ---- checks before anything is sent ----------------------------------------------------------

def test_schedule_is_checked_against_the_solver(small_qpu):
    with pytest.raises(SamplerError, match="s_pause"):
        reverse_schedule(1.2)
    with pytest.raises(SamplerError, match="slope"):  # 0.8 of s in 0.1 µs: too steep
        QPUBlockSampler(small_qpu, s_pause=0.2, ramp=0.1)
    with pytest.raises(SamplerError, match="annealing_time_range"):
        QPUBlockSampler(small_qpu, annealing_time=5000.0)
    stock = MockDWaveSampler(topology_type="pegasus", topology_shape=[4])
    del stock.parameters["initial_state"]
    with pytest.raises(SamplerError, match="reverse-anneal"):
        QPUBlockSampler(stock)


def test_out_of_range_problem_is_refused_without_auto_scale(small_qpu, cache, rng):
    sampler = QPUBlockSampler(small_qpu, auto_scale=False, chain_strength=50.0, cache=cache)
    with pytest.raises(SamplerError, match="j_range"):
        sampler.sample(block(rng), 2, seed=0)


# ---- embedding: the same BQMs as Ocean's composites ------------------------------------------

def test_tiles_embed_like_ocean_composites(cache, rng):
    child = MockDWaveSampler(topology_type="pegasus", topology_shape=[4],
                             parameter_warnings=False)
    tiles = tile_embeddings(12, 8, target_from_sampler(child), 3, cache=cache)
    assert len(tiles) == 3
    problem = block(rng, P=3)
    bqms = [problem.to_bqm(p) for p in range(3)]

    ours = TiledEmbeddingComposite(dimod.TrackingComposite(child), tiles)
    ours.sample_multiple(bqms, num_reads=1)
    tiled = ours.child.input["bqm"]
    ocean = ParallelEmbeddingComposite(dimod.TrackingComposite(child), embeddings=tiles)
    ocean.sample_multiple(bqms, num_reads=1)
    reference = ocean.child.input["bqm"]
    assert set(tiled.variables) == set(reference.variables)
    for v in reference.variables:
        assert tiled.get_linear(v) == pytest.approx(reference.get_linear(v))
    for u, v, bias in reference.iter_quadratic():
        assert tiled.get_quadratic(u, v) == pytest.approx(bias)

    small = block(rng, P=1, scale=0.05).to_bqm(0)  # within h_range and j_range as it is
    one = TiledEmbeddingComposite(dimod.TrackingComposite(child), tiles[:1])
    one.sample(small, num_reads=1, auto_scale=False)
    fixed = FixedEmbeddingComposite(dimod.TrackingComposite(child), tiles[0])
    fixed.sample(small, num_reads=1, auto_scale=False)
    assert one.child.input["bqm"] == fixed.child.input["bqm"]


def test_initial_state_is_spread_over_chains(cache, rng):
    child = MockQPUSampler("pegasus", [4])
    tracker = dimod.TrackingComposite(child)
    tiles = tile_embeddings(12, 8, target_from_sampler(child), 2, cache=cache)
    composite = TiledEmbeddingComposite(tracker, tiles)
    problem = block(rng, P=2)
    states = [dict(enumerate(random_spins(rng, 20).tolist())) for _ in range(2)]
    composite.sample_multiple([problem.to_bqm(0), problem.to_bqm(1)], initial_states=states,
                              num_reads=2, anneal_schedule=reverse_schedule(0.9),
                              reinitialize_state=True, answer_mode="raw", seed=1)
    sent = tracker.input["initial_state"]
    for tile, state in zip(tiles, states):
        for v, chain in tile.items():
            assert {sent[q] for q in chain} == {state[v]}


# ---- sampling -----------------------------------------------------------------------------

def test_reads_sharing_a_start_state_are_one_problem(small_qpu, cache, rng):
    sampler = QPUBlockSampler(small_qpu, cache=cache)
    problem = block(rng, P=2)
    starts = random_spins(rng, (2, 3, 20))
    pick = np.array([0, 1, 2, 0, 1, 0])  # 3 start states, read 3 times, twice and once
    low, high = starts[:, pick, :12], starts[:, pick, 12:]
    out = sampler.sample(problem, 6, initial=(low, high), seed=3)
    tiles = out.info["qpu_problems"] and sampler.properties["embeddings"]["K12x8"]["copies"]
    assert out.info["qpu_problems"] == 6
    assert out.info["qpu_calls"] == -(-6 // tiles)
    assert out.low.shape == (2, 6, 12) and out.high.shape == (2, 6, 8)
    assert set(np.unique(out.low)) <= {-1.0, 1.0}
    assert np.allclose(out.energy, problem.energy(out.low, out.high), atol=1e-4)
    assert 0 <= out.info["chain_break_fraction"] <= 1
    # forward anneals: one problem per block problem
    fwd = sampler.sample(problem, 4, seed=4)
    assert fwd.info["qpu_problems"] == 2 and fwd.info["qpu_reads"] == 4 * fwd.info["qpu_calls"]
    tally = sampler.take_tally()
    assert tally["qpu_problems"] == 8 and tally["qpu_calls"] >= 2
    assert tally["qpu_access_seconds"] > 0.015 * tally["qpu_calls"]
    assert sampler.take_tally() == {}


def test_reverse_anneal_starts_from_the_reference_state(cache, rng):
    """Shallow reverse anneals stay by their start state, deep ones wander off."""
    problem = block(rng, P=4, a=24, b=16, scale=0.3)
    # local minima, as reference states are (a random state would roll downhill at any s)
    start = np.concatenate(descend(problem, random_spins(rng, (4, 1, 24)),
                                   random_spins(rng, (4, 1, 16))), axis=-1)
    reads = 8
    initial = (np.repeat(start[..., :24], reads, 1), np.repeat(start[..., 24:], reads, 1))
    distance = {}
    for s_pause in (0.9, 0.2):
        sampler = QPUBlockSampler(MockQPUSampler("pegasus", [6]), s_pause=s_pause,
                                  descend=False, cache=cache)
        out = sampler.sample(problem, reads, initial=initial, seed=5)
        moved = np.concatenate([out.low, out.high], -1) != np.repeat(start, reads, 1)
        distance[s_pause] = moved.mean()
    assert distance[0.9] < 0.05
    assert distance[0.2] > 0.3


def test_mock_is_reproducible_and_zephyr_works(cache, rng):
    problem = block(rng, P=2)
    runs = [QPUBlockSampler(mock_from_spec("zephyr:3"), cache=cache).sample(problem, 3, seed=9)
            for _ in range(2)]
    assert np.array_equal(runs[0].low, runs[1].low)
    with pytest.raises(SamplerError, match="pegasus or zephyr"):
        mock_from_spec("chimera:4")


def test_make_sampler_specs(cache):
    sampler = make_sampler("mock:pegasus:4", s_pause=0.7, sweeps=99, cache=cache)
    assert isinstance(sampler, QPUBlockSampler) and sampler.s_pause == 0.7
    assert sampler.properties["name"] == "mock:pegasus:4"
    assert isinstance(make_sampler(MockDWaveSampler(topology_type="pegasus",
                                                    topology_shape=[4])), QPUBlockSampler)
    with pytest.raises(SamplerError, match="unknown sampler"):
        make_sampler("qpu")


# ---- failures -------------------------------------------------------------------------------

def test_connect_errors_say_what_to_do(monkeypatch):
    import dwave.system
    from dwave.cloud.exceptions import SolverAuthenticationError, SolverNotFoundError

    def raising(exc):
        def build(**config):
            raise exc
        return build

    cases = [(ValueError("API token not defined"), "DWAVE_API_TOKEN"),
             (SolverNotFoundError("none"), "dwave solvers"),
             (SolverAuthenticationError("401"), "dwave config create"),
             (ConnectionError("no route"), "cannot reach")]
    for exc, advice in cases:
        monkeypatch.setattr(dwave.system, "DWaveSampler", raising(exc))
        with pytest.raises(SamplerError, match=advice):
            make_sampler("dwave:zephyr")


class Flaky(MockQPUSampler):
    """Fails the first ``failures`` calls with ``error``."""

    def __init__(self, error, failures, **kw):
        super().__init__("pegasus", [4], **kw)
        self.error, self.failures = error, failures

    @dimod.bqm_structured
    def sample(self, bqm, **kwargs):
        if self.failures:
            self.failures -= 1
            raise self.error
        return MockQPUSampler.sample.__wrapped__(self, bqm, **kwargs)


def test_transient_errors_are_retried_others_stop(cache, rng):
    from dwave.cloud.exceptions import PollingTimeout, SolverFailureError

    problem = block(rng, P=2)
    ok = QPUBlockSampler(Flaky(PollingTimeout("slow"), 2), backoff=0.0, cache=cache)
    assert ok.sample(problem, 2, seed=0).info["qpu_calls"] == 1
    lost = QPUBlockSampler(Flaky(PollingTimeout("slow"), 5), retries=2, backoff=0.0,
                           cache=cache)
    with pytest.raises(SamplerError, match="--resume"):
        lost.sample(problem, 2, seed=0)
    rejected = QPUBlockSampler(Flaky(SolverFailureError("bad h"), 1), cache=cache)
    with pytest.raises(SamplerError, match="rejected"):
        rejected.sample(problem, 2, seed=0)


# ---- training and the command line ------------------------------------------------------------

def test_tally_reaches_the_history(cache):
    from layersweep import data
    from layersweep.estimator import LayerSweepClassifier

    d = data.synthetic(n=40, features=16, classes=2, noise=0.1, seed=0)
    sampler = QPUBlockSampler(MockQPUSampler("pegasus", [4]), cache=cache)
    model = LayerSweepClassifier(hidden_layer_sizes=(8,), redundancy=2, epochs=1, batch_size=10,
                                 sampler=sampler, random_state=0, recipe=dict(reads=3))
    model.fit(d.X[:20], d.y[:20])
    row = model.history_[-1]
    assert row["qpu_problems"] == 20 * 1  # 2 classes: one wrong class, one reference state
    assert row["qpu_calls"] >= 1 and row["qpu_access_seconds"] > 0
    assert 0 <= row["qpu_chain_break_fraction"] <= 1


def test_cli_dry_run_prints_the_estimate_and_trains_nothing(tmp_path, capsys):
    from layersweep.cli import main

    out = tmp_path / "run.h5"
    code = main(["train", "--sampler", "dwave", "--dry-run", "--train-size", "100",
                 "--epochs", "2", "--reads", "20", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and not out.exists()
    assert "reverse anneals from the wrong classes' reference states" in text
    assert "pegasus:16" in text
    code = main(["train", "--sampler", "mock:zephyr:12,4", "--dry-run", "--json"])
    assert '"copies": 5' in capsys.readouterr().out


def test_cli_rejects_unknown_sampler(capsys):
    from layersweep.cli import main

    with pytest.raises(SystemExit):
        main(["train", "--sampler", "qpu"])
    assert "mock:pegasus:16" in capsys.readouterr().err


@pytest.mark.slow
def test_mock_pegasus_training_learns(tmp_path):
    """The paper's network through the whole embedded, reverse-annealed path (short)."""
    from layersweep import data
    from layersweep.estimator import LayerSweepClassifier

    splits = data.split(data.load("mnist5k"), train_size=40, test_size=0)
    model = LayerSweepClassifier(epochs=1, batch_size=1, sampler="mock:pegasus:16", random_state=0,
                                 recipe=dict(reads=2, lr_W=(0.002, 0.001), lr_b=(0.002, 0.001)))
    model.fit(splits["train"].X, splits["train"].y)
    row = model.history_[-1]
    assert row["qpu_problems"] == 40 * 2 and row["qpu_calls"] == 40
    held = splits["heldout"]
    assert model.score(held.X[:1000], held.y[:1000]) >= 0.3  # measured 0.505; chance 0.1
