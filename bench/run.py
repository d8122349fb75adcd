#!/usr/bin/env python3
"""dermedi benchmark: parse (and scrub) large 837P files against other Python X12 tools.

One command runs everything and rewrites the results table in docs/performance.md::

    bash bench/venvs.sh                                      # once: x12sdk and LinuxForHealth venvs
    .venv/bin/python bench/run.py --claims 10000 100000

For every size N it generates (or reuses) a seeded dermatology 837P of N claims with
``samples/generate.py`` (fallback: ``bench/gen_claims.py``) and times each contender as a
fresh subprocess, one process per measurement: wall time, CPU time (user+sys) and peak
RSS come from ``os.wait4`` for that one child.  Fast contenders are run ``--repeat``
times and the best wall / best CPU time is kept (the largest RSS); slow ones once.

Contenders:
  bare-split     read the file, ``bytes.split`` on the terminator (the floor)
  dermedi-parse  ``dermedi parse --format summary`` (streaming parse of every claim)
  dermedi-scrub  ``dermedi scrub IN --clean-out --held-out --report`` (parse + rules + write),
                 on the same file and on a file with ~3% held claims
  dermedi-scrub-pure  the same scrub on a copy of the sources without the mypyc-compiled
                 modules (what ``DERMEDI_PURE_PYTHON=1`` installs)
  dermedi-scrub-baseline  with ``--baseline CHECKOUT``: the same scrub run by another checkout's
                 installed dermedi (``CHECKOUT/.venv/bin/dermedi``, e.g. an earlier commit), to
                 compare two versions on the same file in the same run
  pyx12          ``x12valid`` (pyx12 5010 validation), up to ``--pyx12-max`` claims
  x12sdk         x12sdk models (bench/venvs/x12sdk), up to ``--slow-max`` claims
  lfh            LinuxForHealth x12 models (bench/venvs/lfh, pydantic<2), up to ``--slow-max``

Files whose claims x12sdk/LinuxForHealth must load are generated with ``--held-rate 0``:
their Pydantic validators reject a whole transaction set when one claim's charge does not
add up, which the samples generator does on purpose for held claims.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENVS = BENCH / "venvs"
DEFAULT_DATA = BENCH / "data"
DEFAULT_DOC = ROOT / "docs" / "performance.md"
PY = ROOT / ".venv" / "bin" / "python"
DERMEDI = ROOT / ".venv" / "bin" / "dermedi"
X12VALID = ROOT / ".venv" / "bin" / "x12valid"
WARM_SAMPLE = ROOT / "samples" / "medicare-mb.837"
BEGIN = "<!-- bench:begin (written by bench/run.py; edit outside these markers) -->"
END = "<!-- bench:end -->"

ALL = ("bare-split", "dermedi-parse", "dermedi-scrub", "dermedi-scrub-pure", "dermedi-scrub-baseline", "pyx12",
       "x12sdk", "lfh")
LABELS = {
    "bare-split": "bare `bytes.split` (floor)",
    "dermedi-parse": "**dermedi parse --format summary**",
    "dermedi-scrub": "**dermedi scrub** (parse+scrub+write)",
    "dermedi-scrub-pure": "dermedi scrub, pure-Python build (not compiled)",
    "dermedi-scrub-baseline": "dermedi scrub, baseline {version}",
    "pyx12": "pyx12 4.0 validation (x12valid)",
    "x12sdk": "x12sdk {version} models",
    "lfh": "LinuxForHealth x12 {version} models",
}


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    rc: int
    claims: int | None
    stderr_tail: str = ""


@dataclass
class Result:
    size: int
    file: str
    file_mb: float
    contender: str
    label: str
    runs: list[Run] = field(default_factory=list)
    note: str = ""
    status: str = "ok"          # ok | skipped | failed | timeout

    @property
    def wall(self) -> float | None:
        ok = [r.wall for r in self.runs]
        return min(ok) if ok else None

    @property
    def cpu(self) -> float | None:
        ok = [r.cpu for r in self.runs]
        return min(ok) if ok else None

    @property
    def rss(self) -> float | None:
        ok = [r.rss_mb for r in self.runs]
        return max(ok) if ok else None


# ------------------------------------------------------------------------------------------
# measuring one subprocess
# ------------------------------------------------------------------------------------------

def measure(cmd: list[str], timeout: float, cwd: Path = ROOT) -> tuple[Run, str, bool]:
    """Run ``cmd`` once; (Run, stdout, timed_out).  RSS and CPU from os.wait4 (this child)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, env=_env())
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, _kill)
        timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    run = Run(wall=wall, cpu=ru.ru_utime + ru.ru_stime, rss_mb=ru.ru_maxrss / 1024, rc=proc.returncode,
              claims=None, stderr_tail=stderr.strip().splitlines()[-1][:200] if stderr.strip() else "")
    return run, stdout, timed_out.is_set()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PYTHONHASHSEED"] = "0"
    return env


