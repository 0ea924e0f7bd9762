"""The documentation stays true: the README is short, every relative link leads to a file,
every results folder is indexed, and the commands the README and docs/ show are accepted by
the parser (the cheap ones run end to end on a tiny network)."""

import argparse
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from layersweep import data as datasets
from layersweep.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
EXPERIMENT_PAGES = sorted((ROOT / "experiments").glob("*.md"))
PAGES = [README, *DOCS, *EXPERIMENT_PAGES]
RESULTS = ROOT / "experiments" / "results"
MAX_README_LINES = 250

INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def blocks(text: str):
    """``(info string, [lines])`` of every fenced code block, in order."""
    found, fence, info, lines = [], None, "", []
    for line in text.splitlines():
        stripped = line.strip()
        if fence is None:
            match = re.match(r"(`{3,}|~{3,})\s*(\S*)", stripped)
            if match:
                fence, info, lines = match.group(1), match.group(2).lower(), []
        elif stripped.startswith(fence) and not stripped.strip(fence[0]):
            found.append((info, lines))
            fence = None
        else:
            lines.append(line)
    return found


def prose(text: str) -> str:
    """The page without fenced code blocks and inline code spans."""
    kept, fence = [], None
    for line in text.splitlines():
        stripped = line.strip()
        match = re.match(r"(`{3,}|~{3,})", stripped)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and stripped.startswith(fence) and not stripped.strip(fence[0]):
            fence = None
        elif fence is None:
            kept.append(line)
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", "\n".join(kept), flags=re.DOTALL)


def relative_links(page: Path):
    text = prose(page.read_text(encoding="utf-8"))
    for target in INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text):
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
            continue  # https:, mailto:, an anchor on the same page
        yield target


# ---- (a) the README is a short guide ----------------------------------------------------------
def test_readme_is_at_most_250_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines; move detail into docs/ or experiments/")


def test_the_set_up_commands_ci_runs_are_in_the_readme():
    text = README.read_text(encoding="utf-8")
    assert "```bash\npip install -e . && layersweep train\n```" in text
    assert '```bash\npip install -e ".[test]" && pytest -q\n```' in text


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_page_has_one_title(page):
    titles = [line for line in prose(page.read_text(encoding="utf-8")).splitlines()
              if re.match(r"# \S", line)]
    assert len(titles) == 1, f"{rel(page)}: H1 headings {titles}"


# ---- (b) relative links lead to files ---------------------------------------------------------
@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_relative_links_point_at_existing_files(page):
    missing = []
    for target in relative_links(page):
        path = target.split("#", 1)[0].split("?", 1)[0]
        if path and not (page.parent / path).exists():
            missing.append(target)
    assert not missing, f"{rel(page)} links to missing files: {missing}"


def test_the_docs_are_linked_from_the_readme_and_the_index():
    readme = set(relative_links(README))
    assert {"docs/index.md", "experiments/README.md", "CHANGELOG.md"} <= readme
    index = set(relative_links(ROOT / "docs" / "index.md"))
    missing = {p.name for p in DOCS} - {"index.md"} - index
    assert not missing, f"docs/index.md does not link {sorted(missing)}"


# ---- (c) every results folder is indexed ------------------------------------------------------
def test_every_results_folder_is_named_in_the_experiments_index():
    index = (ROOT / "experiments" / "README.md").read_text(encoding="utf-8")
    folders = sorted(p.name for p in RESULTS.iterdir() if p.is_dir())
    assert folders
    missing = [name for name in folders if f"results/{name}/" not in index]
    assert not missing, f"experiments/README.md does not index {missing}"


# ---- (d) the commands shown are accepted, and the cheap ones run ------------------------------
def shown_commands():
    """``(page, argv)`` for every ``layersweep`` command line in a bash block of the README
    and docs/ (continuation lines joined, comments dropped, ``a && b`` split)."""
    found = []
    for page in [README, *DOCS]:
        for info, lines in blocks(page.read_text(encoding="utf-8")):
            if info not in ("bash", "sh", "shell", "console"):
                continue
            joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
            for line in joined.splitlines():
                line = line.strip().removeprefix("$ ")
                for part in re.split(r"\s*&&\s*", line):
                    words = shlex.split(part, comments=True)
                    if words and words[0] == "layersweep":
                        found.append((page, words[1:]))
    return found


COMMANDS = shown_commands()
PARSER = build_parser()
SUBCOMMANDS = next(a for a in PARSER._actions
                   if isinstance(a, argparse._SubParsersAction)).choices


def command_id(item):
    page, argv = item
    return f"{rel(page)}: layersweep {' '.join(argv)}"


def options_of(argv):
    return [word.split("=", 1)[0] for word in argv if word.startswith("--")]


