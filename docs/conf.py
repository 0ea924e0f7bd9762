"""Sphinx configuration of the layersweep documentation site.

Build it (offline, every warning an error) from the repository's root:

    pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

The guide is the Markdown pages of docs/ (read by myst-parser); the API reference is generated
from the docstrings (autodoc + autosummary, numpydoc); the experiments pages, the changelog and
the README live outside docs/ and are included, not copied (see ``rewrite_links`` below).
"""

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the package of this checkout, installed or not

import layersweep  # noqa: E402

# ---- project ----------------------------------------------------------------------------------
project = "layersweep"
author = "the layersweep authors"
copyright = "the layersweep authors"
version = release = layersweep.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = []

# ---- Markdown ---------------------------------------------------------------------------------
myst_enable_extensions = []
myst_heading_anchors = 3

# ---- API reference ----------------------------------------------------------------------------
autosummary_generate = True  # the module pages, into docs/api/generated at build time
autosummary_imported_members = False
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    # a package's __all__ re-exports its submodules' objects, documented on their own pages
    "ignore-module-all": True,
}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings describe the types; signatures stay short
autoclass_content = "class"

numpydoc_show_class_members = False  # the module pages list the members
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# ---- HTML -------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"layersweep {release}"
html_static_path = []
html_show_sourcelink = False

# Offline: no intersphinx, no remote images, no remote assets fetched at build time.


# ---- pages that live outside docs/ ------------------------------------------------------------
# The experiments pages, the changelog, the README and embeddings/README.md stay where they
# are (they are read on the repository's web view too); the site renders each one through a
# small page under docs/ that includes it with MyST's include directive. Their relative links
# and images are written for their own folder, and the guide's pages link to them where they
# live (e.g. ../experiments/depth.md). Both are rewritten as the text is read, so that every
# link leads to the page that renders it (or to the file itself: figures, CSV files) from where
# it is shown. The files on disk are not changed.
INCLUDED = {"README.md": "project/readme.md", "CHANGELOG.md": "project/changelog.md",
            "embeddings/README.md": "project/embeddings.md",
            "experiments/README.md": "experiments/index.md"}
INCLUDED.update({f"experiments/{p.name}": f"experiments/{p.name}"
                 for p in sorted((ROOT / "experiments").glob("*.md")) if p.name != "README.md"})

LINK = re.compile(r"(!?\[(?:[^\[\]]|\[[^\]]*\])*\]\()(\s*<?)([^)\s>]+)")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")


def _target(path: Path) -> Path:
    """Where the file at ``path`` appears in the site: its rendering page, or itself."""
    try:
        relative = path.relative_to(ROOT).as_posix()
    except ValueError:
        return path
    return DOCS / INCLUDED[relative] if relative in INCLUDED else path


def rewrite_links(text: str, written_in: Path, shown_in: Path) -> str:
    """``text`` of the file ``written_in``, its relative links and images made relative to the
    page ``shown_in`` (fenced code blocks untouched)."""

    def one(match):
        head, space, link = match.groups()
        if SCHEME.match(link) or link.startswith("#"):
            return match.group(0)
        path, hash_, anchor = link.partition("#")
        real = Path(os.path.normpath(written_in.parent / path))
        if not real.exists():
            return match.group(0)  # left for Sphinx to report
        new = os.path.relpath(_target(real), shown_in.parent).replace(os.sep, "/")
        return f"{head}{space}{new}{hash_}{anchor}"

    out, fence = [], None
    for line in text.splitlines(keepends=True):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and line.strip().startswith(fence) and not line.strip(
                ).strip(fence[0]):
            fence = None
        elif fence is None:
            line = LINK.sub(one, line)
        out.append(line)
    return "".join(out)


def on_source_read(app, docname, source):
    page = Path(app.env.doc2path(docname))
    if page.suffix == ".md":
        source[0] = rewrite_links(source[0], page, page)


def on_include_read(app, relative_path, parent_docname, content):
    included = (Path(app.srcdir) / relative_path).resolve()
    try:
        key = included.relative_to(ROOT).as_posix()
    except ValueError:
        return
    if key in INCLUDED:
        content[0] = rewrite_links(content[0], included, DOCS / INCLUDED[key])


def skip_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing methods (``set_fit_request`` ...), which it
    adds to every estimator: their docstrings cite scikit-learn's own glossary and labels."""
    if what == "class" and re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    app.connect("source-read", on_source_read)
    app.connect("include-read", on_include_read)
    app.connect("autodoc-skip-member", skip_member)
