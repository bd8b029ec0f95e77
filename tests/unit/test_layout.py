"""What the README and the guides say about the repository is true: every path they
cite exists, the developer guide's Layout names every package and nothing that is
gone, and tests/unit mirrors the package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "services" / "quoteflow"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE = re.compile(r"`([^`\s]+)`")
PATH = re.compile(r"^\.?[\w.-]+(/[\w.*-]+)*/?$")
# a Layout line: names (one or two spaces apart), then three spaces or more, then words
NAME = re.compile(r"^[\w.-]+(/[\w.-]+)*/?$")


def cited_paths(text: str) -> list[str]:
    """Backticked repository paths: under a top-level folder of the repo, or of the
    package (the guides say `products/base.py` for services/quoteflow/products/base.py).
    var/ is what a run writes (gitignored), never a path of the repository."""
    tops = {p.name for p in ROOT.iterdir()} - {"var"}
    found = []
    for token in CODE.findall(text):
        token = token.rstrip(".,:;")
        if "/" in token and "://" not in token and not token.startswith("/") \
                and PATH.match(token) and token.split("/")[0] in tops | _packages():
            found.append(token)
    return found


def _packages() -> set[str]:
    return {p.name for p in PKG.iterdir() if p.is_dir() and not p.name.startswith("__")}


def _exists(token: str) -> bool:
    base = ROOT if (ROOT / token.split("/")[0]).exists() else PKG
    return (base / token).exists() or any(base.glob(token))


def layout_paths() -> list[Path]:
    """Every file and folder the developer guide's Layout tree names, by indentation."""
    text = (ROOT / "docs" / "developer.md").read_text()
    match = re.search(r"## Layout\n\n```\n(.*?)```", text, re.S)
    assert match, "docs/developer.md has no ## Layout tree"
    stack: list[tuple[int, Path]] = []
    paths = []
    for line in match.group(1).splitlines():
        indent = len(line) - len(line.lstrip())
        names = re.split(r"\s{3,}", line.strip())[0].split()
        if not names or not all(NAME.match(n) and ("/" in n or "." in n or n[0].isupper())
                                for n in names):
            continue  # a description's second line
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ROOT
        paths += [parent / n for n in names]
        if len(names) == 1 and names[0].endswith("/"):
            stack.append((indent, parent / names[0]))
    return paths


def test_every_path_the_readme_and_guides_cite_exists() -> None:
    cited = {f"{page.relative_to(ROOT)}: {token}"
             for page in PAGES for token in cited_paths(page.read_text())
             if not _exists(token)}
    assert not cited, sorted(cited)
    readme = cited_paths((ROOT / "README.md").read_text())
    assert "scripts/bootstrap.sh" in readme  # the parser finds what the README cites


def test_every_path_the_layout_names_exists() -> None:
    paths = layout_paths()
    assert len(paths) >= 30 and PKG / "products" / "base.py" in paths
    missing = [str(p.relative_to(ROOT)) for p in paths if not p.exists()]
    assert not missing, missing


def test_the_layout_names_every_package() -> None:
    named = set(layout_paths())
    missing = [f"services/quoteflow/{d}/" for d in sorted(_packages())
               if PKG / d not in named]
    assert not missing, f"docs/developer.md's Layout omits {missing}"


def test_unit_test_folders_mirror_the_package() -> None:
    unit = ROOT / "tests" / "unit"
    folders = [d.relative_to(unit) for d in unit.rglob("*")
               if d.is_dir() and d.name != "__pycache__"]
    assert len(folders) >= 15
    strays = [f"tests/unit/{f}" for f in folders if not (PKG / f).is_dir()]
    assert not strays, f"no package folder of that name: {strays}"
