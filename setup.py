"""Build script: compiles dermedi's hot path with mypyc (the metadata is in pyproject.toml).

The X12 reader, the 837P parser and the scrubber (engine and rules) are plain, strictly typed
Python; mypyc turns them into C extensions that run the same code about twice as fast (figures
in docs/performance.md).  Nothing else changes: same modules, same behaviour, same tests.

* ``DERMEDI_PURE_PYTHON=1 pip install -e .`` installs without compiling (and removes compiled
  modules an earlier build left in the source tree, so the ``.py`` files are what runs).
* Without a C compiler the extensions are skipped with a warning and the pure-Python modules
  are used (``dermedi --version`` says which build is installed).
* In an editable install the compiled modules sit next to their sources and win over them:
  after editing a compiled module, run ``pip install -e .`` again.  The CLI and the test
  session refuse to run with a compiled module older than its source (``dermedi.native``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from dermedi.native import COMPILED_MODULES, GROUP_NAME, compiled_files  # noqa: E402


def _pure() -> bool:
    return os.environ.get("DERMEDI_PURE_PYTHON", "").strip().lower() not in ("", "0", "false", "no")


def _remove_stale() -> None:
    for path in compiled_files(ROOT):
        path.unlink()


def _extensions() -> list[object]:
    if _pure():
        _remove_stale()
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:     # a build without the build requirements (e.g. --no-build-isolation)
        print("dermedi: mypyc not available, installing the pure-Python modules", file=sys.stderr)
        _remove_stale()
        return []
    sources = [name.replace(".", "/") + ".py" for name in COMPILED_MODULES]
    try:
        exts = mypycify(sources, opt_level="3", group_name=GROUP_NAME)
    except (Exception, SystemExit) as exc:     # mypyc's type check failed: keep the install working
        print(f"dermedi: WARNING: mypyc could not compile the hot path ({exc}); installing the pure-Python "
              "modules (slower; tests/test_native.py fails on such a build)", file=sys.stderr)
        _remove_stale()
        return []
    for ext in exts:
        ext.optional = True     # no C compiler: warn and keep the pure-Python modules
    return list(exts)


def _precompile() -> None:
    """Byte-compile the pure-Python modules in the source tree, as pip does for a regular install.

    An editable install runs them from here; where ``PYTHONDONTWRITEBYTECODE`` is set, Python never
    writes their ``__pycache__`` itself and recompiles every module on every run (~0.05 s of each
    ``dermedi`` start).  A stale ``.pyc`` is ignored by Python (its source mtime is checked), so this
    changes nothing but the start-up time."""
    import compileall

    for pkg in ("dermedi", "edi", "scrubber", "store", "remits", "clearinghouse", "config"):
        try:
            compileall.compile_dir(str(ROOT / pkg), quiet=1)
        except OSError:     # a read-only tree: Python compiles in memory, as before
            pass


setup(ext_modules=_extensions())
_precompile()
