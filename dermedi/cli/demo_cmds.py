"""``dermedi demo``: the whole loop on the bundled samples, with no server.

1. scrub every sample 837P (clean/held split, JSON + HTML reports);
2. send the clean claims to a clearinghouse that is a local folder (the ``directory``
   transport), exactly once, through the submission ledger in an embedded SQLite file;
3. drop the sample 835s into the clearinghouse's response folder and ``receive`` them, which
   ingests them into the remits store (balancing, classification, worklist items);
4. print the denial team's worklist and the denial summary.

Everything is written under ``--workdir`` (default ``./dermedi-demo``, mode 0700); running the demo
again starts afresh unless ``--keep`` is given (then nothing is sent or ingested twice).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from dermedi.cli.app import app
from dermedi.cli.common import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, fail

MARKER = ".dermedi-demo"

CONFIG = """\
# Written by `dermedi demo`: embedded SQLite and a clearinghouse that is a local folder.
data_dir = "data"

[database]
url = "sqlite:///dermedi.db"

[[clearinghouses]]
name = "demo"
transport = "directory"
upload_dir = "clearinghouse/to_payer"
response_dir = "clearinghouse/from_payer"
isa_receiver_id = "DEMOCH"
isa_usage_indicator = "T"
"""


def _default_samples() -> Path:
    here = Path.cwd() / "samples"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "samples"


def _run(step: Callable[..., Any], **kwargs: Any) -> int:
    """Run a command function the way the CLI would and return its exit code."""
    try:
        step(**kwargs)
    except typer.Exit as exc:
        return int(exc.exit_code)
    return EXIT_OK


def _heading(text: str) -> None:
    typer.secho(f"\n== {text}", bold=True, err=False)


@app.command("demo")
def demo(
    workdir: Annotated[Path, typer.Option("--workdir", help="folder for the demo's database and files")] = Path(
        "dermedi-demo"),
    samples: Annotated[Path | None, typer.Option("--samples", help="folder with the sample 837P/835 files")] = None,
    keep: Annotated[bool, typer.Option("--keep", help="keep an earlier demo's state instead of starting afresh")]
    = False,
    today: Annotated[str | None, typer.Option("--today", help="date for the scrubber's date checks")] = None,
) -> None:
    """Run the whole loop on the bundled samples: scrub, send, receive 835s, show the worklist."""
    from dermedi.cli.ch_cmds import receive_cmd, send_cmd
    from dermedi.cli.remits_cmds import ListFormat, OutFormat, summary_cmd, worklist_list
    from dermedi.cli.scrub_cmds import scrub

    src = samples or _default_samples()
    claims_files = sorted(src.glob("*.837"))
    remit_files = sorted(src.glob("*.835"))
    if not claims_files:
        fail(f"no sample 837P files in {src}", EXIT_BAD_INPUT)

    if workdir.exists() and not keep:
        if not (workdir / MARKER).exists():
            fail(f"{workdir} exists and was not made by `dermedi demo`; choose another --workdir", EXIT_BAD_INPUT)
        shutil.rmtree(workdir)
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)
    (workdir / MARKER).touch(mode=0o600)
    for sub in ("clearinghouse/to_payer", "clearinghouse/from_payer", "reports"):
        (workdir / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    config = workdir / "dermedi.toml"
    if not config.exists():
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(CONFIG)
    cfg = str(config)

    _heading(f"1. Scrub {len(claims_files)} sample 837P batch(es) from {src}")
    held_any = False
    for f in claims_files:
        stem = f.stem
        typer.echo(f"{f.name}:")
        code = _run(scrub, inputs=[f], clean_out=workdir / "reports" / f"{stem}.clean.837",
                    held_out=workdir / "reports" / f"{stem}.held.837",
                    report=workdir / "reports" / f"{stem}.json", html=workdir / "reports" / f"{stem}.html",
                    today=today, config=cfg, quiet=False, ncci_db=False)
        if code not in (EXIT_OK, EXIT_FINDINGS):
            raise typer.Exit(code)
        held_any |= code == EXIT_FINDINGS
    typer.echo(f"reports (JSON for tools, HTML for billers): {workdir / 'reports'}")

    _heading("2. Send the clean claims to the 'demo' clearinghouse (a local folder), exactly once")
    code = _run(send_cmd, files=claims_files, clearinghouse="demo", config=cfg, verbose=False)
    if code != EXIT_OK:
        raise typer.Exit(code)
    sent = sorted(p.name for p in (workdir / "clearinghouse" / "to_payer").iterdir())
    typer.echo(f"files at the clearinghouse: {', '.join(sent) or 'none'}")

    _heading(f"3. The payers answer: receive {len(remit_files)} 835 remittance(s)")
    inbox = workdir / "clearinghouse" / "from_payer"
    for r in remit_files:
        shutil.copyfile(r, inbox / r.name)
        os.chmod(inbox / r.name, 0o600)
    code = _run(receive_cmd, clearinghouse="demo", config=cfg, verbose=False)
    if code != EXIT_OK:
        raise typer.Exit(code)

    _heading("4. The denial team's worklist (highest priority first)")
    code = _run(worklist_list, config=cfg, category=None, status=None, owner=None, claim=None, limit=0, after=None,
                fmt=ListFormat.table)
    if code != EXIT_OK:
        raise typer.Exit(code)

    _heading("5. Denial summary")
    code = _run(summary_cmd, config=cfg, since=None, fmt=OutFormat.table)
    if code != EXIT_OK:
        raise typer.Exit(code)
    typer.echo(f"\nEverything is in {workdir}/ (database: {workdir / 'dermedi.db'}). "
               f"Try: dermedi worklist next --user alice --config {cfg}")
    _ = held_any
    raise typer.Exit(EXIT_OK)
