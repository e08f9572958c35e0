"""No module of kwiff_scrapy imports from a layer above its own.

The layers are those of the package docstring (``kwiff_scrapy/__init__.py``), lowest
first. Every import counts: at module level, inside a function, and under
``if TYPE_CHECKING:`` (a type that only the type checker sees still ties a lower layer
to a higher one's design). Units in the same layer are independent of each other.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kwiff_scrapy"

#: The package's units (its folders, and its top-level modules), lowest layer first.
#: ``""`` is the package itself (``__init__.py``: the names ``import kwiff_scrapy`` gives).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"defaults", "websockets_internals"}),
    frozenset({"protocol"}),
    frozenset({"model"}),
    frozenset({"simulator"}),
    frozenset({"connection"}),
    frozenset({"integration", "client"}),
    frozenset({"distributed", "history"}),
    frozenset({"spiders", "pipelines", "dashboard", "monitoring"}),
    frozenset({"commands", "project"}),
    frozenset({"", "settings"}),
)


def module_name(path: Path, package: Path) -> str:
    """``kwiff_scrapy.model.parsing`` for ``kwiff_scrapy/model/parsing.py``."""
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str, package: Path) -> bool:
    """Whether *dotted* (under the package) names a module or a subpackage of it."""
    relative = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    return (package / relative).with_suffix(".py").is_file() or (
        package / relative / "__init__.py"
    ).is_file()


def imported_modules(path: Path, package: Path) -> list[tuple[int, str]]:
    """Every module of the package *path* imports (line, dotted name), wherever the
    import statement is."""
    name = module_name(path, package)
    own_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own_package.split(".")[: len(own_package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.append((node.lineno, submodule if is_module(submodule, package) else source))
    return sorted(
        {(line, dotted) for line, dotted in found if dotted.split(".")[0] == package.name}
    )


def unit_of(dotted: str) -> str:
    """The unit a module belongs to: ``model`` for ``kwiff_scrapy.model.parsing``."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward_imports(package: Path, layers: tuple[frozenset[str], ...]) -> list[str]:
    """One line per import from a unit to one in a layer above it or beside it."""
    rank = {unit: position for position, members in enumerate(layers) for unit in members}
    problems = []
    for path in sorted(package.rglob("*.py")):
        importer = unit_of(module_name(path, package))
        for line, dotted in imported_modules(path, package):
            imported = unit_of(dotted)
            if imported == importer:
                continue
            where = f"{path.relative_to(package.parent)}:{line} imports {dotted}"
            unplaced = [unit for unit in (importer, imported) if unit not in rank]
            if unplaced:
                problems.append(f"{where}: {unplaced[0]!r} is in no layer")
            elif rank[imported] > rank[importer]:
                problems.append(f"{where}, a layer above {importer or 'the package'}")
            elif rank[imported] == rank[importer]:
                problems.append(f"{where}, beside {importer or 'the package'} in one layer")
    return problems


def units(package: Path) -> set[str]:
    """The package's folders and top-level modules, and ``""`` for the package."""
    return {unit_of(module_name(path, package)) for path in package.rglob("*.py")}


def test_no_module_imports_from_a_higher_layer() -> None:
    assert upward_imports(PACKAGE, LAYERS) == []


def test_every_unit_of_the_package_has_a_layer() -> None:
    placed = set().union(*LAYERS)
    assert units(PACKAGE) - placed == set(), "add the new unit to LAYERS and the docstring"
    assert placed - units(PACKAGE) == set(), "a unit of LAYERS no longer exists"


def test_the_package_docstring_lists_the_layers_in_order() -> None:
    import kwiff_scrapy

    text = kwiff_scrapy.__doc__ or ""

    def position(unit: str) -> int:
        name = f"``{unit}/``" if (PACKAGE / unit).is_dir() else f"``{unit}.py``"
        assert name in text, f"the package docstring does not name {name}"
        return text.index(name)

    placed = [[position(unit) for unit in members if unit] for members in LAYERS]
    placed = [positions for positions in placed if positions]
    for lower, higher in itertools.pairwise(placed):
        assert max(lower) < min(higher), "the docstring lists the layers in another order"


# -- the check itself, on a package made for it ----------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


LOW_HIGH = (frozenset({"low"}), frozenset({"high", "side"}))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ..high import thing\n", "pkg/low/a.py:1 imports pkg.high, a layer above low"),
        ("from ..high.b import thing\n", "pkg/low/a.py:1 imports pkg.high.b, a layer above low"),
        ("from .. import high\n", "pkg/low/a.py:1 imports pkg.high, a layer above low"),
        ("import pkg.high.b\n", "pkg/low/a.py:1 imports pkg.high.b, a layer above low"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..high import b\n",
            "pkg/low/a.py:3 imports pkg.high.b, a layer above low",
        ),
        (
            "def later():\n    from pkg.high.b import thing\n",
            "pkg/low/a.py:2 imports pkg.high.b, a layer above low",
        ),
        ("from ..elsewhere import x\n", "pkg/low/a.py:1 imports pkg.elsewhere: 'elsewhere'"),
    ],
)
def test_an_import_from_a_higher_layer_is_reported(
    tmp_path: Path, source: str, expected: str
) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "",
            "low/a.py": source,
            "high/__init__.py": "",
            "high/b.py": "from ..low import a\nfrom ..low.a import thing\n",
            "side.py": "",
            "elsewhere/__init__.py": "",
        },
    )
    problems = upward_imports(package, LOW_HIGH)
    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_an_import_between_units_of_one_layer_is_reported(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {"__init__.py": "", "low/__init__.py": "", "high/__init__.py": "from .. import side\n"},
    )
    package.joinpath("side.py").write_text("", encoding="utf-8")
    assert upward_imports(package, LOW_HIGH) == [
        "pkg/high/__init__.py:1 imports pkg.side, beside high in one layer"
    ]


def test_imports_downwards_and_within_a_unit_are_fine(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "from . import a\n",
            "low/a.py": "import json\nfrom .b import c\n",
            "low/b.py": "c = 1\n",
            "high/__init__.py": "from ..low.a import c\nimport pkg.low\n",
        },
    )
    package.joinpath("side.py").write_text("import pkg.low.b\n", encoding="utf-8")
    assert upward_imports(package, LOW_HIGH) == []
