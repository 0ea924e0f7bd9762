"""Epochs, minibatches, evaluation and history: the training loop.

A :class:`Trainer` owns everything a run changes: the network, the run's random generator, the
position in the current epoch (with that epoch's shuffle order) and the history of measured
figures. Its state is complete: saving it and loading it back (:mod:`layersweep.checkpoint`)
continues the run exactly. Inference draws from its own fixed-seed generator, so evaluating
between epochs never changes the training's random stream.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from .exceptions import ArchitectureError, DivergenceError, SchedulerError
from .network import DTYPE, Network
from .rules import LearningRates, apply_gradients
from .samplers import BlockSampler, make_sampler
from .scheduler import LocalScheduler
from .sweep import BlockReport, SweepConfig, backward_sweep, forward_sweep, ground_states, seed_from

#: images per inference chunk: bounds the memory of evaluating a large split
CHUNK = 1024
#: inference's own seed, so that predictions are a function of the parameters alone
INFERENCE_SEED = 0
#: parameter averaging reaches back over at most 1/AVERAGE_TAIL of the images it has seen
AVERAGE_TAIL = 4
#: prefix of the sampler's tallies in ``Trainer.running`` (see :meth:`Trainer.step`)
TALLY = "tally:"


def single_threaded_blas():
    """A context with BLAS on one thread: the block matrices (tens to hundreds of rows) are
    too small for threads to pay, and spinning BLAS threads stall when several processes
    share the cores (measured in experiments/bench_epoch.py)."""
    return threadpool_limits(1, user_api="blas")


def _ground_state_chunks(net: Network, X: np.ndarray, sampler: BlockSampler | None):
    """Ground states of ``X`` in chunks of :data:`CHUNK` inputs, one chunk at a time."""
    sampler = sampler or make_sampler("numpy")
    rng = np.random.default_rng(INFERENCE_SEED)
    with single_threaded_blas():
        for i in range(0, len(X), CHUNK):
            yield ground_states(net, X[i:i + CHUNK], sampler, rng)


def predict_states(net: Network, X: np.ndarray, sampler: BlockSampler | None = None) -> list:
    """Ground states found for each input, ``[None, (n, n_1), ..., (n, n_L)]`` (in chunks)."""
    parts = list(_ground_state_chunks(net, X, sampler))
    return [None] + [np.concatenate([p[l] for p in parts]) for l in range(1, net.depth + 1)]


def predict(net: Network, X: np.ndarray) -> np.ndarray:
    """Predicted class of each input, ``-1`` where the output has no single largest group;
    memory: one chunk's states at a time."""
    return np.concatenate([net.predict_output(states[-1])
                           for states in _ground_state_chunks(net, X, None)])


def error_rate(net: Network, X: np.ndarray, y: np.ndarray) -> float:
    """1 - accuracy; a tie (no prediction) counts as wrong."""
    return float(np.mean(predict(net, X) != y))


