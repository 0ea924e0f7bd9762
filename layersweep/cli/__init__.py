"""The ``layersweep`` command line: ``train``, ``evaluate``, ``predict``, ``embed``, ``info``.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and
``run(args) -> int``. Errors a user can fix are printed as one line, exit code 2;
layersweep's own warnings as one line ``layersweep: warning: ...``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

from .. import __version__
from ..exceptions import LayersweepError
import importlib


SUBCOMMANDS = ("train", "evaluate", "predict", "embed", "info")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layersweep",
        description="Train Ising-spin neural networks with annealers, two layers at a time.")
    parser.add_argument("--version", action="version", version=f"layersweep {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.getLogger("distributed").setLevel(logging.WARNING)  # a Dask cluster's chatter
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except LayersweepError as exc:
        print(f"layersweep: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("layersweep: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (e.g. `| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_show_default = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """layersweep's warnings (raised from its own code) as one plain line; others as Python
    shows them."""
    if os.path.abspath(filename).startswith(_PACKAGE + os.sep):
        print(f"layersweep: warning: {message}", file=sys.stderr if file is None else file)
    else:
        _show_default(message, category, filename, lineno, file, line)
