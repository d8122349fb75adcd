"""Which of dermedi's modules are compiled with mypyc, and whether the compiled ones are current.

``setup.py`` compiles :data:`COMPILED_MODULES` (the parse and scrub hot path) unless
``DERMEDI_PURE_PYTHON=1``.  Compiled modules are ordinary CPython extensions built from the
same ``.py`` files; the ``.py`` files stay the source of truth.  Standard library only: setup.py
imports this module before any dependency is installed.
"""

from __future__ import annotations

import importlib.machinery
import sys
from pathlib import Path

#: Modules compiled by setup.py (dotted names).  Keep them pure: no database, no network.
COMPILED_MODULES: tuple[str, ...] = (
    "edi.errors",
    "edi.reader",
    "edi.x835",
    "edi.x837",
    "scrubber.engine",
    "scrubber.chunks",
    "scrubber.report",
    "scrubber.run",
    "scrubber.rules._common",
    "scrubber.rules.bx",
    "scrubber.rules.cmp",
    "scrubber.rules.des",
    "scrubber.rules.drg",
    "scrubber.rules.em",
    "scrubber.rules.exc",
    "scrubber.rules.lcd",
    "scrubber.rules.lrn",
    "scrubber.rules.mod",
    "scrubber.rules.moh",
    "scrubber.rules.ncci",
    "scrubber.rules.rep",
    "scrubber.rules.unt",
    "scrubber.rules.val",
)

#: The shared library mypyc writes for the group (at the top of the install).
GROUP_NAME = "dermedi_native"

_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)


class StaleBuildError(ImportError):
    """A compiled module is older than its source (an editable install not rebuilt)."""


def _extension_files(root: Path, name: str) -> list[Path]:
    base = root.joinpath(*name.split("."))
    return [p for p in base.parent.glob(base.name + ".*") if p.name.endswith(_SUFFIXES)]


def compiled_files(root: Path) -> list[Path]:
    """The compiled extension files of :data:`COMPILED_MODULES` (and the group library) under ``root``."""
    found: list[Path] = []
    for name in COMPILED_MODULES:
        found.extend(_extension_files(root, name))
    found.extend(p for p in root.glob(GROUP_NAME + "__mypyc.*") if p.name.endswith(_SUFFIXES))
    return found


def build() -> str:
    """``"compiled"`` when every hot-path module is a mypyc extension, ``"pure-python"`` when none
    is, ``"mixed"`` otherwise (imports the modules)."""
    import importlib

    kinds = {_is_extension(importlib.import_module(name)) for name in COMPILED_MODULES}
    if kinds == {True}:
        return "compiled"
    if kinds == {False}:
        return "pure-python"
    return "mixed"


def _is_extension(module: object) -> bool:
    return str(getattr(module, "__file__", "") or "").endswith(_SUFFIXES)


def check_fresh(root: Path) -> None:
    """Refuse compiled modules older than their ``.py`` in a source checkout (editable install).

    Only in a checkout (``root`` holds ``pyproject.toml``): an installed wheel's file times mean
    nothing.  Raises :class:`StaleBuildError` naming the module and the fix.
    """
    if not (root / "pyproject.toml").exists():
        return
    for name in COMPILED_MODULES:
        source = root.joinpath(*name.split(".")).with_suffix(".py")
        for ext in _extension_files(root, name):
            try:
                stale = source.stat().st_mtime > ext.stat().st_mtime
            except OSError:
                continue
            if stale:
                raise StaleBuildError(
                    f"{ext.name} is older than {name.replace('.', '/')}.py: the compiled module would run the "
                    "old code.  Rebuild with `pip install -e .` (or `DERMEDI_PURE_PYTHON=1 pip install -e .` "
                    "to run the .py files)")


if __name__ == "__main__":      # pragma: no cover - `python -m dermedi.native`
    sys.stdout.write(build() + "\n")
