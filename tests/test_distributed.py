"""Scrubbing and validating in chunks, in process and on a real Dask LocalCluster (2 worker processes):
the outputs are byte for byte those of the single-process run, whatever the split, and a worker
killed mid-job changes nothing."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from x12util import ClaimSpec, build_837

from scrubber.chunks import plan_chunks, scrub_file_in_chunks
from scrubber.engine import Scrubber
from scrubber.run import scrub_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
TODAY = date(2026, 11, 23)


def _gen() -> Any:
    spec = importlib.util.spec_from_file_location("gen_claims", ROOT / "bench" / "gen_claims.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def scrubber() -> Scrubber:
    return Scrubber(today=TODAY)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small job: the samples, two generated files (many transaction sets / one big one) and
    files with other delimiters and no newlines."""
    d = tmp_path_factory.mktemp("in")
    for f in SAMPLES.glob("*.837"):
        (d / f.name).write_bytes(f.read_bytes())
    gen = _gen()
    gen.write_file(d / "gen-many-st.837", 600, seed=3, claims_per_st=70)
    gen.write_file(d / "gen-one-st.837", 900, seed=4, claims_per_st=100_000)
    claims = [ClaimSpec(claim_id=f"K{i}") for i in range(40)]
    (d / "pipes.837").write_bytes(build_837(claims, element="|", component=">", segment="!", newline="",
                                            transactions=3))
    (d / "crlf.837").write_bytes(build_837(claims, newline="\r\n", transactions=2))
    return d


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _same(a: Path, b: Path) -> None:
    """Every output of ``a`` equals that of ``b`` byte for byte (paths inside reports aside)."""
    oa, ob = _outputs(a), _outputs(b)
    assert sorted(oa) == sorted(ob)
    for name, data in oa.items():
        assert data.replace(str(a).encode(), str(b).encode()) == ob[name], name


def _run_single(files: list[Path], out: Path, scrubber: Scrubber) -> None:
    out.mkdir()
    for f in files:
        stem = f.stem
        scrub_file(f, clean_out=out / f"{stem}.clean.837", held_out=out / f"{stem}.held.837",
                   report=out / f"{stem}.json", html=out / f"{stem}.html", scrubber=scrubber, progress=False)


# ---------------------------------------------------------------------------------------------
# in process: planning and merging
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_bytes", [150, 2_000, 30_000, 1 << 20])
def test_chunked_scrub_is_byte_identical(inputs: Path, scrubber: Scrubber, tmp_path: Path, chunk_bytes: int) -> None:
    files = sorted(inputs.glob("*.837"))
    _run_single(files, tmp_path / "a", scrubber)
    (tmp_path / "b").mkdir()
    for f in files:
        o = tmp_path / "b"
        scrub_file_in_chunks(f, scrubber, chunk_bytes=chunk_bytes, clean_out=o / f"{f.stem}.clean.837",
                             held_out=o / f"{f.stem}.held.837", report=o / f"{f.stem}.json", html=o / f"{f.stem}.html")
    _same(tmp_path / "a", tmp_path / "b")


@pytest.mark.parametrize("chunk_bytes", [2_000, 1 << 20])
def test_chunks_read_by_offset_with_spooled_pieces_are_byte_identical(inputs: Path, scrubber: Scrubber,
                                                                      tmp_path: Path, chunk_bytes: int) -> None:
    """The shared-storage path: each chunk read from the file by its offsets, its report pieces and
    claims through spool files (removed once merged)."""
    files = sorted(inputs.glob("*.837"))
    _run_single(files, tmp_path / "a", scrubber)
    (tmp_path / "b").mkdir()
    spool = tmp_path / "spool"
    spool.mkdir()
    for f in files:
        o = tmp_path / "b"
        scrub_file_in_chunks(f, scrubber, chunk_bytes=chunk_bytes, clean_out=o / f"{f.stem}.clean.837",
                             held_out=o / f"{f.stem}.held.837", report=o / f"{f.stem}.json", html=o / f"{f.stem}.html",
                             spool=spool)
    _same(tmp_path / "a", tmp_path / "b")
    assert list(spool.iterdir()) == []


def test_a_big_transaction_set_is_cut_at_subscriber_loops(inputs: Path) -> None:
    plan = plan_chunks(inputs / "gen-one-st.837", 20_000)
    assert plan is not None and len(plan.chunks) > 10
    assert plan.claims == 900
    assert sum(1 for c in plan.chunks if c.context_st >= 0) == len(plan.chunks) - 1    # all cut inside the ST


