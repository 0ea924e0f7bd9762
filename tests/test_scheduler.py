"""Schedulers: the same numbers in this process and on a Dask LocalCluster, and lost workers
that never leave silently wrong parameters."""

import os
import signal
import sys
import threading

import cloudpickle
import dask
import numpy as np
import pytest

from layersweep import data as datasets
from layersweep.estimator import LayerSweepClassifier
from layersweep.exceptions import SchedulerError
from layersweep.samplers import make_sampler
from layersweep.samplers.annealer import BipartiteAnnealer
from layersweep.scheduler import DaskScheduler, LocalScheduler, make_scheduler
from layersweep.train import shard_bounds

from conftest import classifier

# workers unpickle this module's classes by value: they cannot import the tests
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes, shared by this module's tests."""
    with make_scheduler("processes:2") as scheduler:
        yield scheduler


@pytest.fixture(scope="module")
def digits():
    """200 real MNIST digits (20 per class)."""
    return datasets.split(datasets.load(), 200, 0)["train"]


def fitted(X, y, scheduler, **options):
    params = dict(epochs=1, batch_size=50, shard_size=10, reads=5, sweeps=8, random_state=7)
    params.update(options)
    return classifier(scheduler=scheduler, **params).fit(X, y)


def same_run(a, b):
    """Parameters bit for bit; the history but for the clock: every figure a plain Python
    number, counts and error rates equal, the energy figures equal to float32 rounding (a
    worker process's BLAS may round a float32 field's last bit otherwise; the spins, and so
    the parameters, do not change)."""
    for u, v in zip(a.network_.W[1:] + a.network_.b[1:], b.network_.W[1:] + b.network_.b[1:]):
        np.testing.assert_array_equal(u, v)
    assert len(a.history_) == len(b.history_)
    for mine, theirs in zip(a.history_, b.history_):
        assert mine.keys() == theirs.keys()
        for key in mine.keys() - {"seconds"}:
            assert type(mine[key]) is type(theirs[key]) and type(mine[key]) in (int, float)
            if key.startswith("gap_"):
                assert mine[key] == pytest.approx(theirs[key], rel=1e-6), key
            else:
                assert mine[key] == theirs[key], key


def test_shard_bounds_cut_a_minibatch_in_order():
    assert shard_bounds(10, None) == [(0, 10)]
    assert shard_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert shard_bounds(3, 10) == [(0, 3)]


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_a_shard_size_must_be_a_positive_integer(digits, bad):
    with pytest.raises(ValueError, match="shard_size"):
        fitted(digits.X[:50], digits.y[:50], "local", shard_size=bad)


def test_specs_that_cannot_work_say_what_to_give():
    assert isinstance(make_scheduler("local"), LocalScheduler)
    for bad in ("threads", "processes:0", "processes:x", 3):
        with pytest.raises(SchedulerError, match="local"):
            make_scheduler(bad)


def test_an_unreachable_cluster_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("layersweep.scheduler.CONNECT_TIMEOUT", 1)
    with pytest.raises(SchedulerError, match="cannot reach a Dask scheduler"):
        make_scheduler("tcp://127.0.0.1:9")


def test_an_object_workers_cannot_receive_is_refused(cluster):
    with pytest.raises(SchedulerError, match="cannot be sent"):
        cluster.put({"lock": threading.Lock()})  # what a network client holds


def test_the_cluster_trains_an_epoch_of_200_digits_bit_for_bit_as_this_process(cluster, digits):
    local = fitted(digits.X, digits.y, "local")
    remote = fitted(digits.X, digits.y, cluster)
    same_run(local, remote)
    assert local.history_[0]["train_error"] < 0.9  # it learnt something


