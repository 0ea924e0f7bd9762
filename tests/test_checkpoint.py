import json
import os
import runpy
import stat
import sys

import h5py
import numpy as np
import pytest

from layersweep import checkpoint
from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier
from layersweep.exceptions import CheckpointError
from layersweep.samplers import BipartiteAnnealer

from conftest import classifier


@pytest.fixture
def trained():
    d = datasets.synthetic(n=60, features=10, classes=2, seed=1)
    model = LayerSweepClassifier(hidden_layer_sizes=(6,), redundancy=2, epochs=2, sweeps=8,
                                 random_state=3, recipe=dict(reads=3))
    return model.fit(d.X, d.y)


def test_round_trip_keeps_parameters_state_and_history(trained, tmp_path):
    path = tmp_path / "run.h5"
    checkpoint.save(path, trained.trainer_, {"layers": [10, 6, 4], "note": "x"})
    saved = checkpoint.load(path)
    for name, value in trained.network_.parameters().items():
        assert np.array_equal(saved["network"].parameters()[name], value)
    assert saved["config"] == {"layers": [10, 6, 4], "note": "x"}
    assert saved["history"] == trained.history_
    assert saved["state"]["epoch"] == 2
    assert saved["state"]["rng"] == trained.trainer_.rng.bit_generator.state
    assert saved["meta"]["format_version"] == checkpoint.FORMAT_VERSION


def test_layout_is_readable_with_plain_h5py(trained, tmp_path):
    path = tmp_path / "run.h5"
    checkpoint.save(path, trained.trainer_, {})
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "layersweep-run"
        assert f["parameters/W1"].shape == (6, 10)
        assert len(f["history/train_error"]) == 2


def test_writes_leave_no_temporary_files(trained, tmp_path):
    checkpoint.save(tmp_path / "run.h5", trained.trainer_, {})
    checkpoint.save(tmp_path / "run.h5", trained.trainer_, {})
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]


