"""The error types of layersweep.

Every error a user can cause is one of these. Each subclasses the built-in type a Python user
would expect (``ValueError`` for a bad value, ``TypeError`` for a bad type, ``OSError`` for a
file problem), so generic ``except ValueError`` clauses keep working. They are raised at the
boundaries (CLI, estimator, loaders, samplers' public methods), never deep in a hot loop.
"""

from sklearn.exceptions import NotFittedError as _SklearnNotFitted


class LayersweepError(Exception):
    """Base class of every error raised on purpose by layersweep."""


class ArchitectureError(LayersweepError, ValueError):
    """Layer sizes that do not describe a valid network (too few layers, a size < 1, an output
    layer that is not ``classes * redundancy`` units)."""


class DataError(LayersweepError, ValueError):
    """Training or test data that cannot be used: wrong shape, NaN or infinite values, pixels
    outside [0, 1], labels out of range, too few classes, a split larger than the data."""


class ResourceError(LayersweepError, ValueError):
    """A run whose arrays would not fit in this machine's memory (a layer or a read count far
    too large), refused before anything is allocated."""


class DivergenceError(LayersweepError, ArithmeticError):
    """Training whose parameters became infinite or NaN (learning rates too large): the update
    that diverged is not kept in any checkpoint."""


class BlockError(LayersweepError, ValueError):
    """A block problem or a block sampler's arguments with inconsistent shapes or values."""


class BlockTooLargeError(BlockError):
    """A block that does not fit the annealer: more spins than the capacity limit, or a complete
    bipartite graph K(a, b) that no embedding places on the target topology."""


class SamplerError(LayersweepError, ValueError):
    """A sampler name or configuration that cannot be built, or a sampler that returned
    something that is not a valid set of spins."""


class EmbeddingError(LayersweepError, ValueError):
    """An embedding that does not verify against its target graph, or a target that cannot be
    built from the topology string a user gave."""


class CacheError(LayersweepError, OSError):
    """An embedding-cache file that is corrupt, of another format version, or for another
    target graph than the one asked for."""


class CheckpointError(LayersweepError, OSError):
    """A checkpoint file that is corrupt, truncated, of another format version, not a
    layersweep file, holds non-finite parameters, or is for another architecture than the one
    asked for; or a run file that cannot be written, would overwrite a run, or is being
    trained into by another process."""


class SchedulerError(LayersweepError, RuntimeError):
    """A scheduler spec that cannot be used (unknown, Dask missing, no cluster at the address),
    an object that cannot be sent to workers, or work the cluster lost beyond repair (every
    worker holding its data died); the call that raised it changed nothing."""


class NotFittedError(LayersweepError, _SklearnNotFitted):
    """A model used for prediction before ``fit`` or ``partial_fit`` (scikit-learn's
    ``NotFittedError``: a ``ValueError`` and an ``AttributeError``)."""


class LostClassWarning(UserWarning):
    """Training ended with a class recalled for fewer of its training images than guessing
    would, after an epoch that recalled every class for at least half of them: the network
    learnt that class and lost it."""
