"""How a run trains (:class:`Recipe`) and what it does for an architecture (:class:`Plan`).

Every training heuristic is one field of the recipe. Its meaning, its validation, its
command-line option and the value older run files imply are one row of :data:`FIELDS`; its
default, where it depends on the network's depth, is set by :func:`resolve`, the only place in
the package that branches on depth. ``resolve(recipe, sizes)`` returns the run's
:class:`Plan`: the resolved recipe, the per-layer rates, and the blocks each stage anneals in
order with what every training step asks of the sampler.

The defaults below are measured (``experiments/depth.md``); each change of one is recorded,
with its measurement, in ``CHANGELOG.md``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .exceptions import ArchitectureError, BlockTooLargeError
from .rules import LearningRates
from .sweep import (AMPLIFY, FROZEN_ABOVE, HIDDEN_COUPLINGS, STARTS, SweepConfig,
                    check_error_driven)

RULES = ("qp", "ep")

# ---- the measured defaults of deep nets (two or more hidden layers) --------------------------
#: epochs of the greedy start (the shallow stage)
GREEDY_EPOCHS = 5
#: where free samples start with two hidden layers; with three or more: random states (with
#: top-reference starts 784-256-128-64-40 lost a class in one seed of six)
DEEP_START, DEEPER_START = "top-reference", "random"
#: the averaging time constant, in training images
DEEP_AVERAGE = 3000
#: the weight decay of the hidden-to-hidden couplings
DEEP_HIDDEN_DECAY = 0.5
#: the block that learns the hidden-to-hidden couplings (the inner couplings do not train
#: three hidden layers and can lose a class of 784-120-120-40)
DEEP_HIDDEN_COUPLINGS = "upper"
#: the fraction of error-driven reads (with reference-frozen reads and upper couplings)
DEEP_ERROR_DRIVEN = 0.25
#: the warm-up of the hidden-to-hidden couplings' rates learnt from below
UPPER_WARMUP = (0.1, 0.3, 0.6)
#: factors on the paper's initialisation: W^1, each hidden-hidden coupling, the top coupling
DEEP_INIT_SCALE = (1.0, 0.4, 0.5)
#: how two rates (δW, δJ), the shallow net's, spread over a deep net's couplings: W^1 gets
#: δW x 1/2, each hidden-hidden coupling δJ x 1/6 learnt inside its block ("inner", a class
#: contrast kept slow) or δJ x 2/3 learnt from below ("upper"), the top coupling δJ x 1/2
DEEP_RATE_FACTORS = {"inner": (0.5, 1.0 / 6.0, 0.5), "upper": (0.5, 2.0 / 3.0, 0.5)}


# ---- validation of one value -----------------------------------------------------------------
def _integer(minimum: int, optional: bool = False):
    def check(name, value):
        if optional and value is None:
            return None
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
            raise ArchitectureError(f"{name} must be an integer >= {minimum}"
                                    f"{' or None' if optional else ''}; got {value!r}")
        return int(value)
    return check


def _choice(options, optional: bool = False):
    def check(name, value):
        if (optional and value is None) or value in options:
            return value
        raise ArchitectureError(f"{name} must be one of {options}"
                                f"{' or None' if optional else ''}; got {value!r}")
    return check


def _fraction(name, value):
    return None if value is None else check_error_driven(value)


def _decay(name, value):
    """A weight decay: a finite number >= 0 (or None)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise ArchitectureError(f"{name} must be a finite number >= 0 (0: no weight decay); "
                                f"got {value!r}")
    return number


def _warmup(name, value):
    """A warm-up: a sequence of rate factors in [0, 1], one per epoch (empty: none; or
    None)."""
    if value is None:
        return None
    try:
        values = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if isinstance(value, (bool, str)) or values.ndim != 1 \
            or not np.all((values >= 0) & (values <= 1)):
        raise ArchitectureError(f"{name} must be a sequence of rate factors in [0, 1], one per "
                                f"epoch of the warm-up (empty: none); got {value!r}")
    return tuple(float(v) for v in values)


def _rates(name, value):
    try:
        values = tuple(float(v) for v in ([value] if isinstance(value, numbers.Real)
                                          else value))
    except (TypeError, ValueError):
        values = ()
    if not values or isinstance(value, (bool, str)) \
            or any(not math.isfinite(v) or v < 0 for v in values):
        raise ArchitectureError(f"{name} must be one learning rate, two (the input couplings', "
                                f"the others') or one per coupling layer, each finite and "
                                f">= 0; got {value!r}")
    return values


