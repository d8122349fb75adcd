"""Scrubbing and validating on a Dask cluster (``dermedi scrub|validate --workers N / --scheduler URL``).

The shell layer: it starts (or connects to) the cluster, sends chunks of the input files to the
workers and merges their results in file order.  The work itself is done by pure functions of
the lower layers (:func:`scrubber.chunks.scrub_chunk`, :func:`edi.validate.validate_file`'s
chunked mode); :func:`scrub_chunk_task` only adds the per-worker Scrubber, built once per worker
process (code tables, payer profiles) and kept in a module-level cache.

Whole files: with shared storage, each small input of a job of many (:func:`whole_on_workers`)
is one task, :func:`scrub_file_task`: the one-process scrub of the file on a worker, outputs
staged in the spool folder and moved into place by the coordinator in file order.  The other
inputs are cut into chunks.

Ordering and exactly-once: every chunk (or whole file) is one Dask task; the coordinator keeps a
bounded window of tasks in flight and takes their results strictly in file order, so each chunk's claims are
written once, where they belong, whichever worker ran it and however often (Dask runs a task
again on another worker when its worker dies).  Memory: the coordinator holds the results of
at most ``window`` chunks, never a whole file.

Shared storage (``shared=True``: a LocalCluster, or ``--spool-dir`` on a cluster that sees the
same paths): a task carries only the input's path and the chunk's byte range; the worker reads
those bytes itself and writes the chunk's JSON entries, HTML blocks and claims (837P text with
keys) to private (0600) spool files in a private spool folder on the outputs' filesystem, and
sends back only the chunk's share of the summary and the files' names.  The coordinator merges
the claims and copies the report pieces into the reports in order (``os.copy_file_range``),
and removes the spool folder at the end.  Without
shared storage (``shared=False``, a remote ``--scheduler`` without ``--spool-dir``) the chunk's
bytes travel inside the task and every result comes back in the task's answer, so workers need
no access to the files.  Either way workers need dermedi installed, and the same configuration
file path if ``--config`` is given (and the database for ``--ncci-db``).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from edi.errors import X12Error
from scrubber.chunks import (
    DEFAULT_CHUNK_BYTES,
    ChunkResult,
    ChunkSpec,
    FileMerger,
    FilePlan,
    plan_chunks,
    scrub_chunk,
)
from scrubber.engine import Scrubber
from scrubber.run import STAGE_KINDS, ScrubSummary, place_staged, scrub_file


class SetupError(Exception):
    """The configuration a Scrubber needs could not be loaded (exit code 3)."""


@dataclass(frozen=True)
class ScrubSetup:
    """What a worker needs to build the same Scrubber as the coordinator."""

    config: str | None = None
    today: date | None = None
    ncci_db: bool = False
    learned: str | None = None        # --learned (else the [learning] table of the configuration)
    no_learned: bool = False


_SCRUBBERS: dict[ScrubSetup, Scrubber] = {}


def build_scrubber(setup: ScrubSetup) -> Scrubber:
    """A Scrubber for ``setup``, built once per process (tables loaded once per worker)."""
    scrubber = _SCRUBBERS.get(setup)
    if scrubber is not None:
        return scrubber
    import gc

    from config.coverage import CoverageError, coverage_for_data_dir
    from config.learned import LearnedTableError, load_learned_table
    from config.payers import PayerConfigError, load_payer_profiles
    from config.settings import ConfigError, load_settings
    from config.tables import TableError

    try:
        settings = load_settings(setup.config)
        payers = load_payer_profiles(settings.payers)
        coverage = coverage_for_data_dir(settings.data_dir)    # with `dermedi tables import-mcd`'s file
        tables = None
        if setup.ncci_db:
            from store import open_database
            from store.ncci import load_tables_with_db

            tables = load_tables_with_db(open_database(settings.database.url))
        table_path = None if setup.no_learned else (setup.learned or settings.learning.table)
        learned = load_learned_table(table_path) if table_path else None
        scrubber = Scrubber(payers=payers, today=setup.today, tables=tables,  # type: ignore[arg-type]
                            coverage=coverage, learned=learned)
    except (ConfigError, PayerConfigError, TableError, CoverageError, LearnedTableError) as exc:
        raise SetupError(str(exc)) from None
    freeze_tables()
    # as the CLI's main() does for a one-process scrub: collect young objects less often
    gc.set_threshold(20000, 20, 20)
    _SCRUBBERS[setup] = scrubber
    return scrubber


def warm_worker(setup: ScrubSetup) -> None:
    """A Dask task: build this worker's Scrubber now (while the coordinator plans the job)."""
    build_scrubber(setup)


