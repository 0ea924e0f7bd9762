"""Bad input and faults at the command line, as a user meets them: each is one error line and
exit code 2, decided before training, with no traceback, and every file that existed before
is byte-identical afterwards (a subprocess per case, the installed ``layersweep`` as a user
runs it)."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from layersweep import checkpoint
from layersweep import data as datasets
from layersweep.cli import main
from layersweep.embedding import EmbeddingCache, block_embedding
from layersweep.embedding.cache import _checkout_store, _checksum
from layersweep.estimator import LayerSweepClassifier
from layersweep.exceptions import ArchitectureError, DivergenceError, ResourceError
from layersweep.topology import parse_topology

#: a subprocess per case (about 1.7 s each): run by the full suite, as CI does
pytestmark = pytest.mark.slow

SMALL = ["--layers", "12,10,6", "--redundancy", "2", "--data", "digits.npz", "--train-size",
         "30", "--test-size", "30", "--reads", "2", "--sweeps", "8", "--no-progress"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A user's folder: a small data set, a single-class one, a text file and a trained run
    (trained once for the module)."""
    path = tmp_path_factory.mktemp("user")
    d = datasets.synthetic(n=120, features=12, classes=3, seed=2)
    np.savez(path / "digits.npz", X=d.X, y=d.y)
    np.savez(path / "one.npz", X=d.X, y=np.zeros(len(d.y), int))
    (path / "notes.txt").write_text("my notes\n")
    assert layersweep(path, "train", *SMALL, "--epochs", "1", "--out", "run.h5").returncode == 0
    return path


@pytest.fixture
def folder(template, tmp_path):
    """A fresh copy of the user's folder for one test."""
    shutil.copytree(template, tmp_path / "user")
    return tmp_path / "user"


def layersweep(cwd, *args, env=None):
    return subprocess.run([sys.executable, "-m", "layersweep", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120,
                          env=dict(os.environ, XDG_CACHE_HOME=str(Path(cwd) / "xdg"),
                                   **(env or {})))


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def refused(folder: Path, *args, message: str, usage: bool = False, busy=()) -> str:
    """Run ``layersweep args`` in ``folder``: exit 2, one error line (argparse's usage lines
    before it when ``usage``) containing ``message``, no traceback, no file added, changed
    or removed (but for the ``busy`` ones another process writes). Returns the error line."""
    def snapshot_but_busy():
        return {k: v for k, v in snapshot(folder).items()
                if not any(k.startswith(b) or k.startswith("." + b) for b in busy)}
    before = snapshot_but_busy()
    result = layersweep(folder, *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, lines
    if usage:
        assert lines[0].startswith("usage:") and errors[0] == lines[-1]
    else:
        assert lines == errors and errors[0].startswith("layersweep: error: "), lines
    assert message in errors[0], errors[0]
    assert snapshot_but_busy() == before
    return errors[0]


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "argument --epochs: must be at least 1"),
    (["--epochs", "-1"], "argument --epochs: must be at least 1"),
    (["--seed", "-1"], "argument --seed: must be at least 0"),
    (["--redundancy", "0"], "argument --redundancy: must be at least 1"),
    (["--reads", "0"], "argument --reads: reads must be an integer >= 1"),
    (["--batch-size", "0"], "argument --batch-size: must be at least 1"),
    (["--train-size", "-5"], "argument --train-size: must be at least 2"),
    (["--reverse-beta", "nan"], "argument --reverse-beta: must be a finite number"),
    (["--error-driven", "2"], "argument --error-driven: error_driven must be a fraction of the "
                              "reads in [0, 1]"),
    (["--init-scale=-1,1"], "argument --init-scale: init_scale must be factors > 0"),
    (["--init-scale", "nan,1"], "argument --init-scale: init_scale must be factors > 0"),
])
def test_counts_and_sizes_out_of_range_are_usage_errors(folder, args, message):
    refused(folder, "train", *SMALL, *args, "--out", "new.h5", message=message, usage=True)