def test_refusals(trained, tmp_path):
    with pytest.raises(CheckpointError, match="no run file"):
        checkpoint.load(tmp_path / "absent.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 100)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        checkpoint.load(junk)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(CheckpointError, match="not a layersweep run file"):
        checkpoint.load(tmp_path / "other.h5")
    good = tmp_path / "good.h5"
    checkpoint.save(good, trained.trainer_, {})
    with h5py.File(good, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(CheckpointError, match="format version 99"):
        checkpoint.load(good)
    truncated = tmp_path / "cut.h5"
    checkpoint.save(truncated, trained.trainer_, {})
    truncated.write_bytes(truncated.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        checkpoint.load(truncated)
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.save(tmp_path / "no" / "such" / "dir.h5", trained.trainer_, {})


# ---- the layout's additions, restore, rotation, crash safety of one write -------------------

def test_sampler_and_embeddings_are_recorded(trained, tmp_path):
    path = tmp_path / "run.h5"
    checkpoint.save(path, trained.trainer_, {"seed": 3})
    with h5py.File(path, "r") as f:
        assert f["sampler"].attrs["name"] == "numpy"
        assert json.loads(f["sampler"].attrs["properties"])["sweeps"] == 8
        assert len(f["embeddings"]) == 0  # CPU sampler: no embeddings
        assert json.loads(f["state"].attrs["rng"])["bit_generator"] == "PCG64"
        assert "drawn from the generator" in f["state"].attrs["sampler_seeds"]
        assert json.loads(f.attrs["config"]) == {"seed": 3}
    saved = checkpoint.load(path)
    assert saved["sampler"]["name"] == "numpy" and saved["embeddings"] == {}


class EmbeddingSampler(BipartiteAnnealer):
    """Stands in for a QPU sampler: it reports the embeddings it used."""

    @property
    def properties(self):
        return dict(super().properties, name="qpu-like", embeddings={
            "1-2": {"topology": "pegasus:16", "fingerprint": "5d2ea85cc1a4",
                    "cache_key": "pegasus16-5d2ea85cc1a4-K6x4.json", "max_chain": 3}})


def test_embeddings_of_a_sampler_that_reports_them(trained, tmp_path):
    trainer = trained.trainer_
    trainer.sampler = EmbeddingSampler(sweeps=8)
    checkpoint.save(tmp_path / "run.h5", trainer, {})
    with h5py.File(tmp_path / "run.h5", "r") as f:
        block = f["embeddings/1-2"]
        assert block.attrs["topology"] == "pegasus:16" and block.attrs["max_chain"] == "3"
        assert "embeddings" not in json.loads(f["sampler"].attrs["properties"])
    saved = checkpoint.load(tmp_path / "run.h5")
    assert saved["embeddings"]["1-2"]["cache_key"] == "pegasus16-5d2ea85cc1a4-K6x4.json"


def test_a_version_1_file_without_the_later_groups_still_loads(trained, tmp_path):
    path = tmp_path / "run.h5"
    checkpoint.save(path, trained.trainer_, {})
    with h5py.File(path, "a") as f:
        del f["sampler"], f["embeddings"]
    saved = checkpoint.load(path)
    assert saved["sampler"] == {} and saved["embeddings"] == {}


def test_restore_continues_the_generator_and_refuses_another_architecture(trained, tmp_path):
    path = tmp_path / "run.h5"
    checkpoint.save(path, trained.trainer_, {})
    twin = LayerSweepClassifier(hidden_layer_sizes=(6,), redundancy=2, sweeps=8, random_state=99,
                                recipe=dict(reads=3)).restore_checkpoint(path)
    assert twin.trainer_.rng.random() == trained.trainer_.rng.random()
    assert twin.trainer_.epoch == 2 and twin.history_ == trained.history_
    with pytest.raises(CheckpointError, match="another architecture"):
        LayerSweepClassifier(hidden_layer_sizes=(7,), redundancy=2).restore_checkpoint(path)


def test_inconsistent_state_is_refused(trained, tmp_path):
    path = tmp_path / "run.h5"
    checkpoint.save(path, trained.trainer_, {})
    with h5py.File(path, "a") as f:
        f["state"].attrs["position"] = 7  # a position inside an epoch with no shuffle order
    with pytest.raises(CheckpointError, match="position 7"):
        checkpoint.load(path)


def test_a_greedy_stage_is_saved_checked_and_required_while_it_runs(tmp_path):
    d = datasets.synthetic(n=20, features=8, classes=2, seed=1)
    params = dict(hidden_layer_sizes=(5, 4), redundancy=2, reads=2, sweeps=4, random_state=3)
    with pytest.warns(UserWarning, match="inside the greedy start"):
        staged = classifier(epochs=1, **params, recipe=dict(greedy_epochs=2)).fit(d.X, d.y)
    path = tmp_path / "run.h5"
    checkpoint.save(path, staged.trainer_, {})
    with h5py.File(path, "r") as f:
        assert f["state/greedy/W"].shape == (4, 5) and f["state/greedy/b"].shape == (4,)
    saved = checkpoint.load(path)
    assert np.array_equal(saved["state"]["stage"][0], staged.trainer_.stage[0])
    with pytest.raises(CheckpointError, match="holds no greedy stage"):
        classifier(**params, recipe=dict(greedy_epochs=2)).restore_checkpoint(
            dict(saved, state=dict(saved["state"], stage=None)))
    with h5py.File(path, "a") as f:
        del f["state/greedy/W"]
        f["state/greedy"].create_dataset("W", data=np.zeros((4, 3), np.float32))
    with pytest.raises(CheckpointError, match="greedy stage's output side has shapes"):
        checkpoint.load(path)


def test_averaged_parameters_are_saved_checked_and_predict(tmp_path):
    d = datasets.synthetic(n=20, features=8, classes=2, seed=1)
    params = dict(hidden_layer_sizes=(5, 4), redundancy=2, reads=2, sweeps=4, epochs=1,
                  greedy_epochs=0, random_state=3)
    model = classifier(**params).fit(d.X, d.y)
    path = tmp_path / "run.h5"
    checkpoint.save(path, model.trainer_, {})
    with h5py.File(path, "r") as f:
        assert f["state/averaged/W2"].shape == (4, 5) and f["state/averaged"].attrs["images"] == 20
    saved = checkpoint.load(path)
    assert checkpoint.predictor(saved) is saved["state"]["averaged"]
    for name, value in model.network_.parameters().items():  # the averaged ones
        assert np.array_equal(checkpoint.predictor(saved).parameters()[name], value), name
    resumed = classifier(**params).restore_checkpoint(path)
    assert resumed.trainer_.averaged_images == 20
    assert resumed.network_ is resumed.trainer_.averaged
    # resumed without averaging, the stale average is dropped: the trained net predicts
    plain = classifier(**params, recipe=dict(average=0)).restore_checkpoint(path)
    assert plain.network_ is plain.trainer_.net and plain.trainer_.averaged_images == 0
    with h5py.File(path, "a") as f:
        del f["state/averaged/W2"]
        f["state/averaged"].create_dataset("W2", data=np.zeros((4, 3), np.float32))
    with pytest.raises(CheckpointError, match="averaged parameter W2 has shape"):
        checkpoint.load(path)


def test_keep_rotates_by_renames_and_run_file_is_always_whole(trained, tmp_path):
    path = tmp_path / "run.h5"
    trainer = trained.trainer_
    for steps in (1, 2, 3, 4):
        trainer.steps = steps
        checkpoint.save(path, trainer, {}, keep=3)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["run.h5", "run.h5.1", "run.h5.2"]
    assert [checkpoint.load(tmp_path / n)["state"]["steps"] for n in names] == [4, 3, 2]
    with pytest.raises(CheckpointError, match="keep must be at least 1"):
        checkpoint.save(path, trainer, {}, keep=0)


def test_a_failed_write_leaves_the_previous_file_whole(trained, tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    checkpoint.save(path, trained.trainer_, {"n": 1})
    before = path.read_bytes()

    def crash(f, trainer, config):
        f.create_group("parameters")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "_write", crash)
    with pytest.raises(CheckpointError, match="disk is full"):
        checkpoint.save(path, trained.trainer_, {"n": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]


def test_written_files_have_the_usual_permissions(trained, tmp_path):
    checkpoint.save(tmp_path / "run.h5", trained.trainer_, {})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "run.h5").st_mode) == 0o666 & ~umask


def test_check_writable_and_stale_temporaries(trained, tmp_path):
    checkpoint.check_writable(tmp_path / "new.h5")
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(CheckpointError, match="refusing to overwrite"):
        checkpoint.check_writable(tmp_path / "mine.txt")
    with pytest.raises(CheckpointError, match="it is a folder"):
        checkpoint.check_writable(tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.check_writable(tmp_path / "absent" / "run.h5")
    checkpoint.save(tmp_path / "run.h5", trained.trainer_, {})
    checkpoint.check_writable(tmp_path / "run.h5")  # a run file may be replaced
    torn = tmp_path / ".run.h5.0123abcd.tmp"
    torn.write_bytes(b"half a file")
    (tmp_path / ".other.h5.0123abcd.tmp").write_bytes(b"")
    assert checkpoint.stale_temporaries(tmp_path / "run.h5") == [str(torn)]


def test_bench_checkpoint_quick(tmp_path, capsys):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    old = sys.argv
    sys.argv = ["bench_checkpoint.py", "--quick", "--out", str(tmp_path)]
    try:
        runpy.run_path(os.path.join(here, "experiments", "bench_checkpoint.py"),
                       run_name="__main__")
    finally:
        sys.argv = old
    assert "median write" in capsys.readouterr().out
    assert (tmp_path / "checkpoint_bench.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint_bench.csv"]


def test_an_unwritable_folder_is_refused(trained, tmp_path, monkeypatch):
    def denied(path, kind="tmp"):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(checkpoint, "_temporary", denied)
    with pytest.raises(CheckpointError, match="is not writable"):
        checkpoint.check_writable(tmp_path / "run.h5")
    with pytest.raises(CheckpointError, match="is not writable"):
        checkpoint.save(tmp_path / "run.h5", trained.trainer_, {})
    assert not list(tmp_path.iterdir())