def freeze_tables() -> None:
    """Load the ICD-10-CM set now and move the long-lived tables out of the cyclic garbage
    collector's reach (``gc.freeze``)."""
    import gc

    from config.icd10cm import Icd10Error, load_icd10cm

    with contextlib.suppress(Icd10Error, OSError):    # reported by the rule that needs the set, as before
        load_icd10cm()
    gc.freeze()


def scrub_chunk_task(setup: ScrubSetup, source: bytes | str, name: str, spec: ChunkSpec, json_report: bool,
                     html_report: bool, spool: str | None = None) -> ChunkResult:
    """The Dask task: scrub one chunk with this worker's Scrubber.  ``source``: the chunk's bytes,
    or the input's path (the worker reads the chunk's byte range); ``spool``: the path prefix of
    its report pieces (:func:`scrubber.chunks.scrub_chunk`)."""
    import gc

    scrubber = build_scrubber(setup)
    # No automatic collection during the task, one young collection after it: a worker holds
    # results and Dask's own objects, which automatic collections walked again and again
    # (~10% of a worker's CPU); the chunk's garbage cycles are all young.
    enabled = gc.isenabled()
    gc.disable()
    try:
        data = spec.read(source) if isinstance(source, str) else source
        res = scrub_chunk(scrubber, data, name, spec, json_report=json_report, html_report=html_report, spool=spool)
    finally:
        if enabled:
            gc.enable()
    gc.collect(0)
    return res


@dataclass
class WholeResult:
    """What :func:`scrub_file_task` sends back: the file's summary and where its outputs were
    staged (kind -> path), or the error that made it unreadable."""

    summary: ScrubSummary | None = None
    error: str | None = None
    stage: dict[str, Path] | None = None
    cpu_seconds: float = 0.0


def scrub_file_task(setup: ScrubSetup, path: str, inp: ScrubInput, stage_dir: str) -> WholeResult:
    """The Dask task for a small input of a job of many: the one-process scrub of the whole file
    (:func:`scrubber.run.scrub_file`) on this worker, its outputs written to ``stage_dir`` (under
    names of this process, so a run again elsewhere writes its own) for the coordinator to put in
    place.  ``path``: the input as this worker reads it; the summary names it as given."""
    scrubber = build_scrubber(setup)
    t0 = time.thread_time()
    pid = os.getpid()
    stage = {k: Path(stage_dir) / f"{k}.{pid}" for k in STAGE_KINDS}
    try:
        summary = scrub_file(path, clean_out=inp.clean_out, held_out=inp.held_out, report=inp.report, html=inp.html,
                             scrubber=scrubber, progress=False, stage=stage, label=str(inp.source))
    except X12Error as exc:
        return WholeResult(error=str(exc))
    except OSError as exc:
        return WholeResult(error=f"{inp.source}: {exc.strerror or exc}")
    return WholeResult(summary, stage=stage, cpu_seconds=time.thread_time() - t0)


def whole_on_workers(inputs: Sequence[ScrubInput], workers: int, whole_file_bytes: int | None = None) -> list[bool]:
    """Which inputs of a job go to a worker whole (one task each) rather than in chunks: with two
    inputs or more, those of at most ``whole_file_bytes`` (default: the job's bytes / (4 x
    workers), so that whole files still share out evenly).  Unreadable ones stay with the
    coordinator (for the one-process error)."""
    if len(inputs) < 2:
        return [False] * len(inputs)
    sizes: list[int] = []
    for inp in inputs:
        try:
            sizes.append(inp.source.stat().st_size)
        except OSError:
            sizes.append(-1)
    limit = whole_file_bytes if whole_file_bytes is not None else sum(max(s, 0) for s in sizes) // (4 * max(1, workers))
    return [0 <= s <= limit for s in sizes]