@pytest.mark.parametrize("args, message", [
    (["--layers", "12,100000000000,6"], "layers 12,100000000000,6 with 2 reads of 10 images "
                                        "per update and 8 sweeps need about 73,016 GiB of "
                                        "memory"),
    (["--reads", "100000000000"], "100000000000 reads of 10 images per update and 8 sweeps "
                                  "need about"),
    (["--sweeps", "1000000000000"], "and 1000000000000 sweeps need about"),
])
def test_arrays_that_cannot_fit_in_memory_are_refused_with_the_memory_they_need(folder, args,
                                                                                 message):
    line = refused(folder, "train", *SMALL, *args, "--out", "new.h5", message=message)
    assert "this machine has" in line


@pytest.mark.parametrize("args, message", [
    (["--layers", "12,,10,6"], "argument --layers: layers must be comma-separated integers"),
    (["--chain-strength", "utc:-1"], "argument --chain-strength: chain strength 'utc:-1' not"),
])
def test_malformed_lists_and_chain_strengths_are_usage_errors(folder, args, message):
    refused(folder, "train", *SMALL, *args, "--out", "new.h5", message=message, usage=True)


@pytest.mark.parametrize("args, message", [
    (["--solver", "zephyr"], "--solver applies to QPU samplers only"),
    (["--dry-run"], "--dry-run applies to QPU samplers only"),
    (["--tiles", "2"], "--tiles applies to QPU samplers only"),
    (["--sampler", "mock:pegasus:16", "--solver", "zephyr"], "a mock QPU's topology is in its"),
    (["--sampler", "mock:pegasus:100000"], "more than the 1,000,000 this builds"),
    (["--out", ""], "--out is empty"),
])
def test_options_that_cannot_apply_are_refused_before_work(folder, args, message):
    refused(folder, "train", *SMALL, "--out", "new.h5", *args, message=message)


def test_resuming_to_fewer_epochs_than_done_is_refused(folder):
    assert layersweep(folder, "train", "--resume", "run.h5", "--epochs", "2").returncode == 0
    refused(folder, "train", "--resume", "run.h5", "--epochs", "1",
            message="'run.h5' already holds 2 epochs, more than --epochs 1 (the total): give "
                    "--epochs 3 or more")


def test_evaluate_names_an_empty_split_and_warns_of_changed_data(folder):
    refused(folder, "evaluate", "run.h5", "--train-size", "60", "--test-size", "60",
            message="the heldout split of 'digits.npz' is empty")
    d = dict(np.load(folder / "digits.npz"))
    d["X"][0, 0] = 1 - d["X"][0, 0]
    np.savez(folder / "digits.npz", **d)
    result = layersweep(folder, "evaluate", "run.h5")
    assert result.returncode == 0
    assert result.stderr.startswith("layersweep: warning: the training data of 'digits.npz' "
                                    "differ from those run.h5 was trained on")


def test_embed_list_refuses_what_it_cannot_list(folder):
    refused(folder, "embed", "--list", "--cache-dir", "notes.txt",
            message="cannot list 'notes.txt': it is a file, not a folder")
    refused(folder, "embed", "--list", "--topology", "pegasus:16",
            message="--topology goes with --layers")


def test_an_empty_layer_list_is_refused(folder):
    refused(folder, "train", *SMALL, "--layers", "", "--out", "new.h5",
            message="layers must be at least 3 positive integers")


def test_a_single_class_data_set_is_refused(folder):
    refused(folder, "train", *SMALL, "--data", "one.npz", "--out", "new.h5",
            message="hold a single class (label 0); a classifier needs at least two")


def test_an_out_folder_that_is_a_file_is_named(folder):
    refused(folder, "train", *SMALL, "--out", "notes.txt/run.h5",
            message="'notes.txt' is a file, not a folder")


def test_a_second_run_does_not_overwrite_the_first(folder):
    refused(folder, "train", *SMALL, "--out", "run.h5",
            message="'run.h5' already holds a run: pass --overwrite to replace it, --resume "
                    "run.h5 to continue it")
    (folder / "other.h5").write_bytes((folder / "run.h5").read_bytes())
    refused(folder, "train", "--resume", "run.h5", "--out", "other.h5", "--epochs", "2",
            message="'other.h5' already holds a run: pass --overwrite")
    before = (folder / "run.h5").read_bytes()
    assert layersweep(folder, "train", *SMALL, "--epochs", "1", "--seed", "5", "--out",
                      "run.h5", "--overwrite").returncode == 0
    assert (folder / "run.h5").read_bytes() != before
    assert checkpoint.load(folder / "run.h5")["config"]["seed"] == 5


