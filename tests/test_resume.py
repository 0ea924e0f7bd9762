"""Resuming a run from its checkpoint continues it bit for bit (docs/how-it-works.md §6), from the Python
API and from the command line, and survives Ctrl-C, SIGTERM and SIGKILL."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from layersweep import checkpoint
from layersweep import data as datasets
from layersweep.cli import main
from layersweep.estimator import LayerSweepClassifier
from layersweep.exceptions import SchedulerError
from layersweep.scheduler import LocalScheduler
from layersweep.train import Trainer, error_rate, shard_task

from conftest import classifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Stop(Exception):
    pass


def same_run(a: list, b: list) -> bool:
    """Histories equal except the wall-clock ``seconds``."""
    strip = [[{k: v for k, v in row.items() if k != "seconds"} for row in h] for h in (a, b)]
    return strip[0] == strip[1]


def assert_same_parameters(net_a, net_b):
    for name, value in net_a.parameters().items():
        assert np.array_equal(net_b.parameters()[name], value), name


def assert_same_run(saved_a: dict, saved_b: dict):
    """Two run files: the same parameters and history, whatever ran them."""
    assert_same_parameters(saved_a["network"], saved_b["network"])
    assert same_run(saved_a["history"], saved_b["history"])


def fit_until(params: dict, d, evals: dict, path, stop_at: int) -> dict:
    """Fit, checkpointing to ``path`` every 5 updates, and stop in update ``stop_at``; returns
    the last checkpoint as loaded."""
    def on_step(trainer):
        if trainer.steps % 5 == 0:
            checkpoint.save(path, trainer, {"params": "test"})
        if trainer.steps == stop_at:
            raise Stop

    with pytest.raises(Stop):
        classifier(**params).fit(d.X, d.y, eval_sets=evals, on_step=on_step)
    return checkpoint.load(path)


@pytest.mark.parametrize("sampler", ["numpy", "neal"])
def test_stop_mid_epoch_and_resume_is_bit_identical(sampler, tmp_path):
    d = datasets.synthetic(n=36, features=10, classes=2, seed=4)
    test = datasets.synthetic(n=12, features=10, classes=2, seed=5)
    params = dict(hidden_layer_sizes=(6,), redundancy=2, reads=3, sweeps=8, batch_size=2,
                  sampler=sampler, epochs=2, random_state=7)
    evals = {"test": (test.X, test.y)}
    straight = classifier(**params).fit(d.X, d.y, eval_sets=evals)

    path = tmp_path / "run.h5"
    # 18 updates per epoch: stop at update 6 of epoch 2, saved at 20
    saved = fit_until(params, d, evals, path, stop_at=18 + 6)
    assert (saved["state"]["epoch"], saved["state"]["position"], saved["state"]["steps"]) \
        == (1, 4, 20)
    resumed = classifier(**params).restore_checkpoint(path)
    resumed.train_to(d.X, d.y, 2, eval_sets=evals)
    assert_same_parameters(straight.network_, resumed.network_)
    assert same_run(straight.history_, resumed.history_)
    assert resumed.trainer_.rng.bit_generator.state == straight.trainer_.rng.bit_generator.state
    assert resumed.trainer_.steps == straight.trainer_.steps == 36


@pytest.mark.parametrize("stop_at", [6, 18 + 6, 36 + 6])
def test_a_greedy_start_resumes_bit_identically_inside_and_after_its_stage(stop_at, tmp_path):
    """A deep run with a greedy start, stopped inside its shallow stage (epochs 1, 2) or in
    the deep epochs after it, continues as the uninterrupted run."""
    d = datasets.synthetic(n=36, features=10, classes=2, seed=4)
    test = datasets.synthetic(n=12, features=10, classes=2, seed=5)
    params = dict(hidden_layer_sizes=(6, 5), redundancy=2, reads=3, sweeps=8, batch_size=2,
                  greedy_epochs=2, epochs=3, random_state=7)
    evals = {"test": (test.X, test.y)}
    straight = classifier(**params).fit(d.X, d.y, eval_sets=evals)
    assert [row.get("greedy", 0) for row in straight.history_] == [1, 1, 0]
    assert straight.trainer_.stage is None

    path = tmp_path / "run.h5"
    saved = fit_until(params, d, evals, path, stop_at)
    assert (saved["state"]["stage"] is not None) == (saved["state"]["epoch"] < 2)
    resumed = classifier(**params).restore_checkpoint(path)
    resumed.train_to(d.X, d.y, 3, eval_sets=evals)
    assert_same_parameters(straight.network_, resumed.network_)  # the averaged parameters
    assert_same_parameters(straight.trainer_.net, resumed.trainer_.net)
    assert straight.network_ is straight.trainer_.averaged
    assert resumed.trainer_.averaged_images == straight.trainer_.averaged_images == 36
    assert same_run(straight.history_, resumed.history_)


def test_evaluation_does_not_touch_the_training_generator():
    d = datasets.synthetic(n=30, features=10, classes=2, seed=4)
    model = LayerSweepClassifier(hidden_layer_sizes=(6,), redundancy=2, sweeps=8, epochs=1,
                                 random_state=1, recipe=dict(reads=3)).fit(d.X, d.y)
    before = model.trainer_.rng.bit_generator.state
    error_rate(model.network_, d.X, d.y)
    model.score(d.X, d.y)
    assert model.trainer_.rng.bit_generator.state == before
    params = dict(hidden_layer_sizes=(6,), redundancy=2, reads=3, sweeps=8, epochs=2,
                  random_state=1)
    with_eval = classifier(**params).fit(d.X, d.y, eval_sets={"t": (d.X, d.y)})
    without = classifier(**params).fit(d.X, d.y)
    assert_same_parameters(with_eval.network_, without.network_)


# ---- the command line ---------------------------------------------------------------------

def train_args(npz, out, *extra):
    return ["train", "--layers", "12,8,6", "--redundancy", "2", "--data", npz,
            "--train-size", "30", "--test-size", "15", "--reads", "3", "--sweeps", "8",
            "--batch-size", "2", "--epochs", "2", "--out", str(out), "--no-progress", *extra]


def as_written_before(path, *missing, **changed):
    """Make a run file's config look as an older layersweep wrote it: without the options
    ``missing`` (added since) and with ``changed`` values."""
    with h5py.File(path, "a") as f:
        config = json.loads(f.attrs["config"])
        for key in missing:
            del config[key]
        config.update(changed)
        f.attrs["config"] = json.dumps(config)


def interrupt_at(monkeypatch, update: int, signum=signal.SIGINT):
    """Deliver ``signum`` to this process during update number ``update``."""
    step = Trainer.step

    def stepping(self, x, y, **where):
        if self.steps + 1 == update:
            signal.raise_signal(signum)
        return step(self, x, y, **where)

    monkeypatch.setattr(Trainer, "step", stepping)


def test_ctrl_c_writes_a_checkpoint_and_resume_matches_the_straight_run(npz, tmp_path,
                                                                      monkeypatch, capsys):
    straight = tmp_path / "straight.h5"
    assert main(train_args(npz, straight)) == 0
    run = tmp_path / "run.h5"
    interrupt_at(monkeypatch, 15 + 4)  # 15 updates per epoch: inside epoch 2
    assert main(train_args(npz, run, "--checkpoint-every", "100")) == 130
    err = capsys.readouterr().err
    assert "SIGINT received: checkpoint written to" in err
    assert f"layersweep train --resume {run}" in err
    state = checkpoint.load(run)["state"]
    assert (state["epoch"], state["position"], state["steps"]) == (1, 8, 19)
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    a, b = checkpoint.load(straight), checkpoint.load(run)
    assert_same_parameters(a["network"], b["network"])
    assert same_run(a["history"], b["history"]) and len(b["history"]) == 2
    assert a["state"]["rng"] == b["state"]["rng"]


def test_a_deep_run_interrupted_in_its_greedy_stage_resumes_from_the_command_line(
        npz, tmp_path, monkeypatch, capsys):
    deep = ("--layers", "12,8,6,6", "--greedy-epochs", "1")
    straight = tmp_path / "straight.h5"
    assert main(train_args(npz, straight, *deep)) == 0
    out = capsys.readouterr().out
    assert "(greedy stage)" in out and "stage" in out.split("-----")[0]
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("    ")] \
        == ["shallow", "-"]
    run = tmp_path / "run.h5"
    interrupt_at(monkeypatch, 4)  # inside epoch 1, the shallow stage
    assert main(train_args(npz, run, *deep)) == 130
    assert checkpoint.load(run)["state"]["stage"] is not None
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    assert_same_run(checkpoint.load(straight), checkpoint.load(run))


def test_a_deep_run_file_from_before_greedy_starts_resumes_with_its_own_rates(npz, tmp_path):
    """Older files have no greedy_epochs; their two rates meant W1 and every other coupling."""
    explicit, old = tmp_path / "explicit.h5", tmp_path / "old.h5"
    per_layer = ("--layers", "12,8,6,6", "--greedy-epochs", "0", "--init-scale", "1,1,1",
                 "--lr-w", "0.02,0.01,0.01", "--lr-b", "0.02,0.01,0.01")
    assert main(train_args(npz, explicit, *per_layer)) == 0
    assert main(train_args(npz, old, *per_layer, "--epochs", "1")) == 0
    as_written_before(old, "greedy_epochs", lr_W=[0.02, 0.01], lr_b=[0.02, 0.01])
    assert main(["train", "--resume", str(old), "--epochs", "2", "--no-progress"]) == 0
    assert_same_run(checkpoint.load(explicit), checkpoint.load(old))


def test_a_deep_run_file_from_before_hidden_decay_resumes_without_it(npz, tmp_path):
    """Older files have no hidden_decay: their hidden-to-hidden couplings never decayed."""
    explicit, old = tmp_path / "explicit.h5", tmp_path / "old.h5"
    deep = ("--layers", "12,8,6,6", "--greedy-epochs", "0")
    assert main(train_args(npz, explicit, *deep, "--hidden-decay", "0")) == 0
    assert main(train_args(npz, old, *deep, "--hidden-decay", "0", "--epochs", "1")) == 0
    as_written_before(old, "hidden_decay")
    assert main(["train", "--resume", str(old), "--epochs", "2", "--no-progress"]) == 0
    assert_same_run(checkpoint.load(explicit), checkpoint.load(old))
    decayed = tmp_path / "decayed.h5"
    assert main(train_args(npz, decayed, *deep, "--hidden-decay", "3")) == 0
    saved = checkpoint.load(decayed)
    assert saved["config"]["hidden_decay"] == 3.0
    assert not np.array_equal(saved["network"].W[2], checkpoint.load(explicit)["network"].W[2])
    assert main(["train", "--resume", str(decayed), "--hidden-decay", "1", "--epochs", "3",
                 "--no-progress"]) == 2


def test_a_deep_run_file_from_before_the_warm_up_resumes_without_it(npz, tmp_path, capsys):
    """Older files have no hidden_warmup: their couplings learnt from below (the default with
    three hidden layers then) had no warm-up; today's default warms them up over the first
    three deep epochs, so the second epoch differs."""
    explicit, old, warmed = tmp_path / "explicit.h5", tmp_path / "old.h5", tmp_path / "warm.h5"
    deep = ("--layers", "12,8,6,6,6", "--greedy-epochs", "0")
    assert main(train_args(npz, explicit, *deep, "--hidden-warmup", "none")) == 0
    assert main(train_args(npz, old, *deep, "--hidden-warmup", "none", "--epochs", "1")) == 0
    as_written_before(old, "hidden_warmup")
    assert main(["train", "--resume", str(old), "--epochs", "2", "--no-progress"]) == 0
    assert_same_run(checkpoint.load(explicit), checkpoint.load(old))
    assert checkpoint.load(explicit)["config"]["hidden_warmup"] == []
    assert main(train_args(npz, warmed, *deep)) == 0
    saved = checkpoint.load(warmed)
    assert saved["config"]["hidden_warmup"] == [0.1, 0.3, 0.6]
    assert not np.array_equal(saved["network"].W[2], checkpoint.load(explicit)["network"].W[2])
    assert main(["train", "--resume", str(warmed), "--hidden-warmup", "none", "--epochs", "3",
                 "--no-progress"]) == 2
    assert "--hidden-warmup none (the file has 0.1,0.3,0.6)" in capsys.readouterr().err


def test_a_deep_run_file_from_before_hidden_couplings_resumes_with_inner_ones(npz, tmp_path):
    """Older files have neither hidden_couplings nor error_driven: their hidden-to-hidden
    couplings were learnt inside their block and no read was error-driven (today's default
    with three hidden layers is the other way); a run records them and refuses to resume
    with another value."""
    explicit, old = tmp_path / "explicit.h5", tmp_path / "old.h5"
    deep = ("--layers", "12,8,6,6,6", "--greedy-epochs", "0")
    inner = ("--hidden-couplings", "inner", "--error-driven", "0")
    assert main(train_args(npz, explicit, *deep, *inner)) == 0
    assert main(train_args(npz, old, *deep, *inner, "--epochs", "1")) == 0
    as_written_before(old, "hidden_couplings", "error_driven")
    assert main(["train", "--resume", str(old), "--epochs", "2", "--no-progress"]) == 0
    assert_same_run(checkpoint.load(explicit), checkpoint.load(old))
    assert checkpoint.load(explicit)["config"]["hidden_couplings"] == "inner"
    upper = tmp_path / "upper.h5"
    assert main(train_args(npz, upper, *deep, "--error-driven", "0.34")) == 0
    saved = checkpoint.load(upper)
    assert (saved["config"]["hidden_couplings"], saved["config"]["error_driven"]) == ("upper",
                                                                                      0.34)
    assert not np.array_equal(saved["network"].W[2], checkpoint.load(explicit)["network"].W[2])
    resumed = tmp_path / "resumed.h5"
    assert main(train_args(npz, resumed, *deep, "--error-driven", "0.34", "--epochs", "1")) == 0
    assert main(["train", "--resume", str(resumed), "--epochs", "2", "--no-progress"]) == 0
    assert_same_run(saved, checkpoint.load(resumed))
    assert main(["train", "--resume", str(upper), "--error-driven", "0.5", "--epochs", "3",
                 "--no-progress"]) == 2


def test_an_interrupt_inside_an_update_keeps_the_last_checkpoint(npz, tmp_path, monkeypatch,
                                                                  capsys):
    """A second Ctrl-C (or a KeyboardInterrupt outside the main thread) stops an update
    half-way: that state is not written, the last checkpoint stays."""
    run = tmp_path / "run.h5"
    step = Trainer.step

    def stepping(self, x, y, **where):
        if self.steps == 12:
            raise KeyboardInterrupt
        return step(self, x, y, **where)

    monkeypatch.setattr(Trainer, "step", stepping)
    assert main(train_args(npz, run, "--checkpoint-every", "5", "--keep", "2")) == 130
    err = capsys.readouterr().err
    assert f"the last checkpoint in {run} is kept" in err
    assert f"--resume {run} --checkpoint-every 5 --keep 2" in err
    assert checkpoint.load(run)["state"]["steps"] == 10


def test_resume_keeps_going_with_more_epochs_and_another_out(npz, tmp_path, capsys):
    straight, run, other = tmp_path / "straight.h5", tmp_path / "run.h5", tmp_path / "more.h5"
    assert main(train_args(npz, straight, "--epochs", "3")) == 0
    assert main(train_args(npz, run, "--epochs", "1")) == 0
    before = run.read_bytes()
    assert main(["train", "--resume", str(run), "--epochs", "3", "--out", str(other),
                 "--json"]) == 0
    assert run.read_bytes() == before
    a, b = checkpoint.load(straight), checkpoint.load(other)
    assert_same_parameters(a["network"], b["network"])
    assert same_run(a["history"], b["history"])
    assert main(["train", "--resume", str(other), "--epochs", "3"]) == 0
    assert "already holds 3 epochs: nothing to do" in capsys.readouterr().out


def test_resume_refuses_changed_options_unless_allowed(npz, tmp_path, capsys):
    run = tmp_path / "run.h5"
    assert main(train_args(npz, run, "--epochs", "1")) == 0
    before = run.read_bytes()
    code = main(["train", "--resume", str(run), "--epochs", "2", "--reads", "20",
                 "--lr-w", "0.5", "--sweeps", "8", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("layersweep: error:")
    assert "--reads 20 (the file has 3)" in err and "--lr-w 0.5" in err
    assert "--sweeps" not in err and "--allow-changes" in err
    assert run.read_bytes() == before
    assert main(["train", "--resume", str(run), "--epochs", "2", "--reads", "4",
                 "--allow-changes", "--no-progress"]) == 0
    saved = checkpoint.load(run)
    assert saved["config"]["reads"] == 4 and saved["state"]["epoch"] == 2
    assert saved["config"]["changes"] == [{"step": 15, "options": {"reads": [3, 4]}}]


def test_resume_refuses_another_architecture_or_changed_data(npz, tmp_path, capsys):
    run = tmp_path / "run.h5"
    assert main(train_args(npz, run, "--epochs", "1")) == 0
    before = run.read_bytes()
    assert main(["train", "--resume", str(run), "--layers", "12,9,6", "--allow-changes"]) == 2
    assert "another architecture" in capsys.readouterr().err
    d = datasets.synthetic(n=120, features=12, classes=3, seed=99)
    np.savez(npz, X=d.X, y=d.y)
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 2
    assert "training data" in capsys.readouterr().err
    assert run.read_bytes() == before


def test_refusals_leave_files_alone_and_come_before_training(npz, tmp_path, capsys):
    junk = tmp_path / "notes.h5"
    junk.write_bytes(b"my own notes")
    assert main(train_args(npz, junk)) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert junk.read_bytes() == b"my own notes"
    assert main(["train", "--resume", str(junk)]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err
    assert junk.read_bytes() == b"my own notes"
    blocker = tmp_path / "file"
    blocker.write_text("")
    started = time.perf_counter()
    assert main(train_args(npz, blocker / "run.h5", "--epochs", "50")) == 2
    assert time.perf_counter() - started < 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(train_args(npz, tmp_path)) == 2
    assert "it is a folder" in capsys.readouterr().err
    assert main(["train", "--allow-changes"]) == 2
    assert "only makes sense with --resume" in capsys.readouterr().err


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="needs POSIX permissions that bind the user (not root)")
def test_refuses_an_unwritable_folder(npz, tmp_path, capsys):  # pragma: no cover - root in CI
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(train_args(npz, locked / "run.h5")) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_keep_rotates_older_checkpoints(npz, tmp_path):
    run = tmp_path / "run.h5"
    assert main(train_args(npz, run, "--checkpoint-every", "4", "--keep", "3")) == 0
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("run.h5"))
    assert names == ["run.h5", "run.h5.1", "run.h5.2"]
    steps = [checkpoint.load(tmp_path / n)["state"]["steps"] for n in names]
    # 30 updates: checkpoints at 4, 8, 12, (15 = end of epoch 1), 16, ..., 28, 30 (the end)
    assert steps == [30, 28, 24]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _popen(args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "layersweep", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, proc, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.02)


def test_sigterm_writes_a_checkpoint_and_exits_130(npz, tmp_path):
    run = tmp_path / "run.h5"
    proc = _popen(train_args(npz, run, "--epochs", "1000", "--checkpoint-every", "1"), tmp_path)
    _wait_for(run, proc)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "SIGTERM received: checkpoint written to" in err and "--resume" in err
    assert checkpoint.load(run)["state"]["steps"] > 0


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_the_checkpoint(npz, tmp_path):
    """Kill training (and resumed training) at random moments, also inside checkpoint writes;
    each time the newest checkpoint loads and the next process resumes from it. The chain of
    interrupted runs ends exactly where one uninterrupted run does."""
    run = tmp_path / "run.h5"
    chance = random.Random(int.from_bytes(os.urandom(4), "little"))
    args = train_args(npz, run, "--epochs", "1000", "--checkpoint-every", "1", "--keep", "2",
                      "--batch-size", "1")
    kills, steps, resumed, torn = 0, 0, 0, 0
    while kills < 12:
        if os.path.exists(run):
            proc = _popen(["train", "--resume", str(run), "--no-progress"], tmp_path)
            resumed += 1
        else:
            proc = _popen(args, tmp_path)
            # the first run also compiles the annealer (numba caches it on disk): wait for
            # its first checkpoint so that later runs start training within the kill window
            _wait_for(run, proc, timeout=180)
        time.sleep(chance.uniform(0.5, 1.6))
        assert proc.poll() is None, proc.communicate()
        proc.kill()
        proc.communicate()
        kills += 1
        torn += bool(checkpoint.stale_temporaries(run))
        if os.path.exists(run):
            saved = checkpoint.load(run)  # the newest checkpoint is always whole
            assert saved["state"]["steps"] >= steps
            steps = saved["state"]["steps"]
            if os.path.exists(f"{run}.1"):
                assert checkpoint.load(f"{run}.1")["state"]["steps"] <= steps
    assert resumed >= 8 and steps > 0
    print(f"{kills} kills, {torn} of them inside a checkpoint write")
    saved = checkpoint.load(run)
    total = saved["state"]["epoch"] + 1
    proc = _popen(["train", "--resume", str(run), "--epochs", str(total), "--no-progress"],
                  tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not checkpoint.stale_temporaries(run)  # cleaned up by the resuming process
    straight = tmp_path / "straight.h5"
    base = train_args(npz, straight, "--batch-size", "1", "--epochs", str(total))
    assert main(base) == 0
    a, b = checkpoint.load(straight), checkpoint.load(run)
    assert_same_parameters(a["network"], b["network"])
    assert same_run(a["history"], b["history"])


def test_a_cluster_run_is_the_local_run_and_a_lost_cluster_leaves_a_resumable_file(
        npz, tmp_path, monkeypatch, capsys):
    shards = ("--batch-size", "4", "--shard-size", "2")
    local, remote, failed = tmp_path / "local.h5", tmp_path / "remote.h5", tmp_path / "failed.h5"
    assert main(train_args(npz, local, *shards)) == 0
    assert main(train_args(npz, remote, *shards, "--scheduler", "processes:2")) == 0
    assert_same_run(checkpoint.load(local), checkpoint.load(remote))
    # the cluster loses the work of update 4: the file holds updates 1-3 and resumes exactly
    real = LocalScheduler.map

    def losing(self, fn, items, *shared):
        if fn is shard_task and losing.calls == 3:
            raise SchedulerError("the Dask cluster lost the work")
        losing.calls += fn is shard_task
        return real(self, fn, items, *shared)

    losing.calls = 0
    monkeypatch.setattr(LocalScheduler, "map", losing)
    capsys.readouterr()
    assert main(train_args(npz, failed, *shards)) == 2
    err = capsys.readouterr().err
    assert "lost the work" in err and "3 updates" in err and "--resume" in err
    assert checkpoint.load(failed)["state"]["steps"] == 3
    monkeypatch.setattr(LocalScheduler, "map", real)
    assert main(["train", "--resume", str(failed), "--no-progress"]) == 0
    assert_same_run(checkpoint.load(local), checkpoint.load(failed))


def test_a_scheduler_without_shards_is_refused_before_training(npz, tmp_path, capsys):
    assert main(train_args(npz, tmp_path / "r.h5", "--scheduler", "processes:2")) == 2
    assert "--shard-size" in capsys.readouterr().err
    assert not (tmp_path / "r.h5").exists()