# ------------------------------------------------------------------------------------------
# The cluster
# ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: on a new LocalCluster of ``workers`` processes (one thread each,
    on 127.0.0.1, no dashboard), or on the existing cluster at ``scheduler`` (tcp://HOST:PORT)."""
    import logging

    from distributed import Client, LocalCluster

    for name in ("distributed", "distributed.nanny", "distributed.worker", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.CRITICAL)   # their errors reach us as exceptions
    import dask

    if scheduler:
        with Client(scheduler, timeout="30s") as client:  # type: ignore[no-untyped-call]
            yield client
        return
    # The workers' statistical profiler samples the task thread every 10 ms: not needed here.
    # glibc's malloc: Dask sets MALLOC_TRIM_THRESHOLD_=64 KiB for its workers, which also turns
    # off glibc's dynamic mmap threshold, so every large string of a chunk (its bytes, the JSON
    # and HTML texts: ~10 MB per 1 MiB chunk) was a fresh mmap, faulted in page by page (20x the
    # page faults of a one-process scrub).  A job's cluster lives for one command: keep freed
    # memory for reuse instead.
    malloc = {"MALLOC_TRIM_THRESHOLD_": str(256 << 20), "MALLOC_MMAP_THRESHOLD_": str(32 << 20)}
    with dask.config.set({"distributed.worker.profile.enabled": False,
                          **{f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in malloc.items()}}), \
            LocalCluster(n_workers=max(1, workers or 1), threads_per_worker=1,  # type: ignore[no-untyped-call]
                         processes=True, host="127.0.0.1", dashboard_address=None,
                         silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client


@contextlib.contextmanager
def validation_executor(workers: int | None = None, scheduler: str | None = None) -> Iterator[Executor]:
    """A ``concurrent.futures`` executor on the Dask cluster, for :func:`edi.validate.validate_file`."""
    with dask_client(workers, scheduler) as client:
        yield client.get_executor(pure=False)


def cluster_workers(client: Any) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


# ------------------------------------------------------------------------------------------
# A scrub job
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScrubInput:
    source: Path
    clean_out: Path | None = None
    held_out: Path | None = None
    report: Path | None = None
    html: Path | None = None


@dataclass
class FileOutcome:
    input: ScrubInput
    summary: ScrubSummary | None = None
    error: str | None = None


@dataclass
class _FileState:
    input: ScrubInput
    plan: FilePlan | None
    merger: FileMerger | None = None
    failed: bool = False
    outcome: FileOutcome | None = None
    done_chunks: int = 0


@dataclass
class JobStats:
    chunks: int = 0
    claims: int = 0
    whole_files: int = 0           # scrubbed whole by the coordinator (no plan, or a chunk could not be read)
    worker_files: int = 0          # scrubbed whole by a worker (small inputs of a job of many), one task each
    workers: int = 0
    plan_seconds: float = 0.0      # coordinator: cutting the files into chunks (or waiting for the plans)
    merge_seconds: float = 0.0     # coordinator: writing the chunk results
    wait_seconds: float = 0.0      # coordinator: waiting for the next result in order
    submit_seconds: float = 0.0    # coordinator: reading chunk bytes (without shared storage) and submitting tasks
    task_cpu_seconds: float = 0.0  # workers: the tasks' own CPU time
    task_bytes: int = 0            # input bytes sent to the workers (0 with shared storage: they read them)
    shared: bool = False           # workers read the inputs and write report pieces to a spool folder
    job_seconds: float = 0.0       # coordinator: the whole scrub_distributed call
    coordinator_cpu_seconds: float = 0.0   # coordinator process CPU during the call (with the Dask scheduler
                                           # of a LocalCluster, which runs in this process)


def scrub_sequential(inputs: list[ScrubInput], scrubber: Scrubber, *,
                     progress: bool | None = None) -> list[FileOutcome]:
    """The single-process job: :func:`scrubber.run.scrub_file` on each input in turn."""
    out: list[FileOutcome] = []
    for inp in inputs:
        out.append(_scrub_whole(inp, scrubber, progress))
    return out


def _scrub_whole(inp: ScrubInput, scrubber: Scrubber, progress: bool | None = False) -> FileOutcome:
    try:
        summary = scrub_file(inp.source, clean_out=inp.clean_out, held_out=inp.held_out, report=inp.report,
                             html=inp.html, scrubber=scrubber, progress=progress)
    except X12Error as exc:
        return FileOutcome(inp, error=str(exc))
    except OSError as exc:
        return FileOutcome(inp, error=f"{inp.source}: {exc.strerror or exc}")
    return FileOutcome(inp, summary)


def plan_job(inputs: list[ScrubInput], chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> list[FilePlan | None]:
    """The chunks of every input (None: scrubbed whole), :func:`scrubber.chunks.plan_chunks`."""
    plans: list[FilePlan | None] = []
    for inp in inputs:
        try:
            plans.append(plan_chunks(inp.source, chunk_bytes))
        except OSError:
            plans.append(None)
    return plans


def _spool_folder(inputs: list[ScrubInput], spool_dir: str | os.PathLike[str] | None, *,
                  outputs: bool = False) -> str | None:
    """A new private (0700) folder for the report pieces: in ``spool_dir``, else next to the first
    report (so the pieces are on the reports' filesystem and copied in the kernel); with
    ``outputs`` (whole files staged there), next to the first output of any kind if no report."""
    if spool_dir is None:
        kinds = [(inp.report, inp.html) for inp in inputs]
        if outputs:
            kinds += [(inp.clean_out, inp.held_out) for inp in inputs]
        first = next((p for pair in kinds for p in pair if p is not None), None)
        if first is None:
            return None
        spool_dir = first.parent
    folder = Path(spool_dir)
    folder.mkdir(parents=True, mode=0o700, exist_ok=True)
    return os.path.abspath(tempfile.mkdtemp(prefix=".dermedi-spool-", dir=folder))


def scrub_distributed(inputs: list[ScrubInput], setup: ScrubSetup, client: Any, *,
                      chunk_bytes: int = DEFAULT_CHUNK_BYTES, window: int | None = None,
                      progress: bool | None = None, stats: JobStats | None = None,
                      on_chunk: Callable[[int, int], None] | None = None, shared: bool = True,
                      spool_dir: str | os.PathLike[str] | None = None,
                      plans: Sequence[FilePlan | Future[FilePlan | None] | None] | None = None,
                      whole_file_bytes: int | None = None) -> list[FileOutcome]:
    """Scrub ``inputs`` on the cluster behind ``client``: outputs byte-identical to
    :func:`scrub_sequential`.  ``on_chunk(done, total)`` is called after each merged chunk.

    ``shared``: the workers see the inputs at the same paths and can write ``spool_dir`` (default:
    a folder next to the first report), see the module's docstring; else chunks and results
    travel in the tasks.  ``plans``: :func:`plan_job` of ``inputs``, if already made, or futures
    of each input's plan (being made in another thread): without a progress bar or ``on_chunk``,
    a file's chunks are then submitted as soon as its own plan is there.

    With shared storage, the small inputs of a job of many (:func:`whole_on_workers`,
    ``whole_file_bytes``; 0: none) are each one task that scrubs the whole file on a worker, as
    the one-process run does, and writes its outputs to the spool folder; the coordinator moves
    them into place in file order (no plan, no merge)."""
    stats = stats if stats is not None else JobStats()
    t_job, cpu_job = time.perf_counter(), time.process_time()
    n_workers = cluster_workers(client)
    stats.workers = n_workers
    stats.shared = shared
    window = window or max(4, 3 * n_workers)
    warm = [client.submit(warm_worker, setup, workers=[addr], allow_other_workers=False, pure=False,
                          key=f"dermedi-warm-{os.getpid()}-{id(stats)}-{k}")
            for k, addr in enumerate(client.scheduler_info().get("workers", {}))]
    show_bar = progress if progress is not None else sys.stderr.isatty()
    lazy = plans is not None and not show_bar and on_chunk is None
    whole = whole_on_workers(inputs, n_workers, whole_file_bytes) if shared else [False] * len(inputs)
    t_plan = time.perf_counter()
    if plans is None:
        plans = [None if w and not show_bar else plan_job([inp], chunk_bytes)[0]    # (a bar counts every claim)
                 for inp, w in zip(inputs, whole, strict=True)]
    if not lazy:
        plans = [p.result() if isinstance(p, Future) else p for p in plans]
    stats.plan_seconds = time.perf_counter() - t_plan
    plan_of = list(plans)
    for i, w in enumerate(whole):
        future = plan_of[i]
        if w and isinstance(future, Future):    # lazy: this file needs no plan (unless it is being made)
            future.cancel()
            plan_of[i] = None
    states = [_FileState(inp, None if isinstance(p, Future) else p) for inp, p in zip(inputs, plan_of, strict=True)]
    spool = _spool_folder(inputs, spool_dir, outputs=any(whole)) if shared else None
    total_chunks = sum(len(s.plan.chunks) if s.plan is not None and not w else 1 for s, w in zip(states, whole,
                                                                                                strict=True))
    total_claims = sum(s.plan.claims for s in states if s.plan is not None)
    local: list[Scrubber] = []

    def local_scrubber() -> Scrubber:
        if not local:
            local.append(build_scrubber(setup))
        return local[0]

    bar = _JobProgress(total_claims) if show_bar else None
    pending: deque[tuple[int, ChunkSpec | None, Any]] = deque()
    done = 0

    def tasks() -> Iterator[tuple[int, ChunkSpec | None, Any]]:
        for i, st in enumerate(states):
            if whole[i] and spool is not None:   # a small input of many: the whole file on a worker
                stats.chunks += 1
                stage = os.path.join(spool, f"file-{i}")
                os.mkdir(stage, 0o700)
                t0 = time.perf_counter()
                fut = client.submit(scrub_file_task, setup, os.path.abspath(st.input.source), st.input, stage,
                                    pure=False, key=f"dermedi-file-{os.getpid()}-{id(states)}-{i}")
                stats.submit_seconds += time.perf_counter() - t0
                yield i, None, fut
                continue
            future = plan_of[i]
            if isinstance(future, Future):      # lazy: this file's plan, made in another thread
                t0 = time.perf_counter()
                st.plan = future.result()
                stats.plan_seconds += time.perf_counter() - t0
            stats.chunks += len(st.plan.chunks) if st.plan is not None else 1
            if st.plan is None:
                yield i, None, None
                continue
            name = st.input.source.name
            json_report, html_report = st.input.report is not None, st.input.html is not None
            if shared:
                path = os.path.abspath(st.input.source)
                for spec in st.plan.chunks:
                    t0 = time.perf_counter()
                    piece = os.path.join(spool, f"{i}-{spec.index}") if spool is not None else None
                    fut = client.submit(scrub_chunk_task, setup, path, name, spec, json_report, html_report,
                                        piece, pure=False,
                                        key=f"dermedi-scrub-{os.getpid()}-{id(states)}-{i}-{spec.index}")
                    stats.submit_seconds += time.perf_counter() - t0
                    yield i, spec, fut
                continue
            with st.input.source.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                for spec in st.plan.chunks:
                    t0 = time.perf_counter()
                    data = spec.data(mm)
                    stats.task_bytes += len(data)
                    fut = client.submit(scrub_chunk_task, setup, data, name, spec, json_report, html_report,
                                        pure=False, key=f"dermedi-scrub-{os.getpid()}-{id(states)}-{i}-{spec.index}")
                    del data
                    stats.submit_seconds += time.perf_counter() - t0
                    yield i, spec, fut

    def finish(st: _FileState, outcome: FileOutcome) -> None:
        st.outcome = outcome

    def take(fut: Any) -> Any:
        """The task's result (waiting for it), its future released and its times counted."""
        t0 = time.perf_counter()
        res = fut.result()
        fut.release()
        stats.wait_seconds += time.perf_counter() - t0
        stats.task_cpu_seconds += res.cpu_seconds
        return res

    try:
        source = tasks()
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                try:
                    pending.append(next(source))
                except StopIteration:
                    exhausted = True
            if not pending:
                break
            i, spec, fut = pending.popleft()
            st = states[i]
            if spec is None and fut is not None:    # the whole file on a worker: put its outputs in place
                whole_res: WholeResult = take(fut)
                t1 = time.perf_counter()
                stats.worker_files += 1
                inp = st.input
                if whole_res.error is not None or whole_res.summary is None:
                    finish(st, FileOutcome(inp, error=whole_res.error or f"{inp.source}: not scrubbed"))
                else:
                    place_staged(whole_res.stage or {}, clean_out=inp.clean_out, held_out=inp.held_out,
                                 report=inp.report, html=inp.html)
                    finish(st, FileOutcome(inp, whole_res.summary))
                    stats.claims += whole_res.summary.claims
                    if bar is not None:
                        bar.advance(whole_res.summary.claims)
                stats.merge_seconds += time.perf_counter() - t1
                done += 1
                if on_chunk is not None:
                    on_chunk(done, total_chunks)
                continue
            if spec is None:                    # no plan: the whole file here, as the single-process run does
                stats.whole_files += 1
                outcome = _scrub_whole(st.input, local_scrubber())
                finish(st, outcome)
                if bar is not None and outcome.summary is not None:
                    bar.advance(0)
                done += 1
                if on_chunk is not None:
                    on_chunk(done, total_chunks)
                continue
            assert st.plan is not None
            res: ChunkResult = take(fut)
            t1 = time.perf_counter()
            st.done_chunks += 1
            last = spec.index == len(st.plan.chunks) - 1
            if not st.failed:
                if res.error is not None:
                    # a chunk that cannot be read: the whole file in this process, for exactly the
                    # single-process error (and outputs)
                    st.failed = True
                    if st.merger is not None:
                        st.merger.abort()
                    stats.whole_files += 1
                    finish(st, _scrub_whole(st.input, local_scrubber()))
                else:
                    if st.merger is None:
                        st.merger = _merger(st.input)
                    st.merger.add(res)
                    stats.claims += res.claims
                    if bar is not None:
                        bar.advance(res.claims)
                    if last:
                        finish(st, FileOutcome(st.input, st.merger.commit()))
            stats.merge_seconds += time.perf_counter() - t1
            done += 1
            if on_chunk is not None:
                on_chunk(done, total_chunks)
    except BaseException:
        for _, _, fut in pending:
            if fut is not None:
                fut.cancel()
        for st in states:
            if st.merger is not None and st.outcome is None:
                st.merger.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
        for f in warm:
            f.release()
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)
        stats.job_seconds = time.perf_counter() - t_job
        stats.coordinator_cpu_seconds = time.process_time() - cpu_job
    return [st.outcome or FileOutcome(st.input, error=f"{st.input.source}: not scrubbed") for st in states]


def _merger(inp: ScrubInput) -> FileMerger:
    return FileMerger(str(inp.source), clean_out=inp.clean_out, held_out=inp.held_out, report=inp.report,
                      html=inp.html)


class _JobProgress:
    """One rich progress bar for the whole job: claims done / total."""

    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("scrubbing"), BarColumn(), MofNCompleteColumn(), TextColumn("claims"),
                                 TimeRemainingColumn(), transient=True)
        self.progress.start()
        self.task = self.progress.add_task("scrub", total=max(total, 1))

    def advance(self, claims: int) -> None:
        self.progress.update(self.task, advance=claims)

    def close(self) -> None:
        self.progress.stop()


def job_summary(outcomes: list[FileOutcome]) -> dict[str, Any]:
    """The summary of a whole job (``summary.json``): each file's summary and the totals."""
    from collections import Counter
    from decimal import Decimal

    files: list[dict[str, Any]] = []
    total: dict[str, Any] = {"files": len(outcomes), "failed": 0, "claims": 0, "clean": 0, "held": 0, "errors": 0,
                             "warnings": 0}
    charge_total = Decimal("0")
    charge_held = Decimal("0")
    by_rule: Counter[str] = Counter()
    for o in outcomes:
        entry: dict[str, Any] = {"file": str(o.input.source)}
        if o.summary is None:
            total["failed"] += 1
            entry["error"] = o.error
        else:
            s = o.summary
            entry.update(s.as_dict())
            entry["report"] = str(o.input.report) if o.input.report else None
            entry["html"] = str(o.input.html) if o.input.html else None
            for k in ("claims", "clean", "held", "errors", "warnings"):
                total[k] += getattr(s, k)
            charge_total += s.charge_total
            charge_held += s.charge_held
            by_rule.update(s.by_rule)
        files.append(entry)
    total["charge_total"] = f"{charge_total:.2f}"
    total["charge_held"] = f"{charge_held:.2f}"
    total["by_rule"] = dict(sorted(by_rule.items()))
    return {"files": files, "total": total}