def test_a_run_file_another_process_trains_into_is_refused(folder):
    first = subprocess.Popen([sys.executable, "-m", "layersweep", "train", *SMALL, "--epochs",
                              "400", "--out", "busy.h5"], cwd=folder, text=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        lock = Path(checkpoint.lock_name(folder / "busy.h5"))
        deadline = time.monotonic() + 60
        while not (folder / "busy.h5").exists():  # locked, and past its first epoch
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.05)
        assert lock.exists()
        refused(folder, "train", *SMALL, "--out", "busy.h5", "--overwrite", busy=["busy.h5"],
                message="another process is training into 'busy.h5'")
        refused(folder, "train", "--resume", "busy.h5", busy=["busy.h5"],
                message="another process is training into 'busy.h5'")
    finally:
        first.terminate()
        first.wait(timeout=60)
    assert first.returncode == 130 and not lock.exists()  # stopped cleanly, lock released
    assert checkpoint.load(folder / "busy.h5")["state"]["steps"] >= 3


def test_a_diverging_run_names_its_intact_checkpoint_and_how_to_resume_it(folder):
    line = refused(folder, "train", "--resume", "run.h5", "--epochs", "3", "--no-progress",
                   "--allow-changes",
                   "--lr-w", "1e38", "--lr-b", "1e38",
                   message="training diverged: update 4 (epoch 2)")
    assert ("The last good checkpoint, run.h5 (after epoch 1, 3 updates), is intact; resume it "
            "at lower rates with: layersweep train --resume run.h5 --allow-changes "
            "--lr-w 1e+37 --lr-b 1e+37") in line
    line = refused(folder, "train", *SMALL, "--lr-w", "1e38", "--lr-b", "1e38", "--out",
                   "new.h5", message="training diverged: update 1 (epoch 1)")
    assert line.endswith("Nothing of this run was saved")