def test_a_file_that_cannot_be_cut_is_scrubbed_whole(tmp_path: Path, scrubber: Scrubber) -> None:
    bad = tmp_path / "lead.837"
    bad.write_bytes(b"\n" + (SAMPLES / "medicare-mb.837").read_bytes())
    assert plan_chunks(bad, 100) is None


def test_an_unreadable_chunk_gives_the_single_process_error(tmp_path: Path, scrubber: Scrubber) -> None:
    from edi.errors import X12Error

    data = (SAMPLES / "commercial-ci-bl.837").read_bytes()
    i = data.index(b"CLM|", len(data) // 2)
    bad = tmp_path / "bad.837"
    bad.write_bytes(data[:i] + b"CL@*" + data[i + 4:])
    with pytest.raises(X12Error) as single:
        scrub_file(bad, clean_out=tmp_path / "c1", scrubber=scrubber, progress=False)
    with pytest.raises(X12Error) as chunked:
        scrub_file_in_chunks(bad, scrubber, chunk_bytes=300, clean_out=tmp_path / "c2")
    assert str(single.value) == str(chunked.value)
    assert not (tmp_path / "c2").exists()


# ---------------------------------------------------------------------------------------------
# on a LocalCluster
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from dermedi.distributed import dask_client

    with dask_client(workers=2) as c:
        yield c


def _job(files: list[Path], out: Path) -> list[Any]:
    from dermedi.distributed import ScrubInput

    return [ScrubInput(f, out / f"{f.stem}.clean.837", out / f"{f.stem}.held.837", out / f"{f.stem}.json",
                       out / f"{f.stem}.html") for f in files]


def test_local_cluster_multi_file_job_is_byte_identical(inputs: Path, scrubber: Scrubber, client: Any,
                                                        tmp_path: Path) -> None:
    from dermedi.distributed import JobStats, ScrubSetup, scrub_distributed

    files = sorted(inputs.glob("*.837"))
    _run_single(files, tmp_path / "a", scrubber)
    (tmp_path / "b").mkdir()
    stats = JobStats()
    outcomes = scrub_distributed(_job(files, tmp_path / "b"), ScrubSetup(today=TODAY), client, chunk_bytes=8_000,
                                 stats=stats, progress=False)
    assert all(o.error is None for o in outcomes)
    assert stats.workers == 2 and stats.chunks > 2 * len(files) and stats.whole_files == 0
    assert stats.shared and stats.task_bytes == 0          # the workers read the inputs themselves
    _same(tmp_path / "a", tmp_path / "b")
    for p in (tmp_path / "b").iterdir():
        assert p.is_file(), p                               # the spool folder is gone
        assert p.stat().st_mode & 0o777 == 0o600


def test_local_cluster_without_shared_storage_is_byte_identical(inputs: Path, scrubber: Scrubber, client: Any,
                                                                tmp_path: Path) -> None:
    """``shared=False`` (a remote cluster without --spool-dir): chunks and results travel in the tasks."""
    from dermedi.distributed import JobStats, ScrubSetup, scrub_distributed

    files = sorted(inputs.glob("*.837"))
    _run_single(files, tmp_path / "a", scrubber)
    (tmp_path / "b").mkdir()
    stats = JobStats()
    outcomes = scrub_distributed(_job(files, tmp_path / "b"), ScrubSetup(today=TODAY), client, chunk_bytes=8_000,
                                 stats=stats, progress=False, shared=False)
    assert all(o.error is None for o in outcomes)
    assert not stats.shared and stats.task_bytes > 0       # the chunks' bytes went in the tasks
    _same(tmp_path / "a", tmp_path / "b")


def test_local_cluster_with_a_spool_dir(inputs: Path, scrubber: Scrubber, client: Any, tmp_path: Path) -> None:
    from dermedi.distributed import ScrubSetup, scrub_distributed

    files = sorted(inputs.glob("gen-*.837"))
    _run_single(files, tmp_path / "a", scrubber)
    (tmp_path / "b").mkdir()
    spool = tmp_path / "spool"
    scrub_distributed(_job(files, tmp_path / "b"), ScrubSetup(today=TODAY), client, chunk_bytes=8_000,
                      progress=False, spool_dir=spool)
    _same(tmp_path / "a", tmp_path / "b")
    assert spool.is_dir() and list(spool.iterdir()) == []   # its job folder removed


def test_local_cluster_split_single_file_is_byte_identical(inputs: Path, scrubber: Scrubber, client: Any,
                                                           tmp_path: Path) -> None:
    from dermedi.distributed import JobStats, ScrubSetup, scrub_distributed

    f = inputs / "gen-one-st.837"
    _run_single([f], tmp_path / "a", scrubber)
    (tmp_path / "b").mkdir()
    stats = JobStats()
    scrub_distributed(_job([f], tmp_path / "b"), ScrubSetup(today=TODAY), client, chunk_bytes=10_000, stats=stats,
                      progress=False)
    assert stats.chunks > 20
    _same(tmp_path / "a", tmp_path / "b")


def _kill_a_busy_worker(c: Any, *, at: int, killed: list[int]) -> Any:
    """An ``on_chunk`` callback that kills (SIGKILL) a busy worker process once ``at`` results are in."""
    pids: dict[str, int] = c.run(os.getpid)

    def kill_one(done: int, total: int) -> None:
        if done == at and not killed:
            busy = [w for w, keys in c.processing().items() if keys] or list(pids)
            pid = pids[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    return kill_one


def test_killing_a_worker_mid_job_changes_nothing(inputs: Path, scrubber: Scrubber, tmp_path: Path) -> None:
    from dermedi.distributed import JobStats, ScrubSetup, dask_client, scrub_distributed

    files = sorted(inputs.glob("gen-*.837"))
    _run_single(files, tmp_path / "a", scrubber)
    (tmp_path / "b").mkdir()
    killed: list[int] = []
    with dask_client(workers=2) as c:
        kill_one = _kill_a_busy_worker(c, at=3, killed=killed)
        stats = JobStats()
        outcomes = scrub_distributed(_job(files, tmp_path / "b"), ScrubSetup(today=TODAY), c, chunk_bytes=6_000,
                                     window=12, stats=stats, progress=False, on_chunk=kill_one)
        after = c.run(os.getpid)
    assert killed and killed[0] not in after.values()     # the worker process really died
    assert all(o.error is None for o in outcomes)
    _same(tmp_path / "a", tmp_path / "b")


@pytest.mark.parametrize("whole_file_bytes", [0, None, 10**9])
def test_small_inputs_of_a_job_go_whole_to_the_workers(inputs: Path, scrubber: Scrubber, client: Any, tmp_path: Path,
                                                       whole_file_bytes: int | None) -> None:
    """A job of many inputs: the small ones are one task each (the one-process scrub of the file on a
    worker, outputs staged and moved into place), the big ones are cut into chunks; none, the
    default share (job bytes / 4 x workers), or all of them whole: the same bytes."""
    from dermedi.distributed import JobStats, ScrubSetup, scrub_distributed

    files = sorted(inputs.glob("*.837"))
    _run_single(files, tmp_path / "a", scrubber)
    (tmp_path / "b").mkdir()
    stats = JobStats()
    outcomes = scrub_distributed(_job(files, tmp_path / "b"), ScrubSetup(today=TODAY), client, chunk_bytes=8_000,
                                 stats=stats, progress=False, whole_file_bytes=whole_file_bytes)
    assert all(o.error is None for o in outcomes)
    assert stats.whole_files == 0
    if whole_file_bytes == 0:
        assert stats.worker_files == 0 and stats.chunks > 2 * len(files)
    elif whole_file_bytes is None:
        assert 0 < stats.worker_files < len(files)          # the two generated files are big: chunked
    else:
        assert stats.worker_files == len(files) == stats.chunks
    assert stats.claims == sum(o.summary.claims for o in outcomes if o.summary is not None)
    _same(tmp_path / "a", tmp_path / "b")
    for p in (tmp_path / "b").iterdir():
        assert p.is_file(), p                               # the spool folder (and its staged files) is gone
        assert p.stat().st_mode & 0o777 == 0o600


def test_whole_files_on_workers_replace_and_remove_old_outputs_like_the_one_process_run(
        inputs: Path, scrubber: Scrubber, client: Any, tmp_path: Path) -> None:
    """Old outputs at the targets: replaced, or removed when this run writes none (no held claim)."""
    from dermedi.distributed import ScrubSetup, scrub_distributed

    files = sorted(inputs.glob("*.837"))
    for d in (tmp_path / "a", tmp_path / "b"):
        d.mkdir()
        for f in files:
            for suffix in (".clean.837", ".held.837", ".json", ".html"):
                (d / f"{f.stem}{suffix}").write_bytes(b"old output")
    for f in files:
        out = tmp_path / "a"
        scrub_file(f, clean_out=out / f"{f.stem}.clean.837", held_out=out / f"{f.stem}.held.837",
                   report=out / f"{f.stem}.json", html=out / f"{f.stem}.html", scrubber=scrubber, progress=False)
    scrub_distributed(_job(files, tmp_path / "b"), ScrubSetup(today=TODAY), client, progress=False,
                      whole_file_bytes=10**9)
    _same(tmp_path / "a", tmp_path / "b")
    left = {p.name for p in (tmp_path / "b").iterdir()}
    assert len(left) < 4 * len(files)                       # some input had no held (or no clean) claim
    assert all(b"old output" not in p.read_bytes() for p in (tmp_path / "b").iterdir())


def test_staged_outputs_are_put_in_place_across_filesystems(inputs: Path, scrubber: Scrubber, tmp_path: Path) -> None:
    """A spool folder on another filesystem than the outputs (e.g. ``--spool-dir`` on a shared
    mount): the staged outputs are copied, not renamed, and land as the one-process run's."""
    import tempfile

    from scrubber.run import STAGE_KINDS, place_staged

    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem here")
    f = inputs / "gen-many-st.837"
    _run_single([f], tmp_path / "a", scrubber)
    out = tmp_path / "b"
    out.mkdir()
    targets = {"clean_out": out / f"{f.stem}.clean.837", "held_out": out / f"{f.stem}.held.837",
               "report": out / f"{f.stem}.json", "html": out / f"{f.stem}.html"}
    with tempfile.TemporaryDirectory(dir=shm) as stage_dir:
        stage = {k: Path(stage_dir) / k for k in STAGE_KINDS}
        summary = scrub_file(f, scrubber=scrubber, progress=False, stage=stage, **targets)  # type: ignore[arg-type]
        assert list(out.iterdir()) == []                    # nothing in place before place_staged
        assert summary.clean_out == str(targets["clean_out"])
        place_staged(stage, **targets)
        assert not any(p.exists() for p in stage.values())  # moved, not left behind
    _same(tmp_path / "a", out)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in out.iterdir())


def test_killing_a_worker_running_whole_files_changes_nothing(scrubber: Scrubber, tmp_path: Path) -> None:
    from dermedi.distributed import JobStats, ScrubSetup, dask_client, scrub_distributed

    gen = _gen()
    (tmp_path / "in").mkdir()
    files = []
    for k in range(8):
        f = tmp_path / "in" / f"practice-{k}.837"
        gen.write_file(f, 500, seed=10 + k, claims_per_st=100)
        files.append(f)
    _run_single(files, tmp_path / "a", scrubber)
    (tmp_path / "b").mkdir()
    killed: list[int] = []
    with dask_client(workers=2) as c:
        kill_one = _kill_a_busy_worker(c, at=1, killed=killed)
        stats = JobStats()
        outcomes = scrub_distributed(_job(files, tmp_path / "b"), ScrubSetup(today=TODAY), c, window=8, stats=stats,
                                     whole_file_bytes=10**9,
                                     progress=False, on_chunk=kill_one)
        after = c.run(os.getpid)
    assert stats.worker_files == len(files)
    assert killed and killed[0] not in after.values()
    assert all(o.error is None for o in outcomes)
    _same(tmp_path / "a", tmp_path / "b")
    assert all(p.is_file() for p in (tmp_path / "b").iterdir())


def test_bad_input_among_several_is_reported_like_the_single_process_run(inputs: Path, scrubber: Scrubber,
                                                                         client: Any, tmp_path: Path) -> None:
    from dermedi.distributed import ScrubSetup, scrub_distributed, scrub_sequential

    data = (inputs / "gen-many-st.837").read_bytes()
    i = data.index(b"\nSV1*", len(data) // 2)
    bad = tmp_path / "bad.837"
    bad.write_bytes(data[:i] + b"\nsv1*" + data[i + 5:])
    files = [inputs / "medicare-mb.837", bad, inputs / "crlf.837"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    seq = scrub_sequential(_job(files, tmp_path / "a"), scrubber)
    dist = scrub_distributed(_job(files, tmp_path / "b"), ScrubSetup(today=TODAY), client, chunk_bytes=3_000,
                             progress=False)
    assert [o.error for o in seq] == [o.error for o in dist]
    assert seq[1].error is not None and "bad.837" in seq[1].error and "segment" in seq[1].error
    _same(tmp_path / "a", tmp_path / "b")
    assert not any(p.name.startswith("bad.") for p in (tmp_path / "b").iterdir())


def test_bad_input_scrubbed_whole_on_a_worker_is_reported_like_the_single_process_run(
        inputs: Path, scrubber: Scrubber, client: Any, tmp_path: Path) -> None:
    from dermedi.distributed import JobStats, ScrubSetup, scrub_distributed, scrub_sequential

    data = (inputs / "gen-many-st.837").read_bytes()
    i = data.index(b"\nSV1*", len(data) // 2)
    bad = tmp_path / "bad.837"
    bad.write_bytes(data[:i] + b"\nsv1*" + data[i + 5:])
    files = [inputs / "medicare-mb.837", bad, tmp_path / "missing.837", inputs / "crlf.837"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    seq = scrub_sequential(_job(files, tmp_path / "a"), scrubber)
    stats = JobStats()
    dist = scrub_distributed(_job(files, tmp_path / "b"), ScrubSetup(today=TODAY), client, progress=False,
                             stats=stats, whole_file_bytes=10**9)
    assert stats.worker_files == 3                          # the missing file stays with the coordinator
    assert [o.error for o in seq] == [o.error for o in dist]
    assert seq[1].error is not None and "bad.837" in seq[1].error and "segment" in seq[1].error
    assert seq[2].error is not None and "missing.837" in seq[2].error
    _same(tmp_path / "a", tmp_path / "b")
    assert not any(p.name.startswith(("bad.", "missing.")) for p in (tmp_path / "b").iterdir())


def test_validate_on_the_cluster_gives_the_sequential_findings(client: Any) -> None:
    from decimal import Decimal

    from x12util import LineSpec

    from edi.validate import validate_bytes

    claims = []
    for i in range(30):
        lines = [LineSpec(code="11102"), LineSpec(code="11103", units=Decimal("2"))]
        if i % 4 == 0:
            lines[1] = LineSpec(code="11103", pointers=[1, 9])
        claims.append(ClaimSpec(claim_id=f"V{i:03d}", diagnoses=["L570"] if i % 5 else ["L570", "Q123"], lines=lines))
    data = build_837(claims, transactions=2).replace(b"DMG*D8*19500101*F", b"DMG*D8*19500132*F")
    seq = validate_bytes(data, "v.837", parallel=False)
    par = validate_bytes(data, "v.837", workers=2, chunk_claims=4, executor=client.get_executor(pure=False))
    assert par.mode == "parallel" and seq.mode == "sequential"
    assert len(seq.findings) >= 30
    assert [f.format() for f in par.findings] == [f.format() for f in seq.findings]


# ---------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------

def test_cli_scrub_several_inputs_with_workers(inputs: Path, tmp_path: Path) -> None:
    from dermedi.cli import commands  # noqa: F401
    from dermedi.cli.app import app

    runner = CliRunner()
    files = [str(inputs / "medicare-mb.837"), str(inputs / "gen-many-st.837")]
    r1 = runner.invoke(app, ["scrub", *files, "--out-dir", str(tmp_path / "a"), "--today", TODAY.isoformat()])
    r2 = runner.invoke(app, ["scrub", *files, "--out-dir", str(tmp_path / "b"), "--today", TODAY.isoformat(),
                             "--workers", "2", "--chunk-bytes", "20000"])
    assert r1.exit_code == r2.exit_code == 1, (r1.output, r2.output)
    _same(tmp_path / "a", tmp_path / "b")
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["total"]["claims"] == 23 + 600 and len(summary["files"]) == 2


def test_cli_spool_dir_needs_a_cluster(inputs: Path, tmp_path: Path) -> None:
    from dermedi.cli import commands  # noqa: F401
    from dermedi.cli.app import app

    r = CliRunner().invoke(app, ["scrub", str(inputs / "medicare-mb.837"), "--out-dir", str(tmp_path / "o"),
                                 "--spool-dir", str(tmp_path / "s")])
    assert r.exit_code == 2 and "--spool-dir" in r.output


def test_cli_scrub_directory_needs_out_dir(inputs: Path) -> None:
    from dermedi.cli import commands  # noqa: F401
    from dermedi.cli.app import app

    r = CliRunner().invoke(app, ["scrub", str(inputs)])
    assert r.exit_code == 2 and "--out-dir" in r.output