def _scales(name, value):
    if value is None:
        return None
    try:
        values = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        values = ()
    if not values or isinstance(value, str) or any(not math.isfinite(v) or v <= 0
                                                   for v in values):
        raise ArchitectureError(f"{name} must be factors > 0, finite, one per coupling layer; "
                                f"got {value!r}")
    return values


# ---- parsing one command-line value (a ValueError says what was expected) --------------------
def _parse_numbers(text: str):
    """``"0.1,0.3"`` -> ``(0.1, 0.3)``; ``"none"`` -> ``()``."""
    if str(text).strip().lower() == "none":
        return ()
    try:
        return tuple(float(v) for v in str(text).split(","))
    except ValueError:
        raise ValueError(f"expected comma-separated numbers (or 'none'); got {text!r}") from None


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected an integer; got {text!r}") from None


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"expected a number; got {text!r}") from None


@dataclass(frozen=True)
class Field:
    """One row of :data:`FIELDS`: a recipe field.

    ``doc``: what it means (one line, also the option's help); ``check(name, value)``: the
    validated value, or :class:`ArchitectureError` naming the field; ``parse(text)``: the
    command-line text as a value (``None``: as ``check`` takes it); ``metavar``: the option's
    placeholder; ``default``: the default where it does not depend on depth (else None, and
    ``by_depth`` says how :func:`resolve` chooses it); ``before``: what a run file written
    before the field existed implies (``None``: the field was always recorded).
    """

    name: str
    doc: str
    check: Callable
    parse: Callable | None = None
    metavar: str | None = None
    choices: tuple | None = None
    default: object = None
    by_depth: str = ""
    before: object = None

    @property
    def option(self) -> str:
        """The command-line option: ``--reads``, ``--lr-w``, ..."""
        return "--" + self.name.lower().replace("_", "-")

    def help(self) -> str:
        default = self.by_depth or f"default {_show(self.default)}"
        return f"{self.doc} ({default})"


def _show(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) or "none"
    return str(value)


#: every recipe field, in the order of :class:`Recipe`
FIELDS = {f.name: f for f in [
    Field("rule", "quantum propagation (m free samples per image) or equilibrium propagation "
          "(one free sample from a random start)", _choice(RULES), choices=RULES, default="qp"),
    Field("reads", "m, free samples per image and block", _integer(1, optional=True),
          _parse_int, "M", by_depth="default 20 for qp, 1 for ep"),
    Field("start", "where free samples' anneals start: the wrong classes' reference states, "
          "random states, or top-reference (the top block's from reference states, the lower "
          "blocks' from random ones)", _choice(STARTS, optional=True), choices=STARTS,
          by_depth="default reference for one hidden layer, top-reference for two, random "
                   "for more; random for ep"),
    Field("cycles", "cyclic annealing: restarts of each read from its lowest state so far",
          _integer(1), _parse_int, "C", default=1),
    Field("frozen_above", "deep nets: the frozen value of the layer above a lower block's free "
          "samples", _choice(FROZEN_ABOVE), choices=FROZEN_ABOVE, default="reference"),
    Field("lr_W", "coupling learning rates: one, two (the shallow net's input and output "
          "rates, spread over a deep net's couplings) or one per coupling layer",
          _rates, _parse_numbers, "R1,R2,...", default=(0.01, 0.003)),
    Field("lr_b", "bias learning rates, as lr_W", _rates, _parse_numbers, "R1,R2,...",
          default=(0.01, 0.003)),
    Field("init_scale", "factors on the paper's initialisation U(±1/sqrt(n)), one per "
          "coupling layer", _scales, _parse_numbers, "S1,S2,...",
          by_depth="default the paper's for one hidden layer, 1,0.4,...,0.4,0.5 for more"),
    Field("greedy_epochs", "deep nets: the first N epochs train the shallow net input - first "
          "hidden layer - output; the deep net then continues from its input couplings",
          _integer(0, optional=True), _parse_int, "N", by_depth="default 5 for a deep net",
          before=0),
    Field("average", "predict with the parameters averaged over about N training images (0: "
          "as trained)", _integer(0, optional=True), _parse_int, "N",
          by_depth="default 3000 for a deep net, 0 for one hidden layer", before=0),
    Field("hidden_decay", "deep nets: weight decay of the hidden-to-hidden couplings", _decay,
          _parse_float, "L", by_depth="default 0.5 for a deep net", before=0.0),
    Field("hidden_couplings", "deep nets: the block that learns each hidden-to-hidden "
          "coupling: 'upper', the block above it, from its frozen layer below, or 'inner', "
          "the block of its two layers", _choice(HIDDEN_COUPLINGS, optional=True),
          choices=HIDDEN_COUPLINGS, by_depth="default upper", before="inner"),
    Field("error_driven", "deep nets: fraction of a lower block's reads with the layer above "
          "at the block above's free samples instead of a wrong class", _fraction, _parse_float, "F",
          by_depth="default 0.25 with upper couplings and reference-frozen reads, else 0",
          before=0.0),
    Field("hidden_warmup", "deep nets: factors on the hidden-to-hidden couplings' rates in "
          "the first deep epochs, or 'none'", _warmup, _parse_numbers, "F1,F2,...",
          by_depth="default 0.1,0.3,0.6 with upper couplings, none with inner", before=()),
    Field("amplify", "one hidden layer, a coherent annealer (the statevector sampler): draw "
          "free samples by amplitude amplification of the wrong-class component: 'split' "
          "(half of m amplified, half plain, weighted by the estimated |A|^2: unbiased), "
          "'literal' (all m amplified: biased) or 'none'", _choice(AMPLIFY), choices=AMPLIFY,
          default="none", before="none"),
]}


