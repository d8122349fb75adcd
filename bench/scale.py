#!/usr/bin/env python3
"""Scale benchmark: ``dermedi scrub`` single-process vs ``--workers N`` (Dask LocalCluster), and
``dermedi validate`` sequential vs on the cluster, with byte-identical outputs checked.

    .venv/bin/python bench/scale.py --claims 1000000 --files 20 --workers 2 --out bench/data/scale.json

One run does, on seeded files from bench/gen_claims.py (written to ``--data``, reused):

1. the job of ``--files`` files of claims/files claims each: ``dermedi scrub DIR --out-dir OUT``
   (one process) and ``dermedi scrub DIR --out-dir OUT --workers N``; every output compared with
   ``cmp`` (both runs write to the same folder name, one after the other);
2. the same for one file of all the claims;
3. ``validate`` (pyx12) of a ``--validate-claims`` file: sequential in one process, and with
   ``--workers N`` on the cluster, findings compared one for one.

For the job of several files it also runs, as a reference, N independent single-process
``dermedi scrub`` commands at once, each on its share of the files (no Dask, no merge): what
the machine itself allows in parallel at that moment, on a machine shared with other work.

Every command is a fresh subprocess; wall time from the clock, CPU from ``os.wait4`` (the
coordinator and, for --workers, its worker processes once they exit).  The machine's load
average is recorded before each run: on a shared 2-core machine other work slows the runs down.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DERMEDI = ROOT / ".venv" / "bin" / "dermedi"
PY = ROOT / ".venv" / "bin" / "python"
TODAY = "2026-11-23"


def _gen() -> Any:
    spec = importlib.util.spec_from_file_location("gen_claims", ROOT / "bench" / "gen_claims.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(cmd: list[str]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    return {"cmd": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)), "wall_s": round(wall, 2),
            "cpu_s": round(ru.ru_utime + ru.ru_stime, 2), "rc": os.waitstatus_to_exitcode(status),
            "load_before": round(load, 2), "stderr_tail": err.strip().splitlines()[-1:] if err else []}


def same_tree(a: Path, b: Path) -> tuple[bool, int]:
    names_a = sorted(p.name for p in a.iterdir())
    names_b = sorted(p.name for p in b.iterdir())
    if names_a != names_b:
        return False, 0
    n = 0
    for name in names_a:
        if not filecmp.cmp(a / name, b / name, shallow=False):
            return False, n
        n += 1
    return True, n


def run_parallel(cmds: list[list[str]]) -> dict[str, Any]:
    """Several commands at once: the wall time of the slowest, the CPU of all."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in cmds]
    cpu = 0.0
    rcs = []
    for p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        cpu += ru.ru_utime + ru.ru_stime
        rcs.append(os.waitstatus_to_exitcode(status))
    return {"processes": len(cmds), "wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(cpu, 2),
            "rc": rcs, "load_before": round(load, 2)}


def ceiling(folder: Path, out: Path, workers: int) -> dict[str, Any]:
    """The machine's own parallel ceiling at that moment: ``workers`` independent single-process
    ``dermedi scrub`` runs at once, each on its share of the files (no Dask, no merge)."""
    files = sorted(folder.glob("*.837"))
    parts = out.with_name(out.name + ".parts")
    shutil.rmtree(parts, ignore_errors=True)
    cmds = []
    for k in range(workers):
        share = parts / f"in-{k}"
        share.mkdir(parents=True)
        for f in files[k::workers]:
            (share / f.name).symlink_to(f)
        cmds.append([str(DERMEDI), "scrub", str(share), "--out-dir", str(parts / f"out-{k}"), "--today", TODAY, "-q"])
    res = run_parallel(cmds)
    shutil.rmtree(parts, ignore_errors=True)
    return res