@dataclass
class Trainer:
    """One training run: ``net`` is trained in place.

    ``batch_size``: images per parameter update (1 is the paper's online training);
    ``rng``: the run's only random generator (shuffles and sampler seeds);
    ``shard_size``: images per task within a minibatch (None: the whole minibatch is one
    shard, sampled in this process from ``rng``); smaller shards split each update into
    independent tasks for ``scheduler``. The numbers depend on ``shard_size``, never on the
    scheduler or its number of workers.

    Greedy start (deep nets): during the first ``greedy`` epochs the trained network is the
    shallow *stage* input - layer 1 - output, which shares ``W^1, b^1`` with ``net`` and has
    its own output side ``stage = (W (n_L, n_1), b (n_L,))``, at ``stage_rates``; the stage's
    output side is dropped when those epochs end.

    Parameter averaging: with ``average`` > 0 (a time constant in training images), the
    trainer keeps ``averaged``, a moving average of ``net``'s parameters after each update
    of the net itself (not of a greedy stage), over the last ``average`` images or the last
    quarter of those seen so far, whichever is shorter (``averaged_images``: images seen).
    Predictions and the evaluation after each epoch use it (:attr:`predictor`); training
    never does. Averaging cancels the update-to-update jitter of online sampling.
    """

    net: Network
    sampler: BlockSampler
    sweep: SweepConfig
    rates: LearningRates
    rng: np.random.Generator
    batch_size: int = 1
    epoch: int = 0
    position: int = 0
    order: np.ndarray | None = None
    history: list = field(default_factory=list)
    steps: int = 0
    running: dict = field(default_factory=dict)
    shard_size: int | None = None
    scheduler: LocalScheduler = field(default_factory=LocalScheduler)
    greedy: int = 0
    stage: tuple | None = None
    stage_rates: LearningRates | None = None
    average: int = 0
    averaged: Network | None = None
    averaged_images: int = 0
    _sampler_on: tuple = field(default=None, init=False, repr=False)  # (scheduler, handle)

    def __post_init__(self):
        check_shard_size(self.shard_size)
        check_average(self.average)

    @property
    def predictor(self) -> Network:
        """The network predictions use: the averaged parameters once averaging has begun,
        else ``net`` itself."""
        return self.net if self.averaged is None else self.averaged

    def _update_average(self, images: int) -> None:
        """Fold ``net``'s parameters, after an update from ``images`` images, into the
        average: an exponential moving average of time constant ``average`` images, shortened
        to the last quarter of the images seen so far while the run is young (so that the
        first updates, far from trained, soon stop counting)."""
        self.averaged_images += images
        if self.averaged is None:
            self.averaged = self.net.copy()
            return
        span = min(self.average, max(self.averaged_images // AVERAGE_TAIL, images))
        weight = DTYPE(images / span)
        for l in range(1, self.net.depth + 1):
            self.averaged.W[l] += weight * (self.net.W[l] - self.averaged.W[l])
            self.averaged.b[l] += weight * (self.net.b[l] - self.averaged.b[l])

    @property
    def staging(self) -> bool:
        """True while the greedy stage, not the deep net, is being trained."""
        return self.epoch < self.greedy and self.net.depth > 2

    def active(self) -> tuple:
        """``(network, rates)`` trained now: the greedy stage (sharing ``W^1, b^1`` with
        ``net``) during its epochs, else ``net`` itself at the rates of its epoch (a
        warm-up counts the deep net's epochs, after the greedy start)."""
        if not self.staging:
            return self.net, self.rates.at(self.epoch - self.greedy)
        if self.stage is None:
            raise ArchitectureError(f"epoch {self.epoch + 1} is in the greedy stage (the first "
                                    f"{self.greedy}) but the trainer holds no stage")
        net = self.net
        stage = Network([net.sizes[0], net.sizes[1], net.sizes[-1]], net.classes,
                        net.redundancy, [None, net.W[1], self.stage[0]],
                        [None, net.b[1], self.stage[1]])
        return stage, self.stage_rates

    def step(self, x: np.ndarray, y: np.ndarray, *, shared=None, rows=None) -> list:
        """One parameter update from a minibatch: a forward and a backward sweep per shard.

        ``shared``, ``rows``: the training set already put on the scheduler (by
        :meth:`run_epoch`) and the minibatch's rows in it, so that a distributed update sends
        row numbers, not images. Returns one :class:`BlockReport` per block.
        """
        net, rates = self.active()
        bounds = shard_bounds(len(y), self.shard_size)
        if len(bounds) == 1:  # the whole minibatch in this process, from the run's generator
            grads, reports, tally = shard_step(net, self.sampler, self.sweep, x, y, self.rng)
            parts = [(len(y), grads, reports, tally)]
        else:
            parts = self._distributed_step(net, x, y, bounds, shared, rows)
        grads, reports = combine_shards(parts)
        with np.errstate(over="ignore", invalid="ignore"):  # check_finite says it, once
            apply_gradients(net, grads, rates)
        check_finite(net, self.steps + 1, self.epoch + 1)
        self.steps += 1
        if self.average and net is self.net:
            self._update_average(len(y))
        if net is not self.net:  # the stage's one block joins layer 1 to the output
            reports = [BlockReport((1, self.net.depth), r.gap, r.correct) for r in reports]
        for r in reports:
            name = f"{r.block[0]}-{r.block[1]}"
            self.running[f"gap_{name}"] = self.running.get(f"gap_{name}", 0.0) + r.gap
            if r.block[1] == self.net.depth:
                self.running["free_correct"] = self.running.get("free_correct", 0.0) + r.correct
        self.running["updates"] = self.running.get("updates", 0) + 1
        for _, _, _, tally in parts:
            for key, value in tally.items():
                self.running[TALLY + key] = self.running.get(TALLY + key, 0) + value
        return reports

    def _distributed_step(self, net, x, y, bounds, shared, rows) -> list:
        """The shards of one update as scheduler tasks: one seed drawn from the run's
        generator, shard k sampling from ``default_rng([seed, k])``; the network goes out once.
        If the scheduler loses the work, the generator is rewound: nothing has changed."""
        before = self.rng.bit_generator.state
        seed = seed_from(self.rng)
        try:
            if shared is None:
                shared, rows = self.scheduler.put((x, y)), np.arange(len(y))
            if self._sampler_on is None or self._sampler_on[0] is not self.scheduler:
                self._sampler_on = (self.scheduler, self.scheduler.put(self.sampler))
            net = self.scheduler.put(net)
            items = [(rows[start:stop], k) for k, (start, stop) in enumerate(bounds)]
            return self.scheduler.map(shard_task, items, net, self._sampler_on[1], self.sweep,
                                      shared, seed)
        except SchedulerError:
            self.rng.bit_generator.state = before
            raise

    def run_epoch(self, X: np.ndarray, y: np.ndarray, eval_sets: dict | None = None,
                  progress: bool = False, on_step=None) -> dict:
        """Train through the rest of the current epoch, evaluate, and append to the history.

        ``eval_sets``: ``{name: (X, y)}`` whose error is recorded as ``{name}_error``;
        ``on_step(trainer)`` is called after every update (checkpoints hook in here).
        Returns the epoch's history row: ``epoch``, ``seconds``, ``train_error``,
        ``worst_class`` and ``worst_recall`` (the class of ``y`` recalled worst on the training
        images, and its recall), each ``{name}_error``, per block ``gap_{l}-{l+1}`` (mean
        energy of free samples above the nudged state), ``free_correct`` (fraction of free
        samples already correct) and the sampler's tallied figures (e.g. ``qpu_calls``), if it
        keeps any.
        """
        if self.order is None:
            self.order = self.rng.permutation(len(y))
            self.position = 0
            self.running = {}
            take_tally(self.sampler)  # nothing spent before counts here
        staging = self.staging
        bar = tqdm(total=len(y), initial=self.position,
                   desc=f"epoch {self.epoch + 1}" + (" (greedy stage)" if staging else ""),
                   unit="img", disable=not progress, leave=False)
        shared = None
        if len(shard_bounds(min(self.batch_size, len(y)), self.shard_size)) > 1:
            shared = self.scheduler.put((X, y))  # the training set goes out once per epoch
        with bar, single_threaded_blas():  # the bar is cleared however the epoch ends
            while self.position < len(y):
                started = time.perf_counter()
                idx = self.order[self.position:self.position + self.batch_size]
                self.step(X[idx], y[idx], shared=shared, rows=idx)
                self.position += len(idx)
                self.running["seconds"] = (self.running.get("seconds", 0.0)
                                           + time.perf_counter() - started)
                bar.update(len(idx))
                if on_step is not None:
                    on_step(self)
        # a greedy stage's epochs measure the stage; the net's, the parameters that predict
        net = self.active()[0] if staging else self.predictor
        predicted = predict(net, X)
        row = {"epoch": self.epoch + 1, "seconds": self.running.get("seconds", 0.0),
               "train_error": float(np.mean(predicted != y))}
        row["worst_class"], row["worst_recall"] = worst_recall(predicted, y)
        if staging:
            row["greedy"] = 1
        for name, (Xe, ye) in (eval_sets or {}).items():
            row[f"{name}_error"] = error_rate(net, Xe, ye)
        updates = max(self.running.get("updates", 0), 1)
        for key, total in self.running.items():
            if key.startswith("gap_") or key == "free_correct":
                row[key] = total / updates
        tally = {k[len(TALLY):]: v for k, v in self.running.items() if k.startswith(TALLY)}
        if tally:  # the sampler's figures: its own summary of the totals, or the totals
            summarize = getattr(self.sampler, "summarize_tally", None)
            row.update(summarize(tally) if summarize is not None else tally)
        self.history.append(plain_row(row))
        self.epoch += 1
        if not self.staging:
            self.stage = None  # the deep net continues from the stage's W^1, b^1
        self.position = 0
        self.order = None
        self.running = {}
        return row


def plain_row(row: dict) -> dict:
    """A history row with plain Python numbers (``int`` for counts, ``float`` otherwise),
    whatever computed them: NumPy scalars of any width, in this process or on a worker."""
    return {key: value if isinstance(value, (int, float)) and not isinstance(value, bool)
            else int(value) if isinstance(value, (bool, np.integer)) else float(value)
            for key, value in row.items()}


#: the largest energy scale a network may reach: beyond it a float32 field or energy overflows
ENERGY_LIMIT = float(np.finfo(DTYPE).max) / 4


def check_finite(net: Network, step: int, epoch: int) -> None:
    """Raise :class:`DivergenceError` if an update left ``net``'s parameters infinite, NaN or
    so large that fields or energies overflow float32: ``sum |W^l| + sum |b^l|`` over the
    layers bounds ``|E|`` of every state and every field, and must stay below
    :data:`ENERGY_LIMIT` (``step``, ``epoch``: the update's, counted from 1). The update is
    then never saved."""
    bound = 0.0
    for l in range(1, net.depth + 1):
        bound += float(np.abs(net.W[l]).sum(dtype=np.float64)
                       + np.abs(net.b[l]).sum(dtype=np.float64))
        if not bound < ENERGY_LIMIT:  # NaN compares False
            raise DivergenceError(
                f"training diverged: update {step} (epoch {epoch}) made the parameters of "
                f"layer {l} infinite, NaN or too large for float32 energies; the learning "
                f"rates are too large for this net: lower lr_W and lr_b (--lr-w, --lr-b), "
                f"e.g. tenfold")


def physical_memory() -> int:
    """This machine's physical memory in bytes (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


def memory_needed(sizes, batch_size: int, reads: int, sweeps: int = 0) -> int:
    """An estimate, in bytes, of the memory a training run of layers ``sizes`` holds at
    once: the parameters four times over (network, gradients, averaged copy, the update's
    temporaries) and, per update, the float32 spins and fields of ``batch_size * reads``
    free samples of every layer (about six arrays of that size are alive together), and the
    annealing schedule of each of those problems (``sweeps`` inverse temperatures)."""
    sizes = [int(n) for n in sizes]
    params = sum(sizes[l] * (sizes[l - 1] + 1) for l in range(1, len(sizes)))
    samples = int(batch_size) * int(reads) * sum(sizes)
    schedule = int(batch_size) * int(reads) * int(sweeps)
    return 4 * (4 * params + 6 * samples + schedule)


def worst_recall(predicted: np.ndarray, y: np.ndarray) -> tuple:
    """``(class, recall)`` of the class in ``y`` recalled worst (the lowest such class on a
    tie): a class the network has lost (a deep net's failure mode, README "Deep networks")
    shows here as a recall near 0 while the error rises by only a tenth."""
    classes = np.unique(y)
    recalls = np.array([np.mean(predicted[y == c] == c) for c in classes])
    k = int(np.argmin(recalls))
    return int(classes[k]), float(recalls[k])


def greedy_stage(net: Network, rng: np.random.Generator) -> tuple:
    """The output side ``(W (n_L, n_1), b (n_L,))`` of a deep net's greedy stage, with the
    paper's initialisation ``U(±1/sqrt(n_1))`` and zero biases (drawn after ``net``'s own, so
    a deep net's initial parameters do not depend on the greedy start)."""
    bound = 1.0 / np.sqrt(net.sizes[1])
    W = rng.uniform(-bound, bound, size=(net.sizes[-1], net.sizes[1])).astype(DTYPE)
    return W, np.zeros(net.sizes[-1], DTYPE)


def take_tally(sampler) -> dict:
    """What the sampler spent since it was last asked (its ``take_tally()``: additive figures
    such as QPU calls and access time), or ``{}`` for samplers that keep no tally."""
    take = getattr(sampler, "take_tally", None)
    return take() if take is not None else {}


def check_average(average) -> None:
    """An averaging time constant is a non-negative integer number of images (0: off)."""
    if not isinstance(average, (int, np.integer)) or isinstance(average, bool) or average < 0:
        raise ArchitectureError(f"average must be a non-negative integer (a time constant in "
                                f"training images; 0 turns averaging off); got {average!r}")


def check_shard_size(shard_size) -> None:
    """A shard size is a positive integer or None (the whole minibatch)."""
    if shard_size is not None and (not isinstance(shard_size, (int, np.integer))
                                   or isinstance(shard_size, bool) or shard_size < 1):
        raise ArchitectureError(f"shard_size must be a positive integer or None; got "
                                f"{shard_size!r}")


def shard_bounds(n: int, shard_size: int | None) -> list:
    """``[(start, stop), ...]``: a minibatch of ``n`` images cut into shards of
    ``shard_size`` (the last one shorter); one shard when ``shard_size`` is None."""
    size = n if shard_size is None else max(1, shard_size)
    return [(start, min(start + size, n)) for start in range(0, n, size)] or [(0, 0)]


def shard_step(net: Network, sampler: BlockSampler, sweep: SweepConfig, x: np.ndarray,
               y: np.ndarray, rng: np.random.Generator):
    """The sweeps of one shard ``x (n, n_0)``, ``y (n,)``: ``(grads, reports, tally)`` with
    gradients and reports averaged over the shard; the network is not changed."""
    free = forward_sweep(net, sampler, x, rng) if net.depth > 2 else None
    grads, reports = backward_sweep(net, sampler, x, y, sweep, rng, free)
    return grads, reports, take_tally(sampler)


def shard_task(rows, k, net, sampler, sweep, data, seed):
    """A scheduler task: the shard of rows ``rows`` of ``data = (X, y)``, sampled from
    ``default_rng([seed, k])``. Returns ``(n, grads, reports, tally)``."""
    X, y = data
    with single_threaded_blas():
        grads, reports, tally = shard_step(net, sampler, sweep, X[rows], y[rows],
                                           np.random.default_rng([seed, k]))
    return len(rows), grads, reports, tally


def combine_shards(parts: list):
    """The minibatch's gradients and block reports from its shards ``[(n, grads, reports,
    tally), ...]``: averages weighted by shard size, added in shard order."""
    if len(parts) == 1:
        return parts[0][1], parts[0][2]
    total = sum(n for n, *_ in parts)
    grads = {}
    for n, g, _, _ in parts:
        for name, value in g.items():
            grads[name] = grads[name] + value * (n / total) if name in grads else value * (n / total)
    reports = []
    for b, first in enumerate(parts[0][2]):
        gap = sum(p[2][b].gap * (p[0] / total) for p in parts)
        correct = sum(p[2][b].correct * (p[0] / total) for p in parts)
        reports.append(BlockReport(first.block, float(gap), float(correct)))
    return grads, reports
