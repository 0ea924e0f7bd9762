"""The dry run counts the calls a run makes: its per-epoch calls and problems equal what a
mock-QPU run of the same options records, stage by stage; and the plan's description of a
step's sampler calls equals the calls the real step makes."""

import numpy as np
import pytest

from layersweep import LayerSweepClassifier
from layersweep import data as datasets
from layersweep.cost import count_calls, estimate_run, format_estimate
from layersweep.embedding import EmbeddingCache


@pytest.fixture(scope="module")
def digits():
    return datasets.synthetic(n=40, features=12, classes=3, seed=2)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return EmbeddingCache(tmp_path_factory.mktemp("embeddings"))


def mock_model(hidden, recipe, epochs, cache, monkeypatch):
    monkeypatch.setenv("LAYERSWEEP_EMBEDDINGS", str(cache.path))
    return LayerSweepClassifier(hidden_layer_sizes=hidden, redundancy=2, epochs=epochs,
                                batch_size=10, sweeps=4, sampler="mock:zephyr:4,2",
                                random_state=0, recipe=dict(reads=4, **recipe))


@pytest.mark.parametrize("hidden, recipe, epochs", [
    ((24,), {}, 1),                                                  # the paper's QP
    ((24,), {"start": "random"}, 1),
    ((24, 16), {"greedy_epochs": 1}, 2),                             # during and after
    ((24, 16), {"greedy_epochs": 0, "start": "reference"}, 1),
    ((24, 16), {"greedy_epochs": 0, "start": "random"}, 1),
    ((24, 16), {"greedy_epochs": 0, "error_driven": 0.5}, 1),        # error-driven reads
    ((24, 16), {"greedy_epochs": 0, "frozen_above": "free"}, 1),
    ((24, 16, 12), {"greedy_epochs": 0}, 1),
], ids=["shallow", "shallow-random", "deep-greedy", "deep-reference", "deep-random",
        "deep-error-driven", "deep-frozen-free", "deeper"])
def test_the_dry_run_counts_what_a_mock_qpu_run_records(digits, cache, monkeypatch, hidden,
                                                        recipe, epochs):
    model = mock_model(hidden, recipe, epochs, cache, monkeypatch)
    estimate = estimate_run(model, digits.X, digits.y, topology="zephyr:4,2", cache=cache)
    tiled = estimate["strategies"][0]
    assert tiled["strategy"] == "tiled"
    model.fit(digits.X, digits.y)
    assert len(model.history_) == len(tiled["stages"])  # an epoch of each stage
    for row, stage in zip(model.history_, tiled["stages"]):
        assert stage["stage"] == ("greedy" if row.get("greedy") else
                                  "deep" if len(hidden) > 1 else "shallow")
        assert (stage["calls_per_epoch"], stage["problems_per_epoch"]) == \
            (row["qpu_calls"], row["qpu_problems"])
        assert stage["reads_per_epoch"] == row["qpu_reads"]
    assert tiled["calls"] == sum(row["qpu_calls"] for row in model.history_)
    untiled = estimate["strategies"][1]
    assert all(s["calls_per_epoch"] == s["problems_per_epoch"] for s in untiled["stages"])


def test_cyclic_restarts_are_priced_as_an_upper_bound(digits, cache, monkeypatch):
    """A cyclic restart reverse-anneals each read from its best state so far; on a QPU the
    reads that reached the same state are one problem, which no count can know before the
    anneals: the dry run prices every restart as its own problem."""
    model = mock_model((24, 16, 12), {"greedy_epochs": 0, "cycles": 2}, 1, cache, monkeypatch)
    stage = estimate_run(model, digits.X, digits.y, topology="zephyr:4,2",
                         cache=cache)["strategies"][0]["stages"][0]
    row = model.fit(digits.X, digits.y).history_[0]
    assert stage["problems_per_epoch"] >= row["qpu_problems"]
    assert stage["calls_per_epoch"] >= row["qpu_calls"]
    without = estimate_run(mock_model((24, 16, 12), {"greedy_epochs": 0}, 1, cache,
                                      monkeypatch), digits.X, digits.y, topology="zephyr:4,2",
                           cache=cache)["strategies"][0]["stages"][0]
    assert stage["problems_per_epoch"] > without["problems_per_epoch"]


def test_reference_starts_are_priced_as_reverse_anneals(digits, cache, monkeypatch):
    model = mock_model((24,), {}, 1, cache, monkeypatch)
    estimate = estimate_run(model, digits.X, digits.y, topology="zephyr:4,2", cache=cache)
    assert estimate["plan"]["stages"] == [{"stage": "shallow", "starts": ["reference"]}]
    forward = estimate_run(mock_model((24,), {"start": "random"}, 1, cache, monkeypatch),
                           digits.X, digits.y, topology="zephyr:4,2", cache=cache)
    # 2 wrong classes: an image's 4 reads are 2 reverse-annealed problems, or 1 forward one
    assert estimate["strategies"][1]["stages"][0]["problems_per_epoch"] == 40 * 2
    assert forward["strategies"][1]["stages"][0]["problems_per_epoch"] == 40
    assert "reverse anneals from the wrong classes' reference states" in \
        format_estimate(estimate)


@pytest.mark.parametrize("hidden, recipe", [
    ((24,), {}), ((24, 16), {}), ((24, 16), {"frozen_above": "free"}),
    ((24, 16, 12), {"cycles": 2, "start": "reference"}), ((24, 16), {"rule": "ep"}),
])
def test_the_plans_sampler_calls_are_the_steps(digits, hidden, recipe):
    """Per stage, one step on a minibatch of B images makes exactly the calls the plan lists
    (block, problems = B x problems per image, reads, given starts or not)."""
    model = LayerSweepClassifier(hidden_layer_sizes=hidden, redundancy=2, epochs=3,
                                 batch_size=40, sweeps=2, random_state=0,
                                 recipe=dict({"reads": 1 if recipe.get("rule") == "ep" else 4},
                                             **recipe))
    for stage, calls in count_calls(model, digits.X, digits.y):
        assert len(calls) == len(stage.asks)
        for ask, call in zip(stage.asks, calls):
            assert call.shape == ask.shape
            assert (call.problems, call.reads) == (40 * ask.problems, ask.reads)
            assert call.started == (ask.starts != "random")


def test_the_command_line_dry_run_prints_the_stages_and_writes_nothing(tmp_path, capsys):
    from layersweep.cli import main

    d = datasets.synthetic(n=60, features=12, classes=3, seed=2)
    np.savez(tmp_path / "d.npz", X=d.X, y=d.y)
    assert main(["train", "--layers", "12,24,16,6", "--redundancy", "2", "--data",
                 str(tmp_path / "d.npz"), "--train-size", "30", "--test-size", "0",
                 "--reads", "4", "--epochs", "3", "--greedy-epochs", "1", "--sampler",
                 "mock:zephyr:4,2", "--dry-run", "--json",
                 "--out", str(tmp_path / "run.h5")]) == 0
    import json

    estimate = json.loads(capsys.readouterr().out)
    stages = estimate["strategies"][0]["stages"]
    assert [(s["stage"], s["epochs"]) for s in stages] == [("greedy", 1), ("deep", 2)]
    assert estimate["plan"]["stages"][1]["starts"] == ["random", "reference"]
    assert not (tmp_path / "run.h5").exists()
