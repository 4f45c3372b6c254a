"""Check that the package parses and uses only stdlib names of the Python running it.

Run it with the lowest Python that ``pyproject.toml`` declares (it needs nothing but
the standard library, so no virtual environment)::

    PYENV_VERSION=3.10.13 python scripts/check_python_floor.py

Every module under ``src/`` is compiled by this interpreter (new syntax fails), and
every standard-library name it imports (``from typing import Self``) or reads from a
standard-library module (``typing.Self``, ``datetime.UTC``) must exist here. Names
guarded by ``if sys.version_info >= ...`` or ``TYPE_CHECKING`` are checked too: the
package has no such guards, and a checker that trusts them would miss real ones.
Prints one line per problem and exits 1 when there is any.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Standard modules of one platform only: not importable elsewhere, whatever the version.
PLATFORM_ONLY = {"msvcrt", "winreg", "winsound", "_winapi", "fcntl", "termios", "pwd", "grp"}


def _stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


def _has(module: str, name: str) -> bool:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False
    if hasattr(mod, name):
        return True
    try:  # a submodule: ``from concurrent import futures``
        importlib.import_module(f"{module}.{name}")
    except ImportError:
        return False
    return True


def problems_in(path: Path) -> list[str]:
    """Lines naming what ``path`` needs that this Python lacks."""
    text = path.read_text(encoding="utf-8")
    where = path.relative_to(ROOT)
    try:
        tree = compile(text, str(path), "exec", ast.PyCF_ONLY_AST)
    except SyntaxError as exc:
        return [f"{where}:{exc.lineno}: syntax this Python lacks: {exc.msg}"]
    found: list[str] = []
    aliases: dict[str, str] = {}  # local name -> stdlib module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _stdlib(alias.name) and alias.name not in PLATFORM_ONLY:
                    try:
                        importlib.import_module(alias.name)
                    except ImportError:
                        found.append(f"{where}:{node.lineno}: no module {alias.name}")
                        continue
                    aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not _stdlib(node.module) or node.module in {"__future__", *PLATFORM_ONLY}:
                continue
            for alias in node.names:
                if alias.name != "*" and not _has(node.module, alias.name):
                    found.append(f"{where}:{node.lineno}: {node.module}.{alias.name} is newer")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module and not _has(module, node.attr):
                found.append(f"{where}:{node.lineno}: {module}.{node.attr} is newer")
    return found


def main() -> int:
    found = [line for path in sorted((ROOT / "src").rglob("*.py")) for line in problems_in(path)]
    for line in found:
        print(line)
    version = ".".join(map(str, sys.version_info[:3]))
    print(f"Python {version}: {len(found)} problem(s)" if found else f"Python {version}: ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
