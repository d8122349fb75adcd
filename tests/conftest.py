"""Shared, generic fixtures.  Keep this file small: put topic fixtures in the test modules.

* ``data_dir``            -> Path of tests/data
* ``minimal_837_path``    -> Path of tests/data/minimal.837 (a valid hand-made 837P)
* ``minimal_837``         -> its bytes
* ``assert_pyx12_valid``  -> function(path_or_bytes, name=None): fails the test unless the
  X12 text (837P, 835, 999, ... any transaction pyx12 has a 5010 map for) validates clean
  under pyx12 AND the dermedi reader finds no envelope problem (SE01, control numbers,
  GE01, IEA01).  Call it on every 837P / 999 that dermedi writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test stale compiled modules (an editable install not rebuilt after an edit), and give
    the session (and the CLI runs it starts) a table cache of its own (config/cache.py)."""
    import tempfile

    from dermedi.native import StaleBuildError, check_fresh

    try:
        check_fresh(DATA.parent.parent)
    except StaleBuildError as exc:
        raise pytest.UsageError(str(exc)) from None
    os.environ["DERMEDI_CACHE_DIR"] = tempfile.mkdtemp(prefix="dermedi-test-cache-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import shutil

    folder = os.environ.get("DERMEDI_CACHE_DIR", "")
    if "dermedi-test-cache-" in folder:
        shutil.rmtree(folder, ignore_errors=True)


def pyx12_problems(source: str | os.PathLike[str] | bytes, name: str | None = None) -> list[str]:
    """Every pyx12 error and dermedi envelope finding for the X12 text, formatted."""
    from edi.validate import pyx12_check

    if isinstance(source, bytes):
        data, label = source, name or "<bytes>"
    else:
        data, label = Path(source).read_bytes(), name or str(source)
    return [f.format() for f in pyx12_check(data, label)]


def assert_pyx12_valid_impl(source: str | os.PathLike[str] | bytes, name: str | None = None) -> None:
    problems = pyx12_problems(source, name)
    assert not problems, "pyx12 5010 validation failed:\n" + "\n".join(problems[:50])


@pytest.fixture
def assert_pyx12_valid() -> Callable[..., None]:
    return assert_pyx12_valid_impl


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def minimal_837_path() -> Path:
    return DATA / "minimal.837"


@pytest.fixture
def minimal_837(minimal_837_path: Path) -> bytes:
    return minimal_837_path.read_bytes()