# ------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------

def generate(size: int, held_rate: float, data_dir: Path, generator: str, regen: bool) -> tuple[Path, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    samples_gen = ROOT / "samples" / "generate.py"
    use_samples = generator == "samples" or (generator == "auto" and samples_gen.exists())
    if use_samples:
        tag = f"derm-{size}-held{round(held_rate * 100)}.837"
        path = data_dir / tag
        cmd = [str(PY), str(samples_gen), "--claims", str(size), "--out", str(path),
               "--held-rate", str(held_rate)]
        how = f"samples/generate.py --claims {size} --held-rate {held_rate}"
    else:
        if held_rate:
            raise SystemExit("bench/gen_claims.py makes clean claims only; use --generator samples")
        path = data_dir / f"bench-{size}.837"
        cmd = [str(PY), str(BENCH / "gen_claims.py"), "--claims", str(size), "--out", str(path)]
        how = f"bench/gen_claims.py --claims {size}"
    if regen or not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return path, how


# ------------------------------------------------------------------------------------------
# contenders
# ------------------------------------------------------------------------------------------

def venv_python(name: str) -> Path | None:
    py = VENVS / name / "bin" / "python"
    return py if py.exists() else None


def package_version(py: Path, dist: str) -> str:
    try:
        out = subprocess.run([str(py), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


BASELINE: Path | None = None     # --baseline: another checkout with its own .venv


def command(contender: str, path: Path, outdir: Path) -> list[str] | None:
    if contender == "bare-split":
        return [str(PY), str(BENCH / "contenders" / "bare_split.py"), str(path)]
    if contender == "dermedi-parse":
        return [str(DERMEDI), "parse", "--format", "summary", str(path)]
    if contender in ("dermedi-scrub", "dermedi-scrub-baseline"):
        exe = DERMEDI if contender == "dermedi-scrub" else (BASELINE or ROOT) / ".venv" / "bin" / "dermedi"
        return [str(exe), "scrub", str(path), "--clean-out", str(outdir / "clean.837"),
                "--held-out", str(outdir / "held.837"), "--report", str(outdir / "report.json"), "--quiet"]
    if contender == "dermedi-scrub-pure":
        # the same command on a copy of the sources without the mypyc-compiled modules
        # (PYTHONPATH is searched before the editable install's finder)
        pure = pure_sources(outdir)
        # -P: no current-folder entry on sys.path (run from the checkout, it would find the
        # compiled modules before PYTHONPATH)
        return ["env", f"PYTHONPATH={pure}", str(PY), "-P", "-c",
                "import sys; from dermedi.cli.app import main; sys.argv[0] = 'dermedi'; main()",
                "scrub", str(path), "--clean-out", str(outdir / "clean.837"),
                "--held-out", str(outdir / "held.837"), "--report", str(outdir / "report.json"), "--quiet"]
    if contender == "pyx12":
        return [str(X12VALID), "-q", str(path)]
    if contender in ("x12sdk", "lfh"):
        py = venv_python(contender)
        if py is None:
            return None
        script = "x12sdk_parse.py" if contender == "x12sdk" else "lfh_parse.py"
        return [str(py), str(BENCH / "contenders" / script), str(path)]
    raise ValueError(contender)


def baseline_name() -> str:
    """The baseline checkout's commit (for its label)."""
    if BASELINE is None:
        return "?"
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BASELINE, capture_output=True, text=True,
                             timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"commit {rev}" if rev else str(BASELINE)


def pure_sources(base: Path) -> Path:
    """A copy of dermedi's packages without compiled extension modules (made once per run)."""
    dest = base / "pure-src"
    if not dest.exists():
        for pkg in ("edi", "scrubber", "remits", "clearinghouse", "config", "dermedi"):
            shutil.copytree(ROOT / pkg, dest / pkg, ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    return dest


def claims_from(contender: str, stdout: str, stderr_tail: str) -> int | None:
    if contender == "dermedi-parse":
        m = re.search(r"^claims: (\d+)$", stdout, re.M)
        return int(m.group(1)) if m else None
    if contender == "dermedi-scrub":
        return None  # checked through the report file
    if contender == "pyx12":
        return None
    m = re.search(r"^(\d+)\s*$", stdout.strip())
    return int(m.group(1)) if m else None


def scrub_claims(outdir: Path) -> int | None:
    try:
        data = json.loads((outdir / "report.json").read_text())
    except (OSError, ValueError):
        return None
    for key in ("claims", "total_claims"):
        v = data.get(key) if isinstance(data, dict) else None
        if isinstance(v, int):
            return v
        if isinstance(v, list):
            return len(v)
    summary = data.get("summary") if isinstance(data, dict) else None
    if isinstance(summary, dict):
        for key in ("claims", "total"):
            if isinstance(summary.get(key), int):
                return int(summary[key])
    return None


def run_contender(contender: str, label: str, size: int, path: Path, repeat: int, timeout: float,
                  outdir: Path) -> Result:
    res = Result(size, path.name, path.stat().st_size / 1e6, contender, label)
    cmd = command(contender, path, outdir)
    if cmd is None:
        res.status = "skipped"
        res.note = f"bench/venvs/{contender} not installed (run bash bench/venvs.sh)"
        return res
    if contender.startswith("dermedi-scrub"):
        # fill the per-user table cache (config/cache.py) the way any earlier run would: the figures
        # are those of a scrub with a warm cache, as every run after a user's first one is
        warm = command(contender, WARM_SAMPLE, outdir)
        assert warm is not None
        subprocess.run(warm, capture_output=True, env=_env(), timeout=timeout, cwd=ROOT)
    for i in range(repeat):
        print(f"  {contender} on {path.name} run {i + 1}/{repeat} ...", file=sys.stderr, flush=True)
        run, stdout, timed_out = measure(cmd, timeout)
        if timed_out:
            res.status = "timeout"
            res.note = f"killed after {timeout:.0f} s"
            return res
        ok_rc = {0} | ({1} if contender.startswith("dermedi-scrub") or contender == "pyx12" else set())
        if run.rc not in ok_rc:
            res.status = "failed"
            res.note = f"exit {run.rc}: {run.stderr_tail}"
            return res
        if contender == "pyx12" and ": OK" not in stdout + run.stderr_tail:
            res.note = "pyx12 reported errors"
        run.claims = scrub_claims(outdir) if contender.startswith("dermedi-scrub") else claims_from(
            contender, stdout, run.stderr_tail)
        if run.claims is not None and run.claims != size:
            res.note = f"counted {run.claims} claims, expected {size}"
        res.runs.append(run)
    return res


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "commit": commit,
    }


def _fmt(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "—"
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def _rate(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def table(results: list[Result]) -> str:
    rows = ["| claims | file MB | contender | wall s | CPU s | claims/s (wall) | claims/s (CPU) | MB/s (wall) "
            "| peak RSS MB | × x12sdk (wall) | × x12sdk (CPU) | note |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    by_size: dict[int, dict[str, Result]] = {}
    for r in results:
        by_size.setdefault(r.size, {})[r.contender + ("" if not r.file.endswith("held3.837") else "+held")] = r
    for r in results:
        base = by_size[r.size].get("x12sdk")
        if r.status != "ok" or r.wall is None or r.cpu is None:
            rows.append(f"| {r.size:,} | {r.file_mb:.1f} | {r.label} | — | — | — | — | — | — | — | — | "
                        f"{r.status}: {r.note} |")
            continue
        cps_w, cps_c = r.size / r.wall, r.size / r.cpu
        ratio_w = ratio_c = "—"
        if base is not None and base.status == "ok" and base.wall and base.cpu:
            ratio_w = f"{cps_w / (r.size / base.wall):.1f}×"
            ratio_c = f"{cps_c / (r.size / base.cpu):.1f}×"
        note = r.note or (f"best of {len(r.runs)}" if len(r.runs) > 1 else "1 run")
        rows.append(f"| {r.size:,} | {r.file_mb:.1f} | {r.label} | {_fmt(r.wall)} | {_fmt(r.cpu)} | {_rate(cps_w)} "
                    f"| {_rate(cps_c)} | {_fmt(r.file_mb / r.wall, 1)} | {_fmt(r.rss, 1)} | {ratio_w} | {ratio_c} "
                    f"| {note} |")
    return "\n".join(rows)


def checks(results: list[Result]) -> list[str]:
    """The targets of the issue, checked on the largest size measured."""
    lines: list[str] = []
    sizes = sorted({r.size for r in results})
    if not sizes:
        return lines

    def get(size: int, contender: str, held: bool = False) -> Result | None:
        for r in results:
            if r.size == size and r.contender == contender and r.file.endswith("held3.837") == held \
                    and r.status == "ok":
                return r
        return None

    big = sizes[-1]
    parse = get(big, "dermedi-parse")
    base = get(big, "x12sdk")
    base_size = big
    if base is None:
        for s in reversed(sizes):
            if get(s, "x12sdk") is not None:
                base, base_size = get(s, "x12sdk"), s
                break
    if parse and parse.wall and parse.cpu:
        line = (f"- dermedi parse, {big:,} claims: {big / parse.wall:,.0f} claims/s wall, "
                f"{big / parse.cpu:,.0f} claims/s CPU, peak RSS {parse.rss:.1f} MB")
        if base and base.wall and base.cpu:
            rw = (big / parse.wall) / (base_size / base.wall)
            rc = (big / parse.cpu) / (base_size / base.cpu)
            where = "" if base_size == big else f" (x12sdk measured on {base_size:,} claims)"
            line += (f"; {rw:.1f}× x12sdk by wall time, {rc:.1f}× by CPU time{where} "
                     f"— target ≥ 20×: {'met' if max(rw, rc) >= 20 else 'NOT met'}")
        lines.append(line)
        rss = [r.rss for r in results if r.contender == "dermedi-parse" and r.rss is not None]
        if len(rss) > 1:
            flat = max(rss) < 100 and max(rss) - min(rss) < 10
            lines.append(f"- dermedi parse peak RSS across sizes: {', '.join(f'{x:.1f}' for x in rss)} MB "
                         f"(target < 100 MB and flat: {'met' if flat else 'NOT met'})")
    for held in (False, True):
        scrub = get(big, "dermedi-scrub", held)
        if scrub and scrub.wall and scrub.cpu:
            what = "file with ~3% held claims" if held else "clean file"
            cps_c = big / scrub.cpu
            lines.append(f"- dermedi scrub, {big:,} claims ({what}): {big / scrub.wall:,.0f} claims/s wall, "
                         f"{cps_c:,.0f} claims/s CPU (one core), peak RSS {scrub.rss:.1f} MB — target ≥ 10,000 "
                         f"claims/s and < 100 MB: {'met' if cps_c >= 10000 and (scrub.rss or 0) < 100 else 'NOT met'}")
    scrub, pure = get(big, "dermedi-scrub"), get(big, "dermedi-scrub-pure")
    if scrub and pure and scrub.cpu and pure.cpu:
        lines.append(f"- compiled vs pure-Python scrub, {big:,} claims: {big / pure.cpu:,.0f} → {big / scrub.cpu:,.0f} "
                     f"claims/s CPU ({pure.cpu / scrub.cpu:.2f}×)")
    baseline = get(big, "dermedi-scrub-baseline")
    if scrub and baseline and scrub.cpu and baseline.cpu:
        lines.append(f"- this build vs the baseline ({baseline.label.split('baseline ', 1)[-1]}), {big:,} claims: "
                     f"{big / baseline.cpu:,.0f} → {big / scrub.cpu:,.0f} claims/s CPU "
                     f"({baseline.cpu / scrub.cpu:.2f}×)")
    return lines


def write_doc(doc: Path, results: list[Result], meta: dict[str, object]) -> None:
    m = meta["machine"]
    notes = meta["notes"]
    assert isinstance(m, dict) and isinstance(notes, list)
    block = "\n".join([
        BEGIN,
        "",
        f"Measured {meta['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}, {m['os']}, "
        f"dermedi commit {m['commit']}.  Load average before/after the run: {meta['load_before']} / "
        f"{meta['load_after']} (other processes share this machine; CPU time is the steadier figure).",
        "",
        f"Command: `{meta['command']}`  ",
        f"Files: {meta['generator']}; claims per ST as the generator writes them.",
        "",
        table(results),
        "",
        *checks(results),
        "",
        *[f"- {n}" for n in notes],
        "",
        END,
    ])
    if doc.exists():
        text = doc.read_text()
        if BEGIN in text and END in text:
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            doc.write_text(head + block + tail)
            return
        doc.write_text(text.rstrip() + "\n\n" + block + "\n")
        return
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("# dermedi performance\n\n" + block + "\n")


def merge(results: list[Result], path: Path, sizes: set[int]) -> list[Result]:
    """Add the rows of an earlier run (same sizes) that this run did not measure."""
    old = json.loads(path.read_text())
    when = old.get("meta", {}).get("date", "an earlier run")
    have = {(r.size, r.contender, r.file) for r in results if r.status != "skipped"}
    out = list(results)
    for d in old.get("results", []):
        key = (d["size"], d["contender"], d["file"])
        if d["size"] not in sizes or key in have or d["status"] == "skipped":
            continue
        r = Result(d["size"], d["file"], d["file_mb"], d["contender"], d["label"],
                   [Run(**run) for run in d["runs"]], d["note"], d["status"])
        r.note = (r.note + "; " if r.note else "") + f"from the run of {when}"
        out = [x for x in out if (x.size, x.contender, x.file) != key]
        out.append(r)
    order = {c: i for i, c in enumerate(ALL)}
    return sorted(out, key=lambda r: (r.size, order.get(r.contender, 99), r.file))


# ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, nargs="+", default=[10000, 100000], help="file sizes (claims)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the fast contenders (best is kept)")
    ap.add_argument("--big-repeat", type=int, default=1,
                    help="runs of the fast contenders on files over 10,000 claims")
    ap.add_argument("--only", default="", help="comma-separated contenders to run (default: all)")
    ap.add_argument("--merge", type=Path, nargs="+", default=[],
                    help="results JSON of earlier runs: rows not measured now are taken from them")
    ap.add_argument("--slow-repeat", type=int, default=1, help="runs of pyx12 / x12sdk / LinuxForHealth")
    ap.add_argument("--slow-max", type=int, default=100000, help="largest file for x12sdk / LinuxForHealth")
    ap.add_argument("--pyx12-max", type=int, default=10000, help="largest file for pyx12 (~150 s per 100k)")
    ap.add_argument("--skip", default="", help=f"comma-separated contenders to skip ({','.join(ALL)})")
    ap.add_argument("--no-held", action="store_true", help="do not also scrub a file with held claims")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before one run is killed")
    ap.add_argument("--generator", choices=("auto", "samples", "bench"), default="auto")
    ap.add_argument("--regen", action="store_true", help="regenerate the files even when present")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--doc", type=Path, default=DEFAULT_DOC, help="markdown file to write the table into")
    ap.add_argument("--no-doc", action="store_true", help="print the table only")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--from-json", type=Path, help="run nothing: write the doc from a --json file")
    ap.add_argument("--baseline", type=Path,
                    help="another checkout (with its .venv) whose dermedi scrub runs alternately with this one's")
    args = ap.parse_args(argv)

    if args.from_json is not None:
        saved = json.loads(args.from_json.read_text())
        sizes = {d["size"] for d in saved["results"]}
        loaded = [Result(d["size"], d["file"], d["file_mb"], d["contender"], d["label"],
                         [Run(**run) for run in d["runs"]], d["note"], d["status"]) for d in saved["results"]]
        loaded = merge(loaded, args.from_json, sizes)
        for earlier in args.merge:
            loaded = merge(loaded, earlier, sizes)
        print(table(loaded))
        for line in checks(loaded):
            print(line)
        if not args.no_doc:
            write_doc(args.doc, loaded, saved["meta"])
            print(f"wrote {args.doc}", file=sys.stderr)
        return 0

    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    global BASELINE
    if args.baseline is not None:
        BASELINE = args.baseline.resolve()
        if not (BASELINE / ".venv" / "bin" / "dermedi").exists():
            ap.error(f"--baseline {args.baseline}: no .venv/bin/dermedi there")
    else:
        skip.add("dermedi-scrub-baseline")
    if args.only:
        skip |= set(ALL) - {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = skip - set(ALL)
    if unknown:
        ap.error(f"unknown contender(s) in --skip: {', '.join(sorted(unknown))}")
    if "dermedi-scrub" not in skip:
        probe = subprocess.run([str(DERMEDI), "scrub", "--help"], capture_output=True, cwd=ROOT)
        if probe.returncode != 0:
            skip.add("dermedi-scrub")
            print("dermedi scrub is not available: skipped", file=sys.stderr)
    build = subprocess.run([str(DERMEDI), "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()

    versions = {name: package_version(py, dist) for name, dist in (("x12sdk", "x12sdk"), ("lfh", "linuxforhealth-x12"))
                if (py := venv_python(name)) is not None}
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    results: list[Result] = []
    generators: set[str] = set()
    notes: list[str] = [f"build measured: `{build or 'unknown'}` (`dermedi --version`; the dermedi rows other "
                        "than the pure-Python one run the installed build)",
                        "scrub rows: the table cache (config/cache.py) is filled by one untimed run on a sample "
                        "first, as by any earlier run of the user's"]
    outdir = Path(tempfile.mkdtemp(prefix="dermedi-bench-"))
    try:
        for size in args.claims:
            path, how = generate(size, 0.0, args.data_dir, args.generator, args.regen)
            generators.add(how.replace(str(size), "N"))
            held_path: Path | None = None
            if "dermedi-scrub" not in skip and not args.no_held and (args.generator != "bench") and (
                    ROOT / "samples" / "generate.py").exists():
                held_path, how_h = generate(size, 0.03, args.data_dir, "samples", args.regen)
                generators.add(how_h.replace(str(size), "N"))
            for contender in ALL:
                label = LABELS[contender].format(version=versions.get(contender, "?"))
                if contender in skip:
                    continue
                slow = contender in ("pyx12", "x12sdk", "lfh")
                limit = args.pyx12_max if contender == "pyx12" else args.slow_max
                if slow and size > limit:
                    r = Result(size, path.name, path.stat().st_size / 1e6, contender, label, status="skipped")
                    flag = "--pyx12-max" if contender == "pyx12" else "--slow-max"
                    r.note = f"not run on this size (raise {flag})"
                    results.append(r)
                    continue
                repeat = args.slow_repeat if slow else (args.repeat if size <= 10000 else args.big_repeat)
                partners = [c for c in ("dermedi-scrub-pure", "dermedi-scrub-baseline") if c not in skip]
                if contender in partners and "dermedi-scrub" not in skip:
                    continue        # measured with dermedi-scrub, run for run
                if contender == "dermedi-scrub" and partners:
                    # the machine's speed drifts over minutes: alternate this build's runs with the
                    # pure-Python build's and the baseline's
                    labels = {"dermedi-scrub-pure": LABELS["dermedi-scrub-pure"],
                              "dermedi-scrub-baseline": LABELS["dermedi-scrub-baseline"].format(
                                  version=baseline_name())}
                    group = [Result(size, path.name, path.stat().st_size / 1e6, contender, label)] + [
                        Result(size, path.name, path.stat().st_size / 1e6, c, labels[c]) for c in partners]
                    for _ in range(repeat):
                        for res in group:
                            one = run_contender(res.contender, res.label, size, path, 1, args.timeout, outdir)
                            res.runs += one.runs
                            res.note, res.status = one.note or res.note, one.status
                    for res in group[1:]:
                        res.note = res.note or f"best of {repeat}, alternated with this build's runs"
                    results.extend(group)
                else:
                    results.append(run_contender(contender, label, size, path, repeat, args.timeout, outdir))
                if contender == "dermedi-scrub" and held_path is not None:
                    results.append(run_contender(contender, label + ", ~3% held claims", size, held_path,
                                                 repeat, args.timeout, outdir))
    finally:
        shutil.rmtree(outdir, ignore_errors=True)

    for earlier in args.merge:
        results = merge(results, earlier, set(args.claims))
    for c in ("x12sdk", "lfh"):
        if c not in skip and venv_python(c) is None:
            notes.append(f"{c}: venv missing (bash bench/venvs.sh); not measured")
    meta: dict[str, object] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_before": load_before,
        "load_after": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "command": " ".join([".venv/bin/python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "generator": "; ".join(sorted(generators)),
        "versions": versions,
        "notes": notes,
    }
    print(table(results))
    for line in checks(results):
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": [
            {**asdict(r), "wall": r.wall, "cpu": r.cpu, "rss": r.rss} for r in results]}, indent=2))
    if not args.no_doc:
        write_doc(args.doc, results, meta)
        print(f"wrote {args.doc}", file=sys.stderr)
    failed = [r for r in results if r.status in ("failed", "timeout") and r.contender.startswith("dermedi")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
