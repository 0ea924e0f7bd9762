"""The D-Wave cloud: choosing and connecting to a solver, chain strength, retries.

Credentials are Ocean's (``DWAVE_API_TOKEN``, ``dwave config create``), never ours; every
failure to connect is a :class:`SamplerError` that says what to do.
"""

from __future__ import annotations

import json
import math

from ..exceptions import SamplerError

#: the lattice priced by ``--dry-run`` when no solver topology is named
DEFAULT_TOPOLOGY = {"pegasus": "pegasus:16", "zephyr": "zephyr:12,4"}


def parse_solver(text):
    """A ``--solver`` value as ``DWaveSampler(solver=...)`` takes it.

    ``None``/``""``: the Ocean configuration's choice; ``"pegasus"``/``"zephyr"``: any solver of
    that topology; ``'{"topology__type": "zephyr"}'``: a JSON feature filter;
    ``"topology__type=zephyr,num_active_qubits__gte=5000"``: the same as ``key=value`` pairs;
    anything else: a solver name such as ``"Advantage_system4.1"``.
    """
    if text is None or isinstance(text, dict):
        return text or None
    text = str(text).strip()
    if not text:
        return None
    if text in DEFAULT_TOPOLOGY:
        return {"topology__type": text}
    if text.startswith("{"):
        try:
            return dict(json.loads(text))
        except (ValueError, TypeError) as exc:
            raise SamplerError(f"solver filter {text!r} is not a JSON object ({exc})") from None
    if "=" in text:
        pairs = [part.split("=", 1) for part in text.split(",") if part]
        if any(len(p) != 2 for p in pairs):
            raise SamplerError(f"solver filter {text!r}: use key=value pairs separated by commas")
        return {k.strip(): _scalar(v.strip()) for k, v in pairs}
    return text


def _scalar(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def connect(solver=None, **config):
    """A ``DWaveSampler`` for ``solver`` (see :func:`parse_solver`), or :class:`SamplerError`
    that says what to do. The token, endpoint and default solver come from dwave-cloud-client's
    usual sources (``DWAVE_API_TOKEN`` and friends, ``dwave config create``), never from us."""
    from dwave.cloud import exceptions as cloud
    from dwave.cloud.config.exceptions import ConfigFileError
    from dwave.system import DWaveSampler
    import requests

    wanted = parse_solver(solver)
    where = f" matching {solver!r}" if wanted else ""
    try:
        return DWaveSampler(solver=wanted, **config) if wanted else DWaveSampler(**config)
    except ConfigFileError as exc:
        raise SamplerError(f"the D-Wave configuration file cannot be read ({exc}): fix it, or "
                           "recreate it with `dwave config create`") from None
    except cloud.SolverAuthenticationError:
        raise SamplerError("the D-Wave API token was refused: check DWAVE_API_TOKEN or run "
                           "`dwave config create` with a valid token from your Leap "
                           "dashboard") from None
    except cloud.SolverNotFoundError:
        raise SamplerError(f"no D-Wave QPU solver{where} is available to your account: list "
                           "them with `dwave solvers`, then pick one with --solver NAME or a "
                           "filter such as --solver zephyr") from None
    except ValueError as exc:
        if "token" in str(exc).lower():
            raise SamplerError("no D-Wave API token found: set DWAVE_API_TOKEN, or run "
                               "`dwave config create` (or `dwave auth login`); for an offline "
                               "run use --sampler mock:pegasus:16") from None
        raise SamplerError(f"cannot connect to a D-Wave solver{where}: {exc}") from None
    except (requests.RequestException, OSError) as exc:
        raise SamplerError(f"cannot reach the D-Wave cloud ({type(exc).__name__}: {exc}): check "
                           "the network, a proxy, or DWAVE_API_ENDPOINT; for an offline run "
                           "use --sampler mock:pegasus:16") from None


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def parse_chain_strength(text):
    """A ``--chain-strength`` value: ``None``/``"utc"`` (Ocean's uniform torque compensation,
    prefactor 1.414), ``"utc:P"`` (prefactor P), or a number (absolute)."""
    if text is None or isinstance(text, (int, float)) or callable(text):
        return text
    name, _, prefactor = str(text).strip().lower().partition(":")
    if name == "utc":
        if not prefactor:
            return None
        from functools import partial

        from dwave.embedding.chain_strength import uniform_torque_compensation

        try:
            if _positive(float(prefactor)):
                return partial(uniform_torque_compensation, prefactor=float(prefactor))
        except ValueError:
            pass
    else:
        try:
            if _positive(float(text)):
                return float(text)
        except ValueError:
            pass
    raise SamplerError(f"chain strength {text!r} not understood: use 'utc', 'utc:PREFACTOR' "
                       "(e.g. utc:1.0) or a positive number")


def dry_run_topology(spec: str, solver=None) -> str:
    """The lattice a dry run prices: ``mock:<topology>``'s, a ``--solver`` topology filter's
    (``zephyr`` -> zephyr:12,4), else pegasus:16 (Advantage)."""
    kind, _, rest = str(spec).partition(":")
    if kind == "mock" and rest:
        return rest
    wanted = parse_solver(solver or (rest if kind == "dwave" else None))
    family = wanted.get("topology__type") if isinstance(wanted, dict) else None
    if family is None and isinstance(wanted, str):
        family = "zephyr" if wanted.lower().startswith("advantage2") else "pegasus"
    return DEFAULT_TOPOLOGY.get(family, DEFAULT_TOPOLOGY["pegasus"])


def _transient_errors() -> tuple:
    """Cloud errors worth retrying: timeouts, upload failures, rate limits, server errors."""
    import requests
    from dwave.cloud import exceptions as cloud
    from dwave.cloud.api import exceptions as api

    return (cloud.Timeout, cloud.PollingTimeout, cloud.ProblemUploadError,
            cloud.SolverOfflineError, api.RequestTimeout, api.InternalServerError,
            api.ResourceLimitsExceededError, requests.ConnectionError, requests.Timeout,
            ConnectionError, TimeoutError)
