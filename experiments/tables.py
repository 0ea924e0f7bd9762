"""Shared by the experiment scripts: writing their result tables."""

from __future__ import annotations

import csv


def write_csv(rows: list, path: str, fields: list | None = None) -> None:
    """``rows`` (dicts) as a CSV at ``path``: columns ``fields`` (default: the first row's
    keys; missing cells empty), floats with 6 significant digits."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields or list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v
                             for k, v in row.items()})
