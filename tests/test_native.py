"""The compiled (mypyc) build of the parse/scrub hot path: present, current, and the same code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dermedi import native

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(os.environ.get("DERMEDI_PURE_PYTHON", "") not in ("", "0"),
                    reason="pure-Python build requested with DERMEDI_PURE_PYTHON")
def test_hot_path_is_compiled() -> None:
    # `pip install -e .` compiles these; a broken mypyc build falls back to pure Python with a
    # warning, and this test is what turns that into a failure.
    assert native.build() == "compiled"
    import edi.x837
    import scrubber.rules.val

    assert edi.x837.__file__.endswith(".so") and scrubber.rules.val.__file__.endswith(".so")


def test_every_compiled_module_exists_as_source() -> None:
    for name in native.COMPILED_MODULES:
        assert ROOT.joinpath(*name.split(".")).with_suffix(".py").is_file(), name


def _tree(tmp_path: Path, *, source_newer: bool) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "edi").mkdir()
    src = tmp_path / "edi" / "x837.py"
    ext = tmp_path / "edi" / ("x837" + native._SUFFIXES[0])
    src.write_text("")
    ext.write_bytes(b"")
    old, new = 1_700_000_000, 1_700_000_100
    os.utime(src, (new, new) if source_newer else (old, old))
    os.utime(ext, (old, old) if source_newer else (new, new))
    return tmp_path


def test_stale_compiled_module_is_refused(tmp_path: Path) -> None:
    root = _tree(tmp_path, source_newer=True)
    with pytest.raises(native.StaleBuildError) as err:
        native.check_fresh(root)
    assert "edi/x837.py" in str(err.value) and "pip install -e ." in str(err.value)


def test_fresh_compiled_module_is_accepted(tmp_path: Path) -> None:
    native.check_fresh(_tree(tmp_path, source_newer=False))


def test_installed_copy_is_not_checked(tmp_path: Path) -> None:
    root = _tree(tmp_path, source_newer=True)
    (root / "pyproject.toml").unlink()      # an installed wheel: no checkout around it
    native.check_fresh(root)


def test_cli_refuses_a_stale_build(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def stale(root: Path) -> None:
        raise native.StaleBuildError("x837.so is older than edi/x837.py")

    monkeypatch.setattr(native, "check_fresh", stale)
    monkeypatch.setattr(sys, "argv", ["dermedi", "rules", "list"])
    from dermedi.cli.app import main

    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 4 and "older than edi/x837.py" in capsys.readouterr().err


def test_version_names_the_build() -> None:
    from typer.testing import CliRunner

    from dermedi.cli.app import app

    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.startswith("dermedi ") and native.build() in r.output


def test_rule_docs_survive_compilation() -> None:
    # compiled classes have no __doc__; Rule.doc() reads it from the .py beside the module
    from scrubber.engine import all_rules

    for rule in all_rules():
        doc = rule.doc()
        assert "## What it checks" in doc and "## Source" in doc, rule.id