@dataclass
class Recipe:
    """How a run trains: every heuristic a field (see :data:`FIELDS` for each one's meaning).

    A field left at ``None`` takes its default for the network's depth when the recipe is
    resolved (:func:`resolve`). A recipe is a scikit-learn style parameter object
    (``get_params``/``set_params``), so ``GridSearchCV`` can search its fields as
    ``recipe__reads``.
    """

    rule: str = "qp"
    reads: int | None = None
    start: str | None = None
    cycles: int = 1
    frozen_above: str = "reference"
    lr_W: tuple = (0.01, 0.003)
    lr_b: tuple = (0.01, 0.003)
    init_scale: tuple | None = None
    greedy_epochs: int | None = None
    average: int | None = None
    hidden_decay: float | None = None
    hidden_couplings: str | None = None
    error_driven: float | None = None
    hidden_warmup: tuple | None = None
    amplify: str = "none"

    @classmethod
    def of(cls, value) -> "Recipe":
        """A recipe from a :class:`Recipe`, a dict of its fields, or None (the defaults)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(FIELDS))
            if unknown:
                raise ArchitectureError(f"unknown recipe field(s) {', '.join(unknown)}; the "
                                        f"fields: {', '.join(FIELDS)}")
            return cls(**value)
        raise ArchitectureError(f"recipe must be a Recipe, a dict of its fields or None; got "
                                f"{value!r}")

    def checked(self) -> "Recipe":
        """This recipe with every field validated (errors name the field)."""
        return Recipe(**{name: FIELDS[name].check(name, getattr(self, name))
                         for name in FIELDS})

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in FIELDS}

    def set_params(self, **params) -> "Recipe":
        unknown = sorted(set(params) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown recipe field(s) {', '.join(unknown)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self


@dataclass(frozen=True)
class Ask:
    """One sampler call a training step makes: on ``block`` ``(l, l+1)`` of the trained
    network (K(a, b), ``shape``), ``kind`` "forward" (the forward sweep's warm-started
    anneal), "nudged" (a lower block's nudged state), "free" (the m free samples) or
    "cycle" (a cyclic restart); ``problems`` per image, ``reads`` per problem; ``starts``:
    "warm", "reference", "random" or "mixed" (a lower block's reads frozen at reference
    states, each its own problem). Kind "amplified": the m free samples by amplitude
    amplification (``sample_marked``)."""

    block: tuple
    shape: tuple
    kind: str
    problems: int
    reads: int
    starts: str


@dataclass(frozen=True)
class Stage:
    """Epochs ``first..last`` (counted from 1) that train the network of layers ``sizes``
    (the greedy stage's shallow net, or the full net) with the blocks ``blocks`` (K(a, b)
    shapes, in sweep order) and the sampler calls ``asks`` per step."""

    name: str
    first: int
    last: int | None
    sizes: tuple
    blocks: tuple
    asks: tuple


@dataclass(frozen=True)
class Plan:
    """A recipe resolved for layers ``sizes``: ``recipe`` has no ``None`` left; ``rates`` are
    per coupling layer; ``stages`` the greedy stage (if any) and the deep net's."""

    sizes: tuple
    recipe: Recipe
    rates: LearningRates
    stage_rates: LearningRates | None
    stages: tuple

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1

    @property
    def blocks(self) -> list:
        """Every block shape K(a, b) the run anneals, in order of first use, each once."""
        return list(dict.fromkeys(shape for stage in self.stages for shape in stage.blocks))

    def sweep(self) -> SweepConfig:
        r = self.recipe
        return SweepConfig(reads=r.reads, start=r.start, cycles=r.cycles,
                           frozen_above=r.frozen_above, error_driven=r.error_driven,
                           hidden_couplings=r.hidden_couplings, amplify=r.amplify)

    def check_capacity(self, max_block_spins) -> None:
        """Refuse, before any training, a plan with a block larger than the annealer holds:
        every block of every stage, the top one and the greedy stage's included."""
        if max_block_spins is None:
            return
        for stage in self.stages:
            for (a, b), (l, m) in zip(stage.blocks, _block_layers(stage)):
                if a + b > max_block_spins:
                    where = ("the greedy stage's block (layer 1 and the output)"
                             if stage.name == "greedy" else f"block ({l}, {m})")
                    raise BlockTooLargeError(
                        f"{where} has {a} + {b} = {a + b} spins, more than the annealer's "
                        f"capacity of {max_block_spins} (layers {list(self.sizes)}): use "
                        f"narrower layers or a larger annealer")

    def describe(self) -> dict:
        """The plan as plain JSON values (recorded in the run file)."""
        return {"stages": [{"name": s.name, "epochs": [s.first, s.last], "layers": list(s.sizes),
                            "blocks": [list(b) for b in s.blocks],
                            "asks": [dataclasses.asdict(a) for a in s.asks]}
                           for s in self.stages]}


def _block_layers(stage: Stage) -> list:
    return [(l, l + 1) for l in range(1, len(stage.sizes) - 1)]


def resolve(recipe, sizes, epochs: int | None = None) -> Plan:
    """The :class:`Plan` of ``recipe`` for a network of layer sizes ``sizes``: every ``None``
    field set to its default for the depth, the depth rules checked, the rates spread over the
    layers, and the stages' blocks and sampler calls. The only place that branches on depth.
    """
    r = Recipe.of(recipe).checked()
    if len(sizes) < 3 or any(not isinstance(n, numbers.Integral) or isinstance(n, bool)
                             or n < 1 for n in sizes):
        raise ArchitectureError(f"layers must be at least 3 positive integers (the input, a "
                                f"hidden and the output layer); got {list(sizes)!r}")
    sizes = tuple(int(n) for n in sizes)
    depth = len(sizes) - 1
    deep = depth > 2

    def deep_only(name, value, off):
        if value != off and not deep:
            raise ArchitectureError(f"{name}={_show(value)} needs a deep net (two or more "
                                    f"hidden layers); the L = 2 net has "
                                    + ("no lower block" if name == "error_driven" else
                                       "no hidden-to-hidden coupling" if name != "greedy_epochs"
                                       else "no stage before itself: it is the greedy stage"))
        return value

    if r.rule == "ep" and r.reads not in (None, 1):
        raise ArchitectureError(f"rule='ep' uses one free sample per image; got reads="
                                f"{r.reads} (use rule='qp' for several samples)")
    if r.amplify != "none" and (r.rule == "ep" or deep):
        raise ArchitectureError(
            f"amplify={r.amplify!r} needs rule='qp' and one hidden layer (the oracle marks "
            f"the output layer's wrong classes in the one block); got rule={r.rule!r}, "
            f"{depth - 1} hidden layer(s)")
    if r.amplify != "none" and (r.start not in (None, "random") or r.cycles != 1):
        raise ArchitectureError(
            f"amplify={r.amplify!r} draws free samples from forward anneals (the reflection "
            f"S_0 is about |+>^n), once each: it needs start='random' (or unset) and cycles=1; "
            f"got start={r.start!r}, cycles={r.cycles}")
    reads = 1 if r.rule == "ep" else 20 if r.reads is None else r.reads
    if r.amplify == "split" and reads < 2:
        raise ArchitectureError(f"amplify='split' splits the m reads into amplified and plain "
                                f"ones: it needs reads >= 2; got {reads}")
    start = ("random" if r.rule == "ep" or r.amplify != "none"
             else r.start if r.start is not None
             else "reference" if depth == 2 else DEEP_START if depth == 3 else DEEPER_START)
    couplings = r.hidden_couplings or (DEEP_HIDDEN_COUPLINGS if deep else "inner")
    greedy = deep_only("greedy_epochs", GREEDY_EPOCHS if r.greedy_epochs is None and deep
                       else r.greedy_epochs or 0, 0)
    average = (DEEP_AVERAGE if deep else 0) if r.average is None else r.average
    decay = deep_only("hidden_decay", (DEEP_HIDDEN_DECAY if deep else 0.0)
                      if r.hidden_decay is None else r.hidden_decay, 0.0)
    error_driven = deep_only("error_driven", (
        DEEP_ERROR_DRIVEN if deep and r.frozen_above == "reference" and couplings == "upper"
        else 0.0) if r.error_driven is None else r.error_driven, 0.0)
    warmup = deep_only("hidden_warmup", (UPPER_WARMUP if deep and couplings == "upper" else ())
                       if r.hidden_warmup is None else r.hidden_warmup, ())
    if r.init_scale is None:
        first, middle, top = DEEP_INIT_SCALE
        init_scale = (first,) + (middle,) * (depth - 2) + (top,) if deep else (1.0,) * depth
    else:
        init_scale = r.init_scale
    if len(init_scale) != depth:
        raise ArchitectureError(f"init_scale needs one factor per coupling layer ({depth}); "
                                f"got {len(init_scale)}")
    resolved = Recipe(rule=r.rule, reads=reads, start=start, cycles=r.cycles,
                      frozen_above=r.frozen_above, lr_W=r.lr_W, lr_b=r.lr_b,
                      init_scale=init_scale, greedy_epochs=greedy, average=average,
                      hidden_decay=decay, hidden_couplings=couplings,
                      error_driven=error_driven, hidden_warmup=warmup, amplify=r.amplify)
    sweep = SweepConfig(reads=reads, start=start, cycles=r.cycles, frozen_above=r.frozen_above,
                        error_driven=error_driven, hidden_couplings=couplings,
                        amplify=r.amplify)
    rates = LearningRates(_spread(r.lr_W, "lr_W", depth, couplings),
                          _spread(r.lr_b, "lr_b", depth, couplings),
                          [0.0] + [decay] * (depth - 2) + [0.0] if decay and deep else None,
                          warmup)
    stage_rates = None
    stages = []
    if greedy:
        shallow = (sizes[0], sizes[1], sizes[-1])
        stage_rates = LearningRates(_pick(r.lr_W), _pick(r.lr_b))
        stages.append(_stage("greedy", 1, greedy, shallow, sweep))
    stages.append(_stage("deep" if deep else "shallow", greedy + 1, epochs, sizes, sweep))
    return Plan(sizes, resolved, rates, stage_rates, tuple(stages))


def _spread(values: tuple, name: str, depth: int, couplings: str) -> list:
    """Per-layer rates from one value (every layer), two (the shallow net's: a deep net takes
    :data:`DEEP_RATE_FACTORS` of them) or one per layer."""
    values = list(values)
    if len(values) == 1:
        return values * depth
    if len(values) == 2 and depth > 2:
        first, middle, top = DEEP_RATE_FACTORS[couplings]
        return [values[0] * first] + [values[1] * middle] * (depth - 2) + [values[1] * top]
    if len(values) != depth:
        per_layer = f" or {depth} (one per coupling layer)" if depth > 2 else ""
        raise ArchitectureError(f"{name} needs 1 or 2 (input layer, other layers){per_layer} "
                                f"learning rates; got {len(values)}")
    return values


def _pick(values: tuple) -> list:
    """A greedy stage's two rates from a deep net's: one as given, else the first and last."""
    values = list(values)
    return values * 2 if len(values) == 1 else [values[0], values[-1]]


def _stage(name: str, first: int, last, sizes: tuple, sweep: SweepConfig) -> Stage:
    """The blocks of a network of layers ``sizes`` in sweep order and the sampler calls of one
    training step per image (as :mod:`layersweep.sweep` makes them)."""
    L = len(sizes) - 1
    shape = {l: (sizes[l], sizes[l + 1]) for l in range(1, L)}
    asks = []
    if L > 2:
        asks += [Ask((l, l + 1), shape[l], "forward", 1, 1, "warm") for l in range(1, L)]
    m = sweep.reads
    for l in range(L - 1, 0, -1):
        top = l + 1 == L
        if not top:
            asks.append(Ask((l, l + 1), shape[l], "nudged", 1, 1, "warm"))
        reference = sweep.start == "reference" or (sweep.start == "top-reference" and top)
        if not top and sweep.frozen_above == "reference":
            free = Ask((l, l + 1), shape[l], "free", m, 1,
                       "reference" if reference else "random")
        else:
            free = Ask((l, l + 1), shape[l], "free", 1, m, "reference" if reference
                       else "random")
        if top and sweep.amplify != "none":
            free = Ask((l, l + 1), shape[l], "amplified", 1, m, "random")
        asks.append(free)
        asks += [Ask((l, l + 1), shape[l], "cycle", free.problems, free.reads, "warm")] \
            * (sweep.cycles - 1)
    blocks = tuple(shape[l] for l in range(1, L))
    return Stage(name, first, last, sizes, blocks, tuple(asks))
