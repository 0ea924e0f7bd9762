"""The scikit-learn style facade: :class:`LayerSweepClassifier`.

``__init__`` stores hyper-parameters only; ``fit`` validates the data, resolves
``random_state`` and trains; learnt attributes end in ``_``. The CLI is a thin layer over it.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .data import check_data
from .exceptions import (ArchitectureError, BlockTooLargeError, DataError, LostClassWarning,
                         NotFittedError, ResourceError)
from .network import Network, default_init_scale
from .rules import UPPER_WARMUP, LearningRates, check_hidden_decay, check_hidden_warmup
from .samplers import make_sampler
from .scheduler import LocalScheduler, make_scheduler
from .sweep import STARTS, SweepConfig, check_error_driven
from .train import (Trainer, check_average, check_shard_size, error_rate, greedy_stage,
                    memory_needed, physical_memory, predict, predict_states)

RULES = ("qp", "ep")
#: a deep net's default greedy start (epochs of the shallow stage), the measured best
GREEDY_EPOCHS = 5
#: where the free samples of a net with two hidden layers start by default: the top block's,
#: as the shallow net's QP, from the wrong classes' reference states; the lower block's from
#: random states (there a reference start holds a read in the wrong-class state of a top-down
#: descent, and a full anneal finds the low wrong states the update must raise)
DEEP_START = "top-reference"
#: ... and with three or more hidden layers: every block's from random states (with
#: top-reference starts 784-256-128-64-40 lost a class in one seed of six, README "Deep
#: networks")
DEEPER_START = "random"
#: a deep net's default averaging time constant in training images (see ``average``)
DEEP_AVERAGE = 3000
#: a deep net's default weight decay of its hidden-to-hidden couplings (see ``hidden_decay``)
DEEP_HIDDEN_DECAY = 0.5
#: the block that learns a deep net's hidden-to-hidden couplings by default (see
#: ``hidden_couplings``): the block above, from below, with error-driven reads and a warm-up
#: of their rate, the measured best at every depth (README "Deep networks": the inner
#: couplings do not train 784-256-128-64-40 and can lose a class of 784-120-120-40)
DEEP_HIDDEN_COUPLINGS = "upper"
#: a deep net's default fraction of error-driven reads (with reference-frozen reads)
DEEP_ERROR_DRIVEN = 0.25
#: a class counts as learnt once recalled for this fraction of its training images
LEARNT_RECALL = 0.5


class LayerSweepClassifier:
    """An Ising-spin network classifier trained by active-layer sweeps (QP or EP).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Spin units of each hidden layer; ``(120,)`` is the paper's 784-120-40 network.
    redundancy : int
        Output units per class; the output layer has ``classes * redundancy`` units.
    rule : {"qp", "ep"}
        Quantum propagation (``reads`` free samples per image) or equilibrium propagation
        (one free sample from a random start).
    reads : int or None
        m, free samples per image and block; None means 20 for QP (the paper's) and 1 for EP.
    start : {"reference", "random", "top-reference"} or None
        Where each free sample's anneal starts (QP): the reference states of wrong classes,
        random states, or, with ``"top-reference"``, reference states for the top block and
        random ones for the lower blocks. None: reference states for L = 2 (the paper's),
        ``"top-reference"`` with two hidden layers (measured better than either), random
        states with three or more (where top-reference starts can lose a class).
    cycles : int
        Cyclic annealing: restarts of each read from its lowest state so far.
    frozen_above : {"reference", "free"}
        For a lower block of a deep net: the frozen value of the layer above its free samples.
    sampler : str, dimod.Sampler or BlockSampler
        ``"numpy"`` (default), ``"neal"``, or a sampler object.
    sweeps, beta_range, reverse_beta :
        The annealing schedule of the named samplers (inverse temperatures in units of the
        block's typical field).
    epochs : int
        Passes over the training data in ``fit`` (0 builds the initial network only).
    batch_size : int
        Images per update; 1 is the paper's online training.
    lr_W, lr_b : float or sequence of float
        Learning rates of the couplings ``W^1..W^L`` and biases ``b^1..b^L``: one value for
        all layers, two (the shallow net's δW for the input side, δJ for the rest; a deep net
        takes δW/2 for ``W^1``, 2δJ/3 for each hidden-hidden coupling (δJ/6 if
        ``hidden_couplings="inner"``) and δJ/2 for the top)
        or one per layer (as given).
    init_scale : sequence of float or None
        Per-layer factor on the paper's initialisation ``U(±1/sqrt(n_{l-1}))``; None: the
        paper's for L = 2, ``(1, 0.4, ..., 0.4, 0.5)`` for a deep net.
    greedy_epochs : int or None
        Deep nets: the first ``greedy_epochs`` of the ``epochs`` train the shallow net input
        - first hidden layer - output (the paper's algorithm, at the two rates of ``lr_W``/
        ``lr_b``, or the first and last of per-layer ones); the deep net then continues from
        its ``W^1, b^1``. None: 5 for a deep net, 0 for L = 2.
    average : int or None
        Parameter averaging: predict with a moving average of the parameters over the last
        ``average`` training images (over the last quarter of the net's updates while fewer
        than ``4 * average`` images have been seen); 0 predicts with the parameters as
        trained. None: 3000 for a deep net (its online updates jitter the prediction from
        epoch to epoch), 0 for L = 2 (the paper's).
    hidden_decay : float or None
        Weight decay λ of the hidden-to-hidden couplings ``W^2..W^(L-1)`` (each update adds
        ``-rate * λ * W``): their block contrasts the true class with every wrong one, so
        without it they grow for as long as training lasts, their fields gain on the input's
        and the output's, and a class can be lost (measured with 4000 training digits).
        None: 0.5 for a deep net; L = 2 has no such coupling (a value > 0 is refused there).
    hidden_couplings : {"inner", "upper"} or None
        Deep nets: the block that learns each hidden-to-hidden coupling ``W^l, b^l``
        (``2 <= l < L``): ``"inner"``, block ``(l-1, l)`` with both its layers active
        (the sweep as first written: a class contrast), or ``"upper"``, block ``(l, l+1)`` with
        layer ``l-1`` frozen, as the shallow net learns its input coupling (in the top block:
        error-driven). It also picks the middle rate of two-value ``lr_W``/``lr_b`` (δJ/6
        inner, 2δJ/3 upper) and the defaults of ``error_driven`` and ``hidden_warmup``.
        None: ``"upper"`` (the measured best at every depth: the inner couplings do not
        train three hidden layers and can lose a class; L = 2 has no such coupling).
    error_driven : float or None
        Deep nets: the fraction of each lower block's free reads whose layer above is frozen
        at the block above's free samples (the network's own answer) instead of at a
        wrong-class reference state. None: 0.25 with ``"upper"`` couplings, else 0; L = 2
        has no lower block (a value > 0 is refused there).
    hidden_warmup : sequence of float or None
        Deep nets: factors in [0, 1] on the rates of the hidden-to-hidden couplings in the
        first epochs after the greedy start, one per epoch (empty: none). Learnt from below,
        their fast rate would let the upper layers, untrained at the hand-over, drag the
        layers below along with their first errors. None: ``(0.1, 0.3, 0.6)`` with
        ``"upper"`` couplings, none with ``"inner"``; L = 2 refuses one.
    max_block_spins : int or None
        The annealer's capacity: every block ``(l, l+1)`` must have ``n_l + n_{l+1}`` spins at
        most, or ``fit`` refuses the network before training starts.
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
    history_ : list of dict, one row per epoch
    loss_curve_ : list of float, the training error after each epoch
    """

    def __init__(self, hidden_layer_sizes=(120,), redundancy=4, rule="qp", reads=None,
                 start=None, cycles=1, frozen_above="reference", sampler="numpy",
                 sweeps=32, beta_range=(0.1, 4.0), reverse_beta=4.0, epochs=13, batch_size=10,
                 lr_W=(0.01, 0.003), lr_b=(0.01, 0.003), init_scale=None,
                 greedy_epochs=None, average=None, hidden_decay=None,
                 hidden_couplings=None, error_driven=None, hidden_warmup=None,
                 max_block_spins=None, shard_size=None,
                 scheduler="local", random_state=None, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.redundancy = redundancy
        self.rule = rule
        self.reads = reads
        self.start = start
        self.cycles = cycles
        self.frozen_above = frozen_above
        self.sampler = sampler
        self.sweeps = sweeps
        self.beta_range = beta_range
        self.reverse_beta = reverse_beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr_W = lr_W
        self.lr_b = lr_b
        self.init_scale = init_scale
        self.greedy_epochs = greedy_epochs
        self.average = average
        self.hidden_decay = hidden_decay
        self.hidden_couplings = hidden_couplings
        self.error_driven = error_driven
        self.hidden_warmup = hidden_warmup
        self.max_block_spins = max_block_spins
        self.shard_size = shard_size
        self.scheduler = scheduler
        self.random_state = random_state
        self.verbose = verbose

    # ---- scikit-learn plumbing ---------------------------------------------------------
    _PARAMS = ("hidden_layer_sizes", "redundancy", "rule", "reads", "start", "cycles",
               "frozen_above", "sampler", "sweeps", "beta_range", "reverse_beta", "epochs",
               "batch_size", "lr_W", "lr_b", "init_scale", "greedy_epochs", "average",
               "hidden_decay", "hidden_couplings", "error_driven", "hidden_warmup",
               "max_block_spins",
               "shard_size", "scheduler", "random_state", "verbose")

    def get_params(self, deep=True) -> dict:
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params):
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"unknown parameter {name!r}; valid: {', '.join(self._PARAMS)}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        return f"LayerSweepClassifier({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    # ---- building blocks ----------------------------------------------------------------
    def _check_params(self) -> None:
        """Refuse, naming the parameter, a value no run can use (before anything is built):
        one row of :data:`PARAM_CHECKS` per parameter; the depth-dependent ones are checked
        when the network's depth is known."""
        for name, (valid, expected) in PARAM_CHECKS.items():
            value = getattr(self, name)
            if not valid(value):
                raise ArchitectureError(f"{name} must be {expected}; got {value!r}")

    def _sweep_config(self, depth: int) -> SweepConfig:
        if self.rule not in RULES:
            raise ArchitectureError(f"rule must be one of {RULES}; got {self.rule!r}")
        if self.rule == "ep":
            if self.reads not in (None, 1):
                raise ArchitectureError(
                    f"rule='ep' uses one free sample per image; got reads={self.reads} "
                    f"(use rule='qp' for several samples)")
            reads, start = 1, "random"
        else:
            reads = 20 if self.reads is None else self.reads
            start = default_start(self.start, depth)
        couplings = default_hidden_couplings(self.hidden_couplings, depth)
        return SweepConfig(reads=reads, start=start, cycles=self.cycles,
                           frozen_above=self.frozen_above,
                           error_driven=default_error_driven(self.error_driven, depth,
                                                             self.frozen_above, couplings),
                           hidden_couplings=couplings)

    def _make_trainer(self, n_features: int, n_classes: int) -> Trainer:
        self._check_params()
        sizes = [n_features, *[int(n) for n in self.hidden_layer_sizes],
                 n_classes * int(self.redundancy)]
        check_capacity(sizes, self.max_block_spins)
        depth = len(sizes) - 1
        reads = 1 if self.rule == "ep" else 20 if self.reads is None else int(self.reads)
        check_memory(sizes, int(self.batch_size), reads)
        greedy = check_greedy_epochs(self.greedy_epochs, depth)
        couplings = default_hidden_couplings(self.hidden_couplings, depth)
        init_scale = default_init_scale(depth) if self.init_scale is None else self.init_scale
        rng = np.random.default_rng(self.random_state)
        net = Network.random(sizes, rng, classes=n_classes, redundancy=int(self.redundancy),
                             init_scale=init_scale)
        stage = greedy_stage(net, rng) if greedy else None
        schedule = {"sweeps": self.sweeps, "beta_range": tuple(self.beta_range),
                    "reverse_beta": self.reverse_beta}
        sampler = make_sampler(self.sampler, **schedule) if isinstance(self.sampler, str) \
            else make_sampler(self.sampler)
        return Trainer(net, sampler, self._sweep_config(net.depth),
                       LearningRates.broadcast(
                           self.lr_W, self.lr_b, net.depth,
                           default_hidden_decay(self.hidden_decay, depth), couplings,
                           default_hidden_warmup(self.hidden_warmup, depth, couplings)),
                       rng,
                       batch_size=int(self.batch_size), shard_size=self.shard_size,
                       greedy=greedy, stage=stage, stage_rates=(
                           LearningRates.shallow(self.lr_W, self.lr_b) if greedy else None),
                       average=default_average(self.average, depth))

    # ---- the estimator API --------------------------------------------------------------
    def fit(self, X, y, eval_sets=None, on_epoch=None, on_step=None):
        """Train a new network for ``epochs`` epochs on ``X`` ``(n, features)`` in [0, 1] and
        integer labels ``y`` ``(n,)`` in ``0..classes-1``.

        ``eval_sets``: ``{name: (X, y)}`` evaluated after every epoch (``history_`` gets
        ``{name}_error``); ``on_epoch(row, model)`` is called after every epoch and
        ``on_step(trainer)`` after every update.
        """
        self._check_params()
        if not _is_int(self.epochs, 0):
            raise ArchitectureError(f"epochs must be an integer >= 0 (0: the initial network, "
                                    f"untrained); got {self.epochs!r}")
        X, y = check_data(X, y)
        n_classes = int(y.max()) + 1
        if n_classes < 2:
            raise DataError("the training labels hold a single class (0); a classifier needs "
                            "at least two")
        check_data(X, y, classes=n_classes, all_classes=True)
        self.classes_ = np.arange(n_classes)
        self.n_features_in_ = X.shape[1]
        self.trainer_ = self._make_trainer(X.shape[1], n_classes)
        self._train(X, y, self.epochs, eval_sets, on_epoch, on_step)
        trainer = self.trainer_
        if trainer.staging and trainer.epoch:
            warnings.warn(f"fit ended after epoch {trainer.epoch}, inside the greedy start of "
                          f"{trainer.greedy} epochs: the deep net's upper layers are still "
                          f"untrained; use more than {trainer.greedy} epochs or lower "
                          f"greedy_epochs", stacklevel=2)
        return self

    def partial_fit(self, X, y, classes=None, eval_sets=None):
        """One more epoch over ``X, y`` (a new network on the first call, which needs
        ``classes``: the number of classes or the array of all class labels)."""
        if not hasattr(self, "trainer_"):
            if classes is None:
                raise DataError("the first call to partial_fit needs classes= (all class labels)")
            n_classes = int(classes) if np.ndim(classes) == 0 else int(np.max(classes)) + 1
            X, y = check_data(X, y, classes=n_classes)
            self.classes_ = np.arange(n_classes)
            self.n_features_in_ = X.shape[1]
            self.trainer_ = self._make_trainer(X.shape[1], n_classes)
        else:
            X, y = check_data(X, y, features=self.n_features_in_, classes=len(self.classes_))
        return self._train(X, y, self.trainer_.epoch + 1, eval_sets, None, None)

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
        X, y = check_data(X, y, features=self.n_features_in_, classes=len(self.classes_))
        return self._train(X, y, epochs, eval_sets, on_epoch, on_step)

    def _train(self, X, y, epochs, eval_sets, on_epoch, on_step):
        checked = {name: check_data(Xe, ye, features=X.shape[1], classes=len(self.classes_))
                   for name, (Xe, ye) in (eval_sets or {}).items()}
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

    def predict(self, X) -> np.ndarray:
        """Class of each row of ``X``; ``-1`` where the output names no single class."""
        self._check_fitted()
        return predict(self.network_, check_data(X, features=self.n_features_in_))

    def predict_states(self, X) -> list:
        """The ground states found for ``X``: ``[None, (n, n_1), ..., (n, n_L)]`` spins."""
        self._check_fitted()
        return predict_states(self.network_, check_data(X, features=self.n_features_in_))

    def score(self, X, y) -> float:
        """Mean accuracy; a tie counts as wrong."""
        self._check_fitted()
        X, y = check_data(X, y, features=self.n_features_in_, classes=len(self.classes_))
        return 1.0 - error_rate(self.network_, X, y)


def default_start(start, depth: int) -> str:
    """Where QP's free samples start: None means reference states when L = 2,
    :data:`DEEP_START` with two hidden layers and :data:`DEEPER_START` with more."""
    if start is None:
        return "reference" if depth == 2 else DEEP_START if depth == 3 else DEEPER_START
    return start


def default_average(average, depth: int) -> int:
    """The averaging time constant in images: None means :data:`DEEP_AVERAGE` for a deep net
    and 0 (no averaging) for L = 2."""
    if average is None:
        return DEEP_AVERAGE if depth > 2 else 0
    check_average(average)
    return int(average)


def default_hidden_decay(hidden_decay, depth: int) -> float:
    """The weight decay of the hidden-to-hidden couplings: None means
    :data:`DEEP_HIDDEN_DECAY` for a deep net and 0 for L = 2 (which has none)."""
    if hidden_decay is None:
        return DEEP_HIDDEN_DECAY if depth > 2 else 0.0
    value = check_hidden_decay(hidden_decay)
    if value and depth <= 2:
        raise ArchitectureError(f"hidden_decay={hidden_decay} needs a deep net (two or more "
                                f"hidden layers); the L = 2 net has no hidden-to-hidden coupling")
    return value


def default_hidden_couplings(hidden_couplings, depth: int) -> str:
    """The block that learns the hidden-to-hidden couplings: None means
    :data:`DEEP_HIDDEN_COUPLINGS` (a given value is checked by :class:`SweepConfig`; L = 2
    has no such coupling and ignores it)."""
    if hidden_couplings is None:
        return DEEP_HIDDEN_COUPLINGS if depth > 2 else "inner"
    return hidden_couplings


def default_error_driven(error_driven, depth: int, frozen_above: str = "reference",
                         hidden_couplings: str = DEEP_HIDDEN_COUPLINGS) -> float:
    """The fraction of a lower block's reads that are error-driven: None means
    :data:`DEEP_ERROR_DRIVEN` for a deep net that learns its hidden-to-hidden couplings from
    below with reference-frozen reads (``frozen_above="free"`` reads are all error-driven
    already; with the inner couplings they cost accuracy) and 0 otherwise."""
    if error_driven is None:
        return DEEP_ERROR_DRIVEN if (depth > 2 and frozen_above == "reference"
                                     and hidden_couplings == "upper") else 0.0
    return check_error_driven(error_driven, depth)


def default_hidden_warmup(hidden_warmup, depth: int, hidden_couplings: str) -> tuple:
    """The warm-up of the hidden-to-hidden couplings' rates: None means
    :data:`~layersweep.rules.UPPER_WARMUP` when a deep net learns them from below (their
    fast, error-driven rate) and none otherwise."""
    if hidden_warmup is None:
        return UPPER_WARMUP if depth > 2 and hidden_couplings == "upper" else ()
    return check_hidden_warmup(hidden_warmup, depth)


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


def check_greedy_epochs(greedy_epochs, depth: int) -> int:
    """The epochs of a greedy start: None means 5 for a deep net and 0 for L = 2."""
    if greedy_epochs is None:
        return GREEDY_EPOCHS if depth > 2 else 0
    if not isinstance(greedy_epochs, numbers.Integral) or isinstance(greedy_epochs, bool) \
            or greedy_epochs < 0:
        raise ArchitectureError(f"greedy_epochs must be a non-negative integer or None; got "
                                f"{greedy_epochs!r}")
    if greedy_epochs and depth <= 2:
        raise ArchitectureError(f"greedy_epochs={greedy_epochs} needs a deep net (two or more "
                                f"hidden layers); the L = 2 net is the greedy stage itself")
    return int(greedy_epochs)


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
    "rule": (lambda v: v in RULES, f"one of {RULES}"),
    "reads": (_is_optional_int(1), "an integer >= 1 or None"),
    "start": (lambda v: v is None or v in STARTS, f"one of {STARTS} or None"),
    "cycles": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "frozen_above": (lambda v: v in ("reference", "free"), "'reference' or 'free'"),
    "batch_size": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "max_block_spins": (_is_optional_int(2), "an integer >= 2 or None"),
    "random_state": (_is_seed, "None, an integer >= 0 or a numpy.random.Generator"),
}


def check_memory(sizes, batch_size: int, reads: int, available: int | None = None) -> None:
    """Refuse, before anything is allocated, a run whose arrays cannot fit in memory
    (``available`` bytes; default: this machine's physical memory), with the memory it would
    need (:func:`~layersweep.train.memory_needed`)."""
    needed = memory_needed(sizes, batch_size, reads)
    available = physical_memory() if available is None else available
    if available and needed > available:
        raise ResourceError(
            f"layers {','.join(map(str, sizes))} with {reads} reads of {batch_size} images per "
            f"update need about {_gib(needed)} of memory for their arrays; this machine has "
            f"{_gib(available)}: use narrower layers, fewer reads or a smaller batch")


def _gib(n: int) -> str:
    return f"{n / 2 ** 30:,.0f} GiB" if n >= 2 ** 30 else f"{n / 2 ** 20:,.0f} MiB"


def check_capacity(sizes, max_block_spins) -> None:
    """Refuse, before any training, a network with a block larger than the annealer holds."""
    if max_block_spins is None:
        return
    for l in range(1, len(sizes) - 2):
        spins = sizes[l] + sizes[l + 1]
        if spins > max_block_spins:
            raise BlockTooLargeError(
                f"block ({l}, {l + 1}) has {sizes[l]} + {sizes[l + 1]} = {spins} spins, more "
                f"than the annealer's capacity of {max_block_spins} (layers {sizes}): use "
                f"narrower layers or a larger annealer")
