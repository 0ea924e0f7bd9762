"""A run's configuration in the library: what the run file records, reading it back as an
estimator in one call, migrating older files, and the options a resume may change."""

import numpy as np
import pytest

from layersweep import checkpoint, run
from layersweep import data as datasets
from layersweep.cli import main
from layersweep.exceptions import CheckpointError
from layersweep.train import predict


@pytest.fixture
def trained(tmp_path):
    d = datasets.synthetic(n=120, features=12, classes=3, seed=2)
    np.savez(tmp_path / "d.npz", X=d.X, y=d.y)
    out = tmp_path / "deep.h5"
    args = ["train", "--layers", "12,10,8,6", "--redundancy", "2", "--data",
            str(tmp_path / "d.npz"), "--train-size", "60", "--test-size", "30", "--reads", "3",
            "--greedy-epochs", "1", "--json", "--out", str(out)]
    assert main(args + ["--epochs", "2"]) == 0
    return d, out, args


def test_the_run_file_records_the_resolved_recipe_and_its_plan(trained):
    _, out, _ = trained
    config = checkpoint.load(out)["config"]
    assert config["reads"] == 3 and config["greedy_epochs"] == 1
    assert config["start"] == "top-reference" and config["hidden_warmup"] == [0.1, 0.3, 0.6]
    assert [s["name"] for s in config["plan"]["stages"]] == ["greedy", "deep"]
    assert config["plan"]["stages"][0]["blocks"] == [[10, 6]]


def test_a_run_file_becomes_its_estimator_in_one_call(trained, capsys):
    d, out, args = trained
    model = run.from_run_file(out)
    assert model.recipe.reads == 3 and model.hidden_layer_sizes == (10, 8)
    saved = checkpoint.load(out)
    found = predict(checkpoint.predictor(saved), d.X)  # the paper's inference, as evaluate's
    assert model.error_rate(d.X, d.y) == np.mean(found != d.y)
    # continuing in Python is continuing on the command line, bit for bit
    train = datasets.split(datasets.load(str(out.parent / "d.npz")), 60, 30)["train"]
    model.train_to(train.X, train.y, 3)
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "3", "--json"]) == 0
    resumed = checkpoint.load(out)["network"]
    for l in range(1, 4):
        np.testing.assert_array_equal(model.trainer_.net.W[l], resumed.W[l])


def test_an_older_config_is_migrated(trained):
    _, out, _ = trained
    config = dict(checkpoint.load(out)["config"])
    for key in ("greedy_epochs", "average", "hidden_decay", "hidden_couplings", "error_driven",
                "hidden_warmup", "shard_size", "plan"):
        config.pop(key)
    config.update(reads=None, start=None, init_scale=None)  # older files left these at null
    migrated = run.migrate(config)
    assert (migrated["greedy_epochs"], migrated["hidden_couplings"], migrated["hidden_warmup"],
            migrated["error_driven"]) == (0, "inner", [], 0.0)
    assert migrated["reads"] == 20 and migrated["init_scale"] == [1.0, 0.4, 0.5]
    with pytest.raises(CheckpointError, match="lacks layers"):
        run.migrate({k: v for k, v in config.items() if k != "layers"})


def test_only_given_options_that_differ_are_changes(trained):
    _, out, _ = trained
    saved = run.migrate(checkpoint.load(out)["config"])
    fresh = dict(saved, reads=5, cycles=2, sweeps=saved["sweeps"])
    assert run.changes(saved, fresh, {"reads", "sweeps"}) == {"reads": (3, 5)}
    with pytest.raises(CheckpointError, match="--reads 5 \\(the file has 3\\)"):
        run.refuse_changes(str(out), {"reads": (3, 5)})
    assert run.option("lr_W") == "--lr-w" and run.option("train_size") == "--train-size"