def test_the_docs_show_commands():
    assert len(COMMANDS) >= 20
    assert {argv[0] for _, argv in COMMANDS if argv} >= set(SUBCOMMANDS)


@pytest.mark.parametrize("item", COMMANDS, ids=[command_id(c) for c in COMMANDS])
def test_a_shown_command_is_accepted_by_the_parser(item):
    page, argv = item
    if not argv or argv[0].startswith("-"):
        unknown = [o for o in options_of(argv) if o not in PARSER._option_string_actions]
        assert not unknown, f"{rel(page)}: layersweep has no option {unknown}"
        return
    assert argv[0] in SUBCOMMANDS, f"{rel(page)}: no subcommand {argv[0]!r}"
    known = SUBCOMMANDS[argv[0]]._option_string_actions
    unknown = [o for o in options_of(argv[1:]) if o not in known]  # no abbreviations either
    assert not unknown, f"{rel(page)}: layersweep {argv[0]} has no option {unknown}"
    if "--help" in argv or "-h" in argv:
        return
    try:
        PARSER.parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{rel(page)}: the parser refuses `layersweep {' '.join(argv)}` ({exc})")


def synopsis_entries():
    """``(command, [options])`` of every ``layersweep COMMAND ...`` entry in the text blocks of
    docs/command-line.md (indented lines continue an entry)."""
    text = (ROOT / "docs" / "command-line.md").read_text(encoding="utf-8")
    entries = []
    for info, lines in blocks(text):
        if info != "text":
            continue
        for line in lines:
            match = re.match(r"layersweep\s+(\w+)", line)
            if match:
                entries.append((match.group(1), []))
            elif entries and line.startswith(" "):
                pass
            else:
                continue
            entries[-1][1].extend(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
    return entries


def test_the_synopsis_names_only_real_options():
    entries = synopsis_entries()
    assert {command for command, _ in entries} == set(SUBCOMMANDS)
    for command, options in entries:
        known = SUBCOMMANDS[command]._option_string_actions
        unknown = sorted(set(options) - set(known))
        assert not unknown, f"docs/command-line.md: layersweep {command} has no {unknown}"


def test_every_option_is_documented():
    text = (ROOT / "docs" / "command-line.md").read_text(encoding="utf-8")
    for command, sub in SUBCOMMANDS.items():
        assert f"layersweep {command}" in text
        undocumented = sorted(o for o in sub._option_string_actions
                              if o.startswith("--") and o != "--help"
                              and not re.search(re.escape(o) + r"(?![\w-])", text))
        assert not undocumented, (f"docs/command-line.md does not document layersweep "
                                  f"{command} {undocumented}")


def cheap(argv) -> bool:
    """Commands that finish in well under a second on a tiny run file: reading it
    (``info``, ``evaluate`` on its own data), continuing it, listing the embedding cache.
    Training from scratch, dry runs (they search embeddings) and QPU runs are not run."""
    if not argv:
        return False
    if argv[0] in ("info", "evaluate"):
        return "--data" not in argv
    if argv[0] == "train":
        return "--resume" in argv and "--sampler" not in argv and "--scheduler" not in argv
    return argv[0] == "embed" and "--list" in argv


CHEAP = [c for c in COMMANDS if cheap(c[1])]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A run file of a tiny net (12-10-6, 3 classes) on a small synthetic .npz, 2 epochs."""
    folder = tmp_path_factory.mktemp("tiny")
    d = datasets.synthetic(n=120, features=12, classes=3, seed=2)
    npz = folder / "digits.npz"
    np.savez(npz, X=d.X, y=d.y)
    out = folder / "run.h5"
    assert main(["train", "--layers", "12,10,6", "--redundancy", "2", "--data", str(npz),
                 "--train-size", "60", "--test-size", "30", "--epochs", "2", "--reads", "4",
                 "--out", str(out), "--no-progress"]) == 0
    return out


def test_some_shown_commands_are_cheap_enough_to_run():
    kinds = {(argv[0], "--resume" in argv) for _, argv in CHEAP}
    assert {("info", False), ("evaluate", False), ("train", True)} <= kinds


@pytest.mark.parametrize("item", CHEAP, ids=[command_id(c) for c in CHEAP])
def test_a_cheap_shown_command_runs_as_written(item, tiny_run, tmp_path, monkeypatch, capsys):
    page, argv = item
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAYERSWEEP_EMBEDDINGS", str(tmp_path / "embeddings"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for i, word in enumerate(argv):  # every run file the command reads is the tiny run
        if word.endswith(".h5") and argv[i - 1] != "--out":
            shutil.copy(tiny_run, tmp_path / word)
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 0, f"{rel(page)}: `layersweep {' '.join(argv)}` exited {code}: {captured.err}"
    assert "error" not in captured.err.lower()