def scrub_pair(inputs: list[str], out: Path, workers: int, label: str, claims: int, chunk_bytes: int | None,
               results: dict[str, Any]) -> None:
    seq_dir = out.with_name(out.name + ".single")
    for d in (out, seq_dir):
        shutil.rmtree(d, ignore_errors=True)
    base = [str(DERMEDI), "scrub", *inputs, "--out-dir", str(out), "--today", TODAY, "-q"]
    single = run(base)
    out.rename(seq_dir)
    stats_file = out.with_name(out.name + ".stats.json")
    extra = ["--workers", str(workers), "--stats-json", str(stats_file)]
    if chunk_bytes:
        extra += ["--chunk-bytes", str(chunk_bytes)]
    dist = run(base + extra)
    identical, files = same_tree(seq_dir, out)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    results[label] = {
        "claims": claims, "single": single, "workers": workers, "distributed": dist, "identical": identical,
        "files_compared": files,
        "speedup_wall": round(single["wall_s"] / dist["wall_s"], 3) if dist["wall_s"] else None,
        "claims_per_s_single": round(claims / single["wall_s"]),
        "claims_per_s_distributed": round(claims / dist["wall_s"]),
        "stats": stats,
    }
    folder = Path(inputs[0])
    if len(inputs) == 1 and folder.is_dir() and len(list(folder.glob("*.837"))) >= workers:
        par = ceiling(folder, out, workers)
        results[label]["independent_processes"] = par
        results[label]["speedup_wall_independent"] = round(single["wall_s"] / par["wall_s"], 3)
    print(json.dumps({label: results[label]}, indent=1), flush=True)
    shutil.rmtree(seq_dir, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)


def validate_pair(path: Path, claims: int, workers: int, results: dict[str, Any]) -> None:
    code = ("import json,sys,time\n"
            "from edi.validate import validate_file\n"
            "mode=sys.argv[2]\n"
            "t=time.perf_counter()\n"
            "if mode=='seq':\n"
            "    r=validate_file(sys.argv[1], parallel=False)\n"
            "else:\n"
            "    from dermedi.distributed import dask_client\n"
            "    with dask_client(workers=int(mode)) as c:\n"
            "        t=time.perf_counter()\n"
            "        r=validate_file(sys.argv[1], workers=int(mode), executor=c.get_executor(pure=False))\n"
            "w=time.perf_counter()-t\n"
            "json.dump({'findings':[f.format() for f in r.findings],'mode':r.mode,'seconds':w},\n"
            "          open(sys.argv[3],'w'))\n")
    out = {}
    for mode in ("seq", str(workers)):
        target = path.with_suffix(f".validate-{mode}.json")
        res = run([str(PY), "-c", code, str(path), mode, str(target)])
        data = json.loads(target.read_text())
        out[mode] = {**res, "validate_seconds": round(data["seconds"], 2), "mode": data["mode"],
                     "findings": len(data["findings"])}
        out[mode]["_f"] = data["findings"]
    same = out["seq"].pop("_f") == out[str(workers)].pop("_f")
    results["validate"] = {"claims": claims, "sequential": out["seq"], "distributed": out[str(workers)],
                           "findings_identical": same,
                           "claims_per_s_sequential": round(claims / out["seq"]["validate_seconds"], 1),
                           "claims_per_s_distributed": round(claims / out[str(workers)]["validate_seconds"], 1)}
    print(json.dumps({"validate": results["validate"]}, indent=1), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--validate-claims", type=int, default=3000)
    ap.add_argument("--chunk-bytes", type=int, default=None)
    ap.add_argument("--data", default=str(ROOT / "bench" / "data" / "scale"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "data" / "scale.json"))
    ap.add_argument("--skip", nargs="*", default=[], choices=["files", "single", "validate"])
    args = ap.parse_args(argv)
    data = Path(args.data)
    gen = _gen()
    per = args.claims // args.files
    multi = data / f"{args.files}x{per}"
    multi.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
                               "python": sys.version.split()[0]}
    if "files" not in args.skip:
        for k in range(args.files):
            f = multi / f"batch-{k:02d}.837"
            if not f.exists():
                gen.write_file(f, per, seed=100 + k)
    single = data / f"single-{args.claims}.837"
    if "single" not in args.skip and not single.exists():
        gen.write_file(single, args.claims, seed=7)
    work = data / "out"
    if "files" not in args.skip:
        scrub_pair([str(multi)], work, args.workers, f"scrub {args.files} files", per * args.files, args.chunk_bytes,
                   results)
    if "single" not in args.skip:
        scrub_pair([str(single)], work, args.workers, "scrub 1 file", args.claims, args.chunk_bytes, results)
    if "validate" not in args.skip:
        vf = data / f"validate-{args.validate_claims}.837"
        if not vf.exists():
            gen.write_file(vf, args.validate_claims, seed=11)
        validate_pair(vf, args.validate_claims, args.workers, results)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
