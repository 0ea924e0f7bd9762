"""Epochs, minibatches, evaluation and history: the training loop.

A :class:`Trainer` owns everything a run changes: the network, the run's random generator, the
position in the current epoch (with that epoch's shuffle order) and the history of measured
figures. Its state is complete: saving it and loading it back (:mod:`layersweep.checkpoint`)
continues the run exactly. Inference draws from its own fixed-seed generator, so evaluating
between epochs never changes the training's random stream.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from .network import Network
from .rules import LearningRates, apply_gradients
from .samplers import BlockSampler, make_sampler
from .sweep import SweepConfig, backward_sweep, forward_sweep, ground_states

#: images per inference chunk: bounds the memory of evaluating a large split
CHUNK = 1024
#: inference's own seed, so that predictions are a function of the parameters alone
INFERENCE_SEED = 0
#: prefix of the sampler's tallies in ``Trainer.running`` (see :meth:`Trainer.step`)
TALLY = "tally:"


def single_threaded_blas():
    """A context with BLAS on one thread: the block matrices (tens to hundreds of rows) are
    too small for threads to pay, and spinning BLAS threads stall when several processes
    share the cores (measured in experiments/bench_epoch.py)."""
    return threadpool_limits(1, user_api="blas")


def predict_states(net: Network, X: np.ndarray, sampler: BlockSampler | None = None) -> list:
    """Ground states found for each input, ``[None, (n, n_1), ..., (n, n_L)]`` (in chunks)."""
    sampler = sampler or make_sampler("numpy")
    rng = np.random.default_rng(INFERENCE_SEED)
    with single_threaded_blas():
        parts = [ground_states(net, X[i:i + CHUNK], sampler, rng)
                 for i in range(0, len(X), CHUNK)]
    return [None] + [np.concatenate([p[l] for p in parts]) for l in range(1, net.depth + 1)]


def predict(net: Network, X: np.ndarray) -> np.ndarray:
    """Predicted class of each input, ``-1`` where the output has no single largest group."""
    return net.predict_output(predict_states(net, X)[-1])


def error_rate(net: Network, X: np.ndarray, y: np.ndarray) -> float:
    """1 - accuracy; a tie (no prediction) counts as wrong."""
    return float(np.mean(predict(net, X) != y))


@dataclass
class Trainer:
    """One training run: ``net`` is trained in place.

    ``batch_size``: images per parameter update (1 is the paper's online training);
    ``rng``: the run's only random generator (shuffles and sampler seeds).
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

    def step(self, x: np.ndarray, y: np.ndarray) -> list:
        """One parameter update from a minibatch: a forward and a backward sweep."""
        free = forward_sweep(self.net, self.sampler, x, self.rng) if self.net.depth > 2 else None
        grads, reports = backward_sweep(self.net, self.sampler, x, y, self.sweep, self.rng, free)
        apply_gradients(self.net, grads, self.rates)
        self.steps += 1
        for r in reports:
            name = f"{r.block[0]}-{r.block[1]}"
            self.running[f"gap_{name}"] = self.running.get(f"gap_{name}", 0.0) + r.gap
            if r.block[1] == self.net.depth:
                self.running["free_correct"] = self.running.get("free_correct", 0.0) + r.correct
        self.running["updates"] = self.running.get("updates", 0) + 1
        self._collect_tally()
        return reports

    def _collect_tally(self) -> None:
        """Add what the sampler spent (its ``take_tally()``: additive figures such as QPU
        calls and access time, if it keeps any) to the epoch's running totals."""
        take = getattr(self.sampler, "take_tally", None)
        for key, value in (take() if take is not None else {}).items():
            self.running[TALLY + key] = self.running.get(TALLY + key, 0) + value

    def run_epoch(self, X: np.ndarray, y: np.ndarray, eval_sets: dict | None = None,
                  progress: bool = False, on_step=None) -> dict:
        """Train through the rest of the current epoch, evaluate, and append to the history.

        ``eval_sets``: ``{name: (X, y)}`` whose error is recorded as ``{name}_error``;
        ``on_step(trainer)`` is called after every update (checkpoints hook in here).
        Returns the epoch's history row: ``epoch``, ``seconds``, ``train_error``, each
        ``{name}_error``, per block ``gap_{l}-{l+1}`` (mean energy of free samples above the
        nudged state), ``free_correct`` (fraction of free samples already correct) and the
        sampler's tallied figures (e.g. ``qpu_calls``), if it keeps any.
        """
        if self.order is None:
            self.order = self.rng.permutation(len(y))
            self.position = 0
            self.running = {}
            getattr(self.sampler, "take_tally", dict)()  # nothing spent before counts here
        bar = tqdm(total=len(y), initial=self.position, desc=f"epoch {self.epoch + 1}",
                   unit="img", disable=not progress, leave=False)
        with single_threaded_blas():
            while self.position < len(y):
                started = time.perf_counter()
                idx = self.order[self.position:self.position + self.batch_size]
                self.step(X[idx], y[idx])
                self.position += len(idx)
                self.running["seconds"] = (self.running.get("seconds", 0.0)
                                           + time.perf_counter() - started)
                bar.update(len(idx))
                if on_step is not None:
                    on_step(self)
        bar.close()
        row = {"epoch": self.epoch + 1, "seconds": self.running.get("seconds", 0.0),
               "train_error": error_rate(self.net, X, y)}
        for name, (Xe, ye) in (eval_sets or {}).items():
            row[f"{name}_error"] = error_rate(self.net, Xe, ye)
        updates = max(self.running.get("updates", 0), 1)
        for key, total in self.running.items():
            if key.startswith("gap_") or key == "free_correct":
                row[key] = total / updates
        tally = {k[len(TALLY):]: v for k, v in self.running.items() if k.startswith(TALLY)}
        if tally:  # the sampler's figures: its own summary of the totals, or the totals
            summarize = getattr(self.sampler, "summarize_tally", None)
            row.update(summarize(tally) if summarize is not None else tally)
        self.history.append(row)
        self.epoch += 1
        self.position = 0
        self.order = None
        self.running = {}
        return row
