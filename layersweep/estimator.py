"""The scikit-learn style facade: :class:`LayerSweepClassifier`.

``__init__`` stores hyper-parameters only; ``fit`` validates the data, resolves
``random_state`` and trains; learnt attributes end in ``_``. The CLI is a thin layer over it.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .data import check_data
from .exceptions import (ArchitectureError, DataError, LostClassWarning, NotFittedError,
                         ResourceError, SamplerError)
from .network import Network
from .recipe import Plan, resolve
from .sweep import class_energies
from .samplers import make_sampler
from .scheduler import LocalScheduler, make_scheduler
from .train import (Trainer, check_shard_size, error_rate, greedy_stage, memory_needed,
                    physical_memory, predict_states)

#: a class counts as learnt once recalled for this fraction of its training images
LEARNT_RECALL = 0.5


class LayerSweepClassifier(ClassifierMixin, BaseEstimator):
    """An Ising-spin network classifier trained by active-layer sweeps (QP or EP).

    A scikit-learn estimator: ``fit``/``partial_fit``/``predict``/``predict_proba``/
    ``decision_function``/``score``, parameters validated in ``fit`` (errors name them), any
    class labels. Inputs are the first layer's fields through ``W^1``: any finite reals; the
    paper's convention is pixels scaled to [0, 1].

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Spin units of each hidden layer; ``(120,)`` is the paper's 784-120-40 network.
    redundancy : int
        Output units per class; the output layer has ``classes * redundancy`` units.
    recipe : Recipe, dict or None
        How the run trains: every training heuristic (rule, reads m, starts, rates, the
        deep-net defaults) is a field of :class:`~layersweep.recipe.Recipe`, documented
        there; a dict gives some of its fields, None the defaults. Fields left at None take
        their default for the network's depth (:func:`~layersweep.recipe.resolve`).
    sampler : str, dimod.Sampler or BlockSampler
        ``"numpy"`` (default), ``"neal"``, or a sampler object.
    sweeps, beta_range, reverse_beta :
        The annealing schedule of the named samplers (inverse temperatures in units of the
        block's typical field).
    epochs : int
        Passes over the training data in ``fit`` (0 builds the initial network only).
    batch_size : int
        Images per update; 1 is the paper's online training.
    max_block_spins : int or None
        The annealer's capacity: every block the run anneals (the top one and a greedy
        stage's included) must have ``n_l + n_{l+1}`` spins at most, or ``fit`` refuses the
        network before training starts.
    shard_size : int or None
        Images per task within a minibatch; None: each minibatch is one task. Shards are
        sampled from seeds of their own, so the numbers depend on ``shard_size`` (and not on
        ``scheduler``).
    scheduler : str, distributed.Client or scheduler object
        Where shards run: ``"local"`` (this process), ``"processes[:N]"`` (a Dask
        LocalCluster, started and closed by each ``fit``/``partial_fit``/``train_to``), an
        address ``"tcp://host:8786"``, or a ``distributed.Client`` (kept open).
    random_state : int, numpy Generator or None
        The one source of randomness (initialisation, shuffles, samplers).
    verbose : bool
        Show a progress bar per epoch.

    Attributes
    ----------
    network_ : Network
        The network that predicts: the averaged parameters when averaging, else the trained
        ones (``trainer_.net``).
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted (as ``numpy.unique`` sorts them).
    n_features_in_ : int
        Features of the inputs seen in ``fit``.
    history_ : list of dict, one row per epoch
    loss_curve_ : list of float, the training error after each epoch
    """

    def __init__(self, hidden_layer_sizes=(120,), redundancy=4, recipe=None, sampler="numpy",
                 sweeps=32, beta_range=(0.1, 4.0), reverse_beta=4.0, epochs=13, batch_size=10,
                 max_block_spins=None, shard_size=None, scheduler="local", random_state=None,
                 verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.redundancy = redundancy
        self.recipe = recipe
        self.sampler = sampler
        self.sweeps = sweeps
        self.beta_range = beta_range
        self.reverse_beta = reverse_beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.max_block_spins = max_block_spins
        self.shard_size = shard_size
        self.scheduler = scheduler
        self.random_state = random_state
        self.verbose = verbose

    # ---- building blocks ----------------------------------------------------------------
    def _check_params(self) -> None:
        """Refuse, naming the parameter, a value no run can use (before anything is built):
        one row of :data:`PARAM_CHECKS` per parameter; the depth-dependent ones are checked
        when the network's depth is known."""
        for name, (valid, expected) in PARAM_CHECKS.items():
            value = getattr(self, name)
            if not valid(value):
                raise ArchitectureError(f"{name} must be {expected}; got {value!r}")

    def plan(self, n_features: int, n_classes: int) -> Plan:
        """The run's :class:`~layersweep.recipe.Plan` for data of ``n_features`` features and
        ``n_classes`` classes: the recipe resolved for the architecture, its blocks and the
        sampler calls of each training step."""
        self._check_params()
        sizes = [n_features, *[int(n) for n in self.hidden_layer_sizes],
                 n_classes * int(self.redundancy)]
        return resolve(self.recipe, sizes, self.epochs)

    def _make_trainer(self, n_features: int, n_classes: int) -> Trainer:
        plan = self.plan(n_features, n_classes)
        plan.check_capacity(self.max_block_spins)
        sizes, recipe = list(plan.sizes), plan.recipe
        check_memory(sizes, int(self.batch_size), recipe.reads,
                     self.sweeps if isinstance(self.sweeps, int) else 0)
        rng = np.random.default_rng(self.random_state)
        net = Network.random(sizes, rng, classes=n_classes, redundancy=int(self.redundancy),
                             init_scale=recipe.init_scale)
        stage = greedy_stage(net, rng) if recipe.greedy_epochs else None
        schedule = {"sweeps": self.sweeps, "beta_range": tuple(self.beta_range),
                    "reverse_beta": self.reverse_beta}
        sampler = make_sampler(self.sampler, **schedule) if isinstance(self.sampler, str) \
            else make_sampler(self.sampler)
        check_sampler(plan, sampler)
        return Trainer(net, sampler, plan.sweep(), plan.rates, rng,
                       batch_size=int(self.batch_size), shard_size=self.shard_size,
                       greedy=recipe.greedy_epochs, stage=stage, stage_rates=plan.stage_rates,
                       average=recipe.average)

    # ---- the estimator API --------------------------------------------------------------
    def fit(self, X, y, eval_sets=None, on_epoch=None, on_step=None):
        """Train a new network for ``epochs`` epochs on ``X`` ``(n, features)`` and labels
        ``y`` ``(n,)`` (any labels: integers, strings; at least two classes).

        Inputs are the first layer's fields through ``W^1``: any finite reals work; pixels
        scaled to [0, 1] are the paper's convention. ``eval_sets``: ``{name: (X, y)}``
        evaluated after every epoch (``history_`` gets ``{name}_error``); ``on_epoch(row,
        model)`` is called after every epoch and ``on_step(trainer)`` after every update.
        """
        self._check_params()
        if y is None:
            raise DataError("LayerSweepClassifier requires y to be passed, but the target y is "
                            "None")
        X, y = self._validate(X, y, reset=True)
        classes, encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise DataError(f"the training labels hold one class ({classes[0]!r}); a "
                            f"classifier needs at least two")
        self.classes_ = classes
        self.trainer_ = self._make_trainer(X.shape[1], len(classes))
        self._train(X, encoded.reshape(-1), self.epochs, eval_sets, on_epoch, on_step)
        trainer = self.trainer_
        if trainer.staging and trainer.epoch:
            warnings.warn(f"fit ended after epoch {trainer.epoch}, inside the greedy start of "
                          f"{trainer.greedy} epochs: the deep net's upper layers are still "
                          f"untrained; use more than {trainer.greedy} epochs or lower "
                          f"greedy_epochs", stacklevel=2)
        return self

    def partial_fit(self, X, y, classes=None, eval_sets=None):
        """One more epoch over ``X, y`` (a new network on the first call, which needs
        ``classes``: every class label the data will hold, or their number for labels
        ``0..classes-1``)."""
        if not hasattr(self, "trainer_"):
            if classes is None:
                raise DataError("the first call to partial_fit needs classes= (all class labels)")
            self._check_params()
            labels = np.arange(int(classes)) if np.ndim(classes) == 0 else np.unique(classes)
            if len(labels) < 2:
                raise DataError("a classifier needs at least two classes")
            X, y = self._validate(X, y, reset=True)
            self.classes_ = labels
            self.trainer_ = self._make_trainer(X.shape[1], len(labels))
        else:
            X, y = self._validate(X, y, reset=False)
        return self._train(X, self._encode(y), self.trainer_.epoch + 1, eval_sets, None, None)

    def _validate(self, X, y=None, reset: bool = False):
        """scikit-learn's input validation (2-D, finite, numeric; ``n_features_in_``), then
        float32 for the network."""
        if y is None:
            X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
            return check_data(X, unit_range=False)
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        return check_data(X, unit_range=False), y

    def _encode(self, y) -> np.ndarray:
        """Labels as indices into ``classes_``; a label not among them is refused."""
        y = np.asarray(y)
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise DataError(f"y holds label(s) {sorted(set(y[unknown].tolist()))[:5]} that are "
                            f"not among the classes {self.classes_.tolist()}")
        return index.astype(np.int64)

    def resume(self, trainer: Trainer, n_features: int) -> "LayerSweepClassifier":
        """Adopt a trainer restored from a checkpoint (its network, generator and position)."""
        self.trainer_ = trainer
        self.classes_ = np.arange(trainer.net.classes)
        self.n_features_in_ = n_features
        return self

    def restore_checkpoint(self, saved) -> "LayerSweepClassifier":
        """Continue the run a checkpoint holds (``saved``: a path or what
        :func:`layersweep.checkpoint.load` returned).

        The sampler, sweep and learning rates come from this model's hyper-parameters (give it
        the run's); the network, generator state, epoch, position in the epoch and history come
        from the file, so ``train_to`` then continues exactly where the saved run stopped.
        """
        from . import checkpoint

        if not isinstance(saved, dict):
            saved = checkpoint.load(saved)
        net = saved["network"]
        trainer = self._make_trainer(net.sizes[0], net.classes)
        checkpoint.restore(trainer, saved)
        return self.resume(trainer, net.sizes[0])

    def train_to(self, X, y, epochs, eval_sets=None, on_epoch=None, on_step=None):
        """Continue training until ``epochs`` epochs in total have run."""
        self._check_fitted()
        X, y = self._validate(X, y, reset=False)
        return self._train(X, self._encode(y), epochs, eval_sets, on_epoch, on_step)

    def _train(self, X, y, epochs, eval_sets, on_epoch, on_step):
        checked = {}
        for name, (Xe, ye) in (eval_sets or {}).items():
            Xe, ye = self._validate(Xe, ye)
            checked[name] = (Xe, self._encode(ye))
        trainer = self.trainer_
        check_shard_size(self.shard_size)
        trainer.shard_size = self.shard_size
        scheduler = make_scheduler(self.scheduler)
        if scheduler.distributed and (self.shard_size is None
                                      or self.shard_size >= self.batch_size):
            warnings.warn(f"scheduler {scheduler.spec!r} gets no work: every minibatch of "
                          f"{self.batch_size} images is one shard; set shard_size below "
                          f"batch_size to split updates into tasks", stacklevel=3)
        trainer.scheduler = scheduler
        start = trainer.epoch
        try:
            while trainer.epoch < epochs:
                row = trainer.run_epoch(X, y, checked, progress=self.verbose, on_step=on_step)
                if on_epoch is not None:
                    on_epoch(row, self)
        finally:
            trainer.scheduler = LocalScheduler()
            if isinstance(self.scheduler, str):  # started here: closed here
                scheduler.close()
        if trainer.epoch > start:
            hint = ""
            if trainer.net.depth > 2 and trainer.sweep.hidden_couplings == "inner":
                hint = ("; the default hidden_couplings='upper' with error-driven reads "
                        "(--hidden-couplings upper) kept every class where 'inner' lost one "
                        "(README \"Deep networks\")")
            warn_lost_class(trainer.history, len(self.classes_), hint)
        return self

    def _check_fitted(self):
        if not hasattr(self, "trainer_"):
            raise NotFittedError("this LayerSweepClassifier is not fitted yet: call fit first")

    @property
    def network_(self) -> Network:
        self._check_fitted()
        return self.trainer_.predictor

    @property
    def history_(self) -> list:
        self._check_fitted()
        return self.trainer_.history

    @property
    def loss_curve_(self) -> list:
        return [row["train_error"] for row in self.history_]

    def decision_function(self, X) -> np.ndarray:
        """``(n, n_classes)``: ``-E_c(x) / T(x)``, minus the lowest energy with the output
        clamped to class ``c``'s pattern, in units of the block's temperature ``T(x)`` (its
        field scale, the unit in which the annealers measure temperature); see
        :func:`~layersweep.sweep.class_energies`. The larger, the likelier the class."""
        self._check_fitted()
        X = self._validate(X)
        energies, temperature = class_energies(self.network_, X)
        scores = -energies / temperature[:, None]
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict_proba(self, X) -> np.ndarray:
        """``(n, n_classes)`` class probabilities: the Boltzmann weights of the class-clamped
        minima at the block's temperature, ``p_c ∝ exp(-E_c / T)``.

        Why these: the network assigns each class the energy of its best state with the output
        clamped to that class (the state the nudge pulls towards), and the annealer samples
        near-Boltzmann at temperatures in units of the block's field scale; at ``T`` equal to
        that scale the weights of the class minima are the chance that a thermal state sits
        in each class's basin, to the extent the minima dominate their basins. Measured on
        784-120-40 (3900 held-out digits), the log-loss falls from 1.28 after one epoch to
        0.51 after 3 and 0.42 after 13, against 2.30 for the uniform guess.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:  # two classes: the score of the second against the first
            scores = np.stack([np.zeros_like(scores), scores], axis=1)
        scores = scores - scores.max(axis=1, keepdims=True)
        weights = np.exp(scores)
        return weights / weights.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The class of each row of ``X`` whose clamped minimum is lowest (the largest
        :meth:`decision_function`, the likeliest under :meth:`predict_proba`): deterministic,
        row by row. The paper's inference, the output group of the ground state found by
        descents and an anneal (a tie counting as wrong), is :meth:`predict_states` and
        :meth:`error_rate`. Trained, the two agree: on 99.4% of 3900 held-out digits for
        784-120-40 after 13 epochs, on all of them for 784-120-120-40 after 20."""
        scores = self.decision_function(X)
        best = (scores > 0).astype(np.int64) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[best]

    def predict_states(self, X) -> list:
        """The ground states found for ``X``: ``[None, (n, n_1), ..., (n, n_L)]`` spins."""
        self._check_fitted()
        return predict_states(self.network_, self._validate(X))

    def error_rate(self, X, y) -> float:
        """The paper's error: the fraction of rows not recalled, a tie between output groups
        counting as wrong (what ``history_`` records)."""
        self._check_fitted()
        X, y = self._validate(X, y)
        return error_rate(self.network_, X, self._encode(y))


def warn_lost_class(history: list, classes: int, hint: str = "") -> None:
    """A :class:`LostClassWarning` (message ending in ``hint``) when the last epoch of
    ``history`` recalls one class for fewer of its training images than guessing would
    (1 / ``classes``) although an earlier epoch recalled every class for at least half of
    them: the network learnt that class and lost it. Greedy-stage epochs do not count."""
    rows = [row for row in history if not row.get("greedy") and "worst_recall" in row]
    if not rows or rows[-1] is not history[-1] or rows[-1]["worst_recall"] >= 1.0 / classes \
            or not any(row["worst_recall"] >= LEARNT_RECALL for row in rows[:-1]):
        return
    row = rows[-1]
    warnings.warn(LostClassWarning(
        f"after epoch {row['epoch']} the network predicts class {row['worst_class']} for "
        f"{100 * row['worst_recall']:.1f}% of its training images (training error "
        f"{100 * row['train_error']:.1f}%), after an epoch that recalled every class for at "
        f"least {100 * LEARNT_RECALL:.0f}% of them: it has lost that class{hint}"),
        stacklevel=4)


def _is_int(value, minimum: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) \
        and value >= minimum


def _is_optional_int(minimum: int):
    return lambda value: value is None or _is_int(value, minimum)


def _is_seed(value) -> bool:
    return value is None or _is_int(value, 0) or isinstance(value, np.random.Generator)


def _is_sizes(value) -> bool:
    try:
        return len(value) >= 1 and all(_is_int(n, 1) for n in value)
    except TypeError:
        return False


#: ``{parameter: (valid(value), what it must be)}``: the checks every ``fit`` makes first
PARAM_CHECKS = {
    "hidden_layer_sizes": (_is_sizes, "a non-empty sequence of integers >= 1"),
    "redundancy": (lambda v: _is_int(v, 1), "an integer >= 1 (output units per class)"),
    "epochs": (lambda v: _is_int(v, 0), "an integer >= 0 (0: the initial network, untrained)"),
    "batch_size": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "max_block_spins": (_is_optional_int(2), "an integer >= 2 or None"),
    "random_state": (_is_seed, "None, an integer >= 0 or a numpy.random.Generator"),
}


def check_sampler(plan: Plan, sampler) -> None:
    """Refuse, before any training, a sampler the plan cannot use: amplified free samples
    need one with ``sample_marked`` (a coherent annealer), and a state-vector sampler holds
    blocks of at most its ``max_qubits``."""
    if plan.recipe.amplify != "none" and not hasattr(sampler, "sample_marked"):
        raise SamplerError(f"recipe amplify={plan.recipe.amplify!r} needs a coherent annealer "
                           f"that can run its anneal backwards (sampler 'statevector'); got "
                           f"{type(sampler).__name__}")
    plan.check_capacity(getattr(sampler, "max_qubits", None))


def check_memory(sizes, batch_size: int, reads: int, sweeps: int = 0,
                 available: int | None = None) -> None:
    """Refuse, before anything is allocated, a run whose arrays cannot fit in memory
    (``available`` bytes; default: this machine's physical memory), with the memory it would
    need (:func:`~layersweep.train.memory_needed`)."""
    needed = memory_needed(sizes, batch_size, reads, sweeps)
    available = physical_memory() if available is None else available
    if available and needed > available:
        raise ResourceError(
            f"layers {','.join(map(str, sizes))} with {reads} reads of {batch_size} images per "
            f"update{f' and {sweeps} sweeps' if sweeps else ''} need about {_gib(needed)} of "
            f"memory for their arrays; this machine has {_gib(available)}: use narrower layers, "
            f"fewer reads or sweeps, or a smaller batch")


def _gib(n: int) -> str:
    return f"{n / 2 ** 30:,.0f} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:,.0f} MiB"
