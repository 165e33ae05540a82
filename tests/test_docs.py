"""Every console example in the README and in docs/ is run, and must print what the page shows.

The examples of a page run in order, in one temporary folder holding a copy of sample_data/, as a
shell would run them (stdout and stderr together, in the order written).  Volatile fields are
masked on both sides: training times.  A command that needs a tool this machine lacks (jq, dot) is
skipped with the reason.  To paste fresh outputs after a change, from the repository root:

    python tests/test_docs.py --update README.md docs/*.md
"""

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
PYTHON_BLOCK = re.compile(r"```python\n(>>> .*?)```", re.S)
VOLATILE = [(re.compile(r"\b\d+\.\d{3} s\b"), "<seconds> s")]
TOOLS = ("jq", "dot")


def examples(text):
    """(command, expected output lines) of every console block, in order."""
    found = []
    for block in BLOCK.findall(text):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
    return found


def masked(lines):
    out = []
    for line in lines:
        for pattern, replacement in VOLATILE:
            line = pattern.sub(replacement, line)
        out.append(line.rstrip())
    return out


def missing_tool(command):
    return next((tool for tool in TOOLS if re.search(rf"(^|[|&;]\s*){tool}\b", command) and not shutil.which(tool)),
                None)


def run_page(folder, command):
    """The command's output as a terminal-less shell shows it: stdout and stderr in writing order."""
    script = f"fitbp() {{ {sys.executable} -m fitbp \"$@\"; }}\nset -o pipefail\n{command}"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "MPLBACKEND", "COLUMNS")}
    env.update(PYTHONUNBUFFERED="1", TERM="dumb")
    done = subprocess.run(["bash", "-c", script], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env, timeout=300)
    return done.stdout.splitlines()


def prepared(folder):
    shutil.copytree(ROOT / "sample_data", folder / "sample_data")
    return folder


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_console_example_prints_what_the_page_shows(page, tmp_path):
    folder = prepared(tmp_path)
    skipped = []
    for command, expected in examples(page.read_text()):
        tool = missing_tool(command)
        if tool:
            skipped.append(f"{command} ({tool} is not installed)")
            continue
        shown = run_page(folder, command)
        assert masked(shown) == masked(expected), f"{page.name}: $ {command}"
    if skipped:
        warnings.warn("not run: " + "; ".join(skipped), stacklevel=1)


def update(paths):
    """Rewrite the outputs of every console block in ``paths`` with what the commands print now."""
    import tempfile

    for path in map(Path, paths):
        text = path.read_text()
        with tempfile.TemporaryDirectory() as tmp:
            folder = prepared(Path(tmp))

            def fresh(match):
                lines = []
                for command, old in examples(match.group(0)):
                    lines.append(f"$ {command}")
                    lines.extend(old if missing_tool(command) else
                                 [line.rstrip() for line in run_page(folder, command)])
                return "```console\n" + "\n".join(lines) + "\n```"

            text = BLOCK.sub(fresh, text)
        path.write_text(text)
        print(f"updated {path}", file=sys.stderr)



@pytest.mark.parametrize("page", [p for p in PAGES if PYTHON_BLOCK.search(p.read_text())], ids=lambda p: p.name)
def test_every_python_example_prints_what_the_page_shows(page, monkeypatch):
    """The page's >>> examples, run in order in one namespace from the repository's root, as doctest
    runs them (a traceback's middle lines elided, as in Python's own docs)."""
    import doctest

    monkeypatch.chdir(ROOT)
    text = "\n".join(PYTHON_BLOCK.findall(page.read_text()))
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    test = parser.get_doctest(text, {}, page.name, str(page), 0)
    assert test.examples, f"{page.name}: no >>> example"
    result = runner.run(test, out=lambda report: warnings.warn(report, stacklevel=1))
    assert result.failed == 0, f"{page.name}: {result.failed} of {result.attempted} examples print otherwise"


if __name__ == "__main__":
    if sys.argv[1:2] != ["--update"] or len(sys.argv) < 3:
        sys.exit("usage: python tests/test_docs.py --update PAGE.md ...")
    update(sys.argv[2:])


LINK = re.compile(r"\]\(([\w/.-]*\.md)?#([\w-]+)\)")


def anchor(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_pages_say_the_articles_rule_of_thumb_and_their_links_reach_a_heading():
    """A user has no "seed": the rule is the article's, explained in learning.md, where the links lead."""
    for page in PAGES:
        text = page.read_text()
        assert "seed article" not in text, page.name
        for target, fragment in LINK.findall(text):
            linked = (page.parent / target) if target else page
            headings = {anchor(line.lstrip("#")) for line in linked.read_text().splitlines() if line.startswith("#")}
            assert fragment in headings, f"{page.name}: {target}#{fragment}"
    assert "peaks + valleys + 2" in (ROOT / "docs" / "learning.md").read_text()
