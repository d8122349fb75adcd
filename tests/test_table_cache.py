"""The per-user table cache (config/cache.py): used only while its sources are unchanged, never
trusted when someone else could have written it, and never changing what the scrubber decides."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config import cache
from config.cache import cached

ROOT = Path(__file__).resolve().parent.parent


class Box:
    def __init__(self, value: str) -> None:
        self.value = value


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("DERMEDI_CACHE_DIR", str(d))
    return d


@pytest.fixture
def source(tmp_path: Path) -> Path:
    p = tmp_path / "table.csv"
    p.write_text("code\n11102\n")
    return p


def _counting(value: str) -> tuple[list[int], object]:
    calls: list[int] = []

    def build() -> Box:
        calls.append(1)
        return Box(value)

    return calls, build


def test_second_load_comes_from_the_cache(folder: Path, source: Path) -> None:
    calls, build = _counting("v1")
    first = cached("t", [source], Box, build)  # type: ignore[arg-type]
    second = cached("t", [source], Box, build)  # type: ignore[arg-type]
    assert calls == [1]
    assert first.value == second.value == "v1" and first is not second
    (entry,) = folder.glob("t-*.pickle")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_changed_source_rebuilds(folder: Path, source: Path) -> None:
    cached("t", [source], Box, lambda: Box("old"))
    source.write_text("code\n11102\n11104\n")
    got = cached("t", [source], Box, lambda: Box("new"))
    assert got.value == "new"
    assert cached("t", [source], Box, lambda: Box("unused")).value == "new"


def test_two_installs_keep_their_own_entries_and_old_ones_go(folder: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("a")
    b.write_text("b")
    cached("t", [a], Box, lambda: Box("a"))
    cached("t", [b], Box, lambda: Box("b"))
    assert cached("t", [a], Box, lambda: Box("rebuilt")).value == "a"     # b's entry did not evict a's
    for i in range(cache.KEEP + 2):                                       # entries of many other sources
        src = tmp_path / f"s{i}.csv"
        src.write_text(str(i))
        cached("t", [src], Box, lambda i=i: Box(str(i)))  # type: ignore[misc]
    assert len(list(folder.glob("t-*.pickle"))) == cache.KEEP


def test_touched_source_rebuilds(folder: Path, source: Path) -> None:
    cached("t", [source], Box, lambda: Box("old"))
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cached("t", [source], Box, lambda: Box("new")).value == "new"


@pytest.mark.parametrize("damage", ["corrupt", "group-writable", "wrong-type", "folder-world-writable"])
def test_an_entry_that_cannot_be_trusted_is_rebuilt(folder: Path, source: Path, damage: str) -> None:
    cached("t", [source], Box, lambda: Box("cached"))
    (entry,) = folder.glob("t-*.pickle")
    if damage == "corrupt":
        entry.write_bytes(b"\x80\x05not a pickle")
    elif damage == "group-writable":
        entry.chmod(0o620)
    elif damage == "folder-world-writable":
        folder.chmod(0o777)
    else:
        import pickle

        key, _obj = pickle.loads(entry.read_bytes())
        entry.write_bytes(pickle.dumps((key, ["not", "a", "Box"])))
    assert cached("t", [source], Box, lambda: Box("rebuilt")).value == "rebuilt"


def test_off_writes_nothing(tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DERMEDI_CACHE_DIR", "off")
    assert cache.cache_dir() is None
    calls, build = _counting("x")
    cached("t", [source], Box, build)  # type: ignore[arg-type]
    cached("t", [source], Box, build)  # type: ignore[arg-type]
    assert calls == [1, 1]


def test_unwritable_folder_still_loads(tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("DERMEDI_CACHE_DIR", str(blocker / "sub"))     # a folder that cannot be made
    assert cached("t", [source], Box, lambda: Box("built")).value == "built"


def test_default_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DERMEDI_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "dermedi"


def test_cached_tables_scrub_the_samples_exactly_like_fresh_ones(tmp_path: Path) -> None:
    """The same decisions from tables loaded out of the cache as from tables built from the CSVs:
    two processes, the first fills a new cache, the second must load from it."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from edi.x837 import Parser837\n"
        "from scrubber.engine import Scrubber\n"
        "import config.cache as cc\n"
        "built = []\n"
        "real = cc.cached\n"
        "def spy(name, sources, kind, build):\n"
        "    def b():\n"
        "        built.append(name)\n"
        "        return build()\n"
        "    return real(name, sources, kind, b)\n"
        "cc.cached = spy\n"
        "from datetime import date\n"
        "s = Scrubber(today=date(2026, 11, 1))\n"
        "out = []\n"
        "for f in sorted(Path('samples').glob('*.837')):\n"
        "    for c in Parser837(f).claims():\n"
        "        r = s.scrub(c)\n"
        "        out.append([c.claim_id, r.status, [(x.rule, x.severity, x.line, x.message) for x in r.findings]])\n"
        "print(json.dumps({'built': sorted(built), 'results': out}))\n"
    )
    env = {**os.environ, "DERMEDI_CACHE_DIR": str(tmp_path / "c")}

    def run() -> dict[str, object]:
        import json

        proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout)  # type: ignore[no-any-return]

    fresh, warm = run(), run()
    assert fresh["built"] == ["code-tables", "drug-tables", "icd10cm"]
    assert warm["built"] == []
    assert warm["results"] == fresh["results"]
    assert any(r[1] == "held" for r in fresh["results"])  # type: ignore[union-attr, index]
    assert len(list((tmp_path / "c").glob("*.pickle"))) == 3