def test_a_run_file_with_non_finite_parameters_is_corrupt(folder):
    with h5py.File(folder / "run.h5", "a") as f:
        f["parameters/W1"][0, 0] = np.nan
    for args in (["evaluate", "run.h5"], ["train", "--resume", "run.h5", "--epochs", "2"]):
        refused(folder, *args, message="'run.h5' is corrupt: parameters/W1 hold(s) infinite "
                                       "or NaN values; use an earlier checkpoint")
    result = layersweep(folder, "info", "run.h5", "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith("layersweep: warning: run.h5 is corrupt")
    assert json.loads(result.stdout)["non_finite"] == ["parameters/W1"]


def test_embed_refuses_a_cache_folder_under_a_file_before_searching(folder):
    started = time.perf_counter()
    refused(folder, "embed", "--topology", "pegasus:16", "--layers", "784,120,40",
            "--cache-dir", "notes.txt/cache",
            message="cannot use 'notes.txt/cache' as the embedding cache: 'notes.txt' is a "
                    "file, not a folder")
    assert time.perf_counter() - started < 5  # refused before the search (seconds)


def test_embed_verifies_the_chains_of_a_cache_hit_as_training_does(folder):
    """A chain edited with its checksum updated: ``embed --list`` and ``embed --layers``
    refuse the entry, as the QPU sampler does."""
    cache = EmbeddingCache(folder / "cache")
    target = parse_topology("zephyr:2")
    block_embedding(8, 4, target, cache=cache)
    path = cache.path / cache.filename(8, 4, target)
    doc = json.loads(path.read_text())
    doc["chains"][0] = doc["chains"][1]  # two spins share a chain: invalid
    chains = [dict(enumerate(map(tuple, doc["chains"])))]
    doc["checksum"] = _checksum(8, 4, doc["target"]["fingerprint"], chains)
    path.write_text(json.dumps(doc))
    result = layersweep(folder, "embed", "--list", "--cache-dir", "cache", "--json")
    assert result.returncode == 0
    row = json.loads(result.stdout.splitlines()[0])
    assert "is invalid" in row["error"] or "not valid" in row["error"]
    refused(folder, "embed", "--topology", "zephyr:2", "--layers", "12,8,4", "--cache-dir",
            "cache", message="was edited or damaged after it was verified")


@pytest.mark.skipif(_checkout_store() is None, reason="runs from a source checkout only")
def test_a_mock_qpu_run_stores_new_embeddings_in_the_users_cache(folder):
    store = _checkout_store()
    before = snapshot(store)
    result = layersweep(folder, "train", *SMALL, "--epochs", "1", "--sampler",
                        "mock:zephyr:2,2", "--out", "qpu.h5")
    assert result.returncode == 0, result.stderr
    assert snapshot(store) == before
    assert list((folder / "xdg" / "layersweep" / "embeddings").glob("zephyr2x2-*-K10x6.json"))


def test_a_full_disk_names_the_intact_checkpoint_and_the_resume_command(folder, monkeypatch,
                                                                        capsys):
    """The second epoch's checkpoint cannot be written: the first one stays, named."""
    monkeypatch.chdir(folder)
    saves = []
    real_write = checkpoint._write

    def fill_the_disk(f, trainer, config):
        saves.append(trainer.epoch)
        if len(saves) > 1:
            raise OSError(28, "No space left on device")
        real_write(f, trainer, config)

    monkeypatch.setattr(checkpoint, "_write", fill_the_disk)
    before = snapshot(folder)
    assert main(["train", *SMALL, "--epochs", "3", "--out", "disk.h5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"layersweep: error: cannot write 'disk.h5': the disk is full (no space "
                   f"left on device). The last good checkpoint, disk.h5 (after epoch 1, 3 "
                   f"updates), is intact; make room, then resume with: layersweep train "
                   f"--resume disk.h5"]
    assert checkpoint.load("disk.h5")["state"]["epoch"] == 1
    assert {k: v for k, v in snapshot(folder).items() if k != "disk.h5"} == before


@pytest.mark.parametrize("param, value", [
    ("random_state", -1), ("random_state", 2.5), ("epochs", -1), ("redundancy", 0),
    ("batch_size", 0), ("hidden_layer_sizes", (0,)), ("max_block_spins", 1),
    ("recipe", "fast"),
])
def test_the_estimator_names_the_parameter_it_refuses(param, value):
    d = datasets.synthetic(n=40, features=12, classes=2, seed=1)
    with pytest.raises(ArchitectureError, match=f"^{param} must be"):
        LayerSweepClassifier(**{param: value}).fit(d.X, d.y)


@pytest.mark.parametrize("field, value", [
    ("reads", 0), ("cycles", 0), ("rule", "sgd"), ("start", "sideways"), ("lr_W", -1.0),
    ("greedy_epochs", -1), ("average", 2.5), ("hidden_decay", float("nan")),
    ("error_driven", 2), ("hidden_warmup", (0.5, 2)), ("init_scale", (1, 0)),
])
def test_the_estimator_names_the_recipe_field_it_refuses(field, value):
    d = datasets.synthetic(n=40, features=12, classes=2, seed=1)
    with pytest.raises(ArchitectureError, match=f"^{field} must be"):
        LayerSweepClassifier(recipe={field: value}).fit(d.X, d.y)


def test_the_estimator_refuses_a_net_larger_than_memory_before_allocating():
    d = datasets.synthetic(n=40, features=12, classes=2, seed=1)
    with pytest.raises(ResourceError, match="of memory for their arrays"):
        LayerSweepClassifier(hidden_layer_sizes=(10 ** 9,)).fit(d.X, d.y)


def test_a_diverging_fit_raises_once_and_before_any_checkpoint():
    d = datasets.synthetic(n=40, features=12, classes=2, seed=1)
    written = []
    model = LayerSweepClassifier(hidden_layer_sizes=(6,), epochs=2, random_state=0,
                                 recipe=dict(lr_W=1e38, lr_b=1e38, reads=2))
    with pytest.raises(DivergenceError, match="update 1 \\(epoch 1\\)"):
        model.fit(d.X, d.y, on_step=written.append)
    assert written == []  # on_step (where checkpoints are written) never saw the update
    assert isinstance(DivergenceError("x"), ArithmeticError)


@pytest.mark.parametrize("X, y, message", [
    (np.ones((4, 3)) * (1 + 1j) / 2, [0, 1, 0, 1], "X must hold real numbers"),
    (np.zeros((4, 3)), [0, -1, 0, 1], "labels must be >= 0; got values in -1..1"),
])
def test_data_that_cannot_be_used_is_named(X, y, message):
    from layersweep.data import check_data
    from layersweep.exceptions import DataError

    with pytest.raises(DataError, match=re.escape(message)):
        check_data(X, np.asarray(y))
