"""README.md and docs/: every relative link reaches its file and heading, and mkdocs.yml's
nav lists exactly the pages there are. Plain file reads, no subprocess and no mkdocs."""
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`+[^`\n]*`+")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are code, not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, punctuation but hyphens and
    underscores dropped, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")  # GitHub numbers repeated headings
    return found


def broken_links(page: Path) -> list[str]:
    """Each relative link of `page` whose file or heading does not exist, as 'target: why'."""
    broken = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"(https?:|mailto:)", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and (linked.is_dir() or linked.suffix != ".md"):
            broken.append(f"{target}: an anchor into something that is not a Markdown page")
        elif anchor and anchor not in anchors(linked):
            broken.append(f"{target}: no heading '{anchor}' in {linked.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_relative_link_and_anchor_resolves(page):
    assert broken_links(page) == []


def test_the_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Some Section: here\n")
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n[ok](other.md#some-section-here) [ok](#page) [web](https://example.org/x#y)\n"
                    "`[code](nowhere.md)`\n```\n[block](nowhere.md)\n```\n"
                    "[gone](missing.md) [bad anchor](other.md#no-such) [bad here](#nope)\n")
    assert broken_links(page) == [f"missing.md: no file {tmp_path / 'missing.md'}",
                                  "other.md#no-such: no heading 'no-such' in other.md",
                                  "#nope: no heading 'nope' in page.md"]


def test_headings_get_githubs_anchors():
    assert slug("How ablab is built") == "how-ablab-is-built"
    assert slug("SLURM / submitit") == "slurm--submitit"
    assert slug("Parallel jobs (joblib)") == "parallel-jobs-joblib"
    assert slug("`results.json` and [Reports](x.md)") == "resultsjson-and-reports"


def _nav_pages(nav) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_mkdocs_nav_lists_every_docs_page_and_only_those():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    docs = REPO / config.get("docs_dir", "docs")
    nav = _nav_pages(config["nav"])
    assert [p for p in nav if not (docs / p).is_file()] == []
    assert sorted(nav) == sorted(p.name for p in docs.glob("*.md"))


def test_readme_is_a_front_page():
    assert len((REPO / "README.md").read_text().splitlines()) <= 250