def test_a_deep_net_trains_bit_for_bit_on_the_cluster(cluster):
    d = datasets.synthetic(n=60, features=12, classes=3, seed=4)
    options = dict(hidden_layer_sizes=(8, 6), redundancy=2, batch_size=12, shard_size=5,
                   epochs=2, greedy_epochs=1)  # the greedy stage's epoch, then a deep one
    local = fitted(d.X, d.y, "local", **options)
    assert [row.get("greedy", 0) for row in local.history_] == [1, 0]
    same_run(local, fitted(d.X, d.y, cluster, **options))


def test_the_numbers_depend_on_the_shards_not_on_the_scheduler(digits):
    whole = fitted(digits.X, digits.y, "local", shard_size=None)
    sharded = fitted(digits.X, digits.y, "local")
    assert not np.array_equal(whole.network_.W[1], sharded.network_.W[1])
    # the one-shard run draws from the run's generator, as before shards existed
    plain = fitted(digits.X, digits.y, LocalScheduler(), shard_size=50)
    same_run(whole, plain)


def test_a_cluster_without_shards_to_run_warns(cluster, digits):
    with pytest.warns(UserWarning, match="shard_size"):
        fitted(digits.X[:50], digits.y[:50], cluster, shard_size=None)


class DyingOnce(BipartiteAnnealer):
    """Kills its worker process at its first call after ``flag`` is armed (once: removing the
    flag claims the death, so of two workers sampling at once only one dies)."""

    def __init__(self, flag, **kw):
        super().__init__(**kw)
        self.flag = str(flag)

    def _sample(self, problem, reads, initial, seed):
        try:
            os.remove(self.flag)
        except FileNotFoundError:
            return super()._sample(problem, reads, initial, seed)
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_epoch_leaves_the_epoch_exact(cluster, digits, tmp_path):
    flag = tmp_path / "kill"
    local = fitted(digits.X, digits.y, "local")

    def arm(trainer):
        if trainer.steps == 2:
            flag.touch()

    sampler = DyingOnce(flag, sweeps=8, reverse_beta=4.0)
    model = LayerSweepClassifier(scheduler=cluster, sampler=sampler, epochs=1, batch_size=50,
                                 shard_size=10, random_state=7, recipe=dict(reads=5))
    model.fit(digits.X, digits.y, on_step=arm)
    assert not flag.exists()  # a worker did die in update 3
    same_run(local, model)


class AlwaysDying(BipartiteAnnealer):
    def _sample(self, problem, reads, initial, seed):
        os.kill(os.getpid(), signal.SIGKILL)


def test_work_lost_beyond_repair_raises_and_changes_nothing(digits):
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with make_scheduler("processes:1") as scheduler:
            model = LayerSweepClassifier(scheduler=scheduler, sampler=AlwaysDying(sweeps=8),
                                         epochs=1, batch_size=50, shard_size=10, random_state=7,
                                         recipe=dict(reads=5))
            with pytest.raises(SchedulerError, match="lost the work"):
                model.fit(digits.X, digits.y)
    trainer = model.trainer_
    assert trainer.position == 0 and trainer.steps == 0 and not trainer.history
    # the failed update changed nothing: redone here, the epoch is the uninterrupted one
    trainer.sampler = make_sampler("numpy", sweeps=8, beta_range=(0.1, 4.0), reverse_beta=4.0)
    trainer.run_epoch(digits.X, digits.y)
    same_run(fitted(digits.X, digits.y, "local"), model)


def test_ctrl_c_is_for_the_driver_not_the_local_workers(cluster):
    """A terminal's SIGINT reaches every process of its group: the workers ignore it, so the
    driver finishes its update and writes a checkpoint instead of losing its workers."""
    dispositions = cluster.client.run(signal.getsignal, signal.SIGINT)
    assert len(dispositions) == 2
    assert all(d == signal.SIG_IGN for d in dispositions.values())
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN  # restored here


def test_dask_scheduler_wraps_a_client(cluster):
    wrapped = make_scheduler(cluster.client)
    assert isinstance(wrapped, DaskScheduler) and wrapped.workers == 2
    assert wrapped.map(divmod, [(7, 2), (9, 4)]) == [(3, 1), (2, 1)]
