"""The web workspace in a real browser: Debian's Chromium driven by Playwright, against the real
server (``dermedi web`` in a subprocess on 127.0.0.1, a free port) over the demo's database.

Log in, filter the queue, take next, change status with a note, write an appeal and download its
PDF, download the corrected claim and validate it with pyx12, open the remit view and the
dashboard (charts present).  A screenshot of each page goes to the test's folder.  The server's
log is then scanned for the samples' patient names, member ids and birth dates: none may appear.

No browser is downloaded: Chromium is the one Debian installs (``apt-get install chromium``).
Without it the test fails, unless DERMEDI_SKIP_BROWSER=1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from phi import phi_in
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
DERMEDI = [sys.executable, "-c", "from dermedi.cli import main; main()"]
CHROMIUM = os.environ.get("DERMEDI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PASSWORD = "biller-password-1"

pytestmark = pytest.mark.skipif(os.environ.get("DERMEDI_SKIP_BROWSER") == "1", reason="DERMEDI_SKIP_BROWSER=1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str, stdin: str | None = None, cwd: Path) -> str:
    p = subprocess.run([*DERMEDI, *args], input=stdin, capture_output=True, text=True, timeout=300, cwd=cwd)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout + p.stderr


class Server:
    def __init__(self, workdir: Path, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._fh = log.open("w")
        self.proc = subprocess.Popen([*DERMEDI, "web", "--config", str(workdir / "dermedi.toml"), "--port",
                                      str(self.port)], stdout=self._fh, stderr=subprocess.STDOUT, cwd=workdir.parent)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"dermedi web exited: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("dermedi web did not start")

    def stop(self) -> None:
        if self._fh.closed:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._fh.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM} (apt-get install chromium; or DERMEDI_SKIP_BROWSER=1)")
    workdir = tmp_path / "dermedi-demo"
    _run("demo", "--workdir", str(workdir), "--samples", str(ROOT / "samples"), cwd=tmp_path)
    cfg = str(workdir / "dermedi.toml")
    _run("users", "add", "bea", "--role", "biller", "--config", cfg, "--password-stdin", stdin=PASSWORD + "\n",
         cwd=tmp_path)
    _run("users", "add", "lou", "--role", "lead", "--config", cfg, "--password-stdin", stdin=PASSWORD + "\n",
         cwd=tmp_path)
    server = Server(workdir, tmp_path / "server.log")
    try:
        yield server, workdir
    finally:
        server.stop()


def _item_with_claim(workdir: Path) -> int:
    from config.settings import load_settings
    from store import make_engine, session_scope
    from store.remits import WorkItem

    engine = make_engine(load_settings(workdir / "dermedi.toml").database.url)
    with session_scope(engine) as s:
        got = s.scalars(select(WorkItem.id).where(WorkItem.submitted_claim_id.is_not(None),
                                                  WorkItem.status == "new", WorkItem.owner.is_(None),
                                                  WorkItem.payer_claim_number != "")
                        .order_by(WorkItem.priority)).first()
    engine.dispose()
    assert got is not None
    return int(got)


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_biller_works_the_queue_in_chromium(demo: tuple[Server, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from edi.validate import validate_file
    from edi.x837 import Parser837

    server, workdir = demo
    target = _item_with_claim(workdir)
    console_errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
            page = ctx.new_page()
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.goto(server.url + "/queue")
            assert page.url.endswith("/login")                      # not logged in: the login page
            _shot(page, tmp_path, "01-login")
            page.fill("#username", "bea")
            page.fill("#password", PASSWORD)
            page.click("#login")
            page.wait_for_url("**/queue")
            assert page.locator("#queue-table tbody tr").count() >= 1
            _shot(page, tmp_path, "02-queue")

            # filter: every status, sorted by amount
            page.select_option("#f-status", "all")
            page.select_option("select[name=sort]", "amount")
            page.click("#apply-filters")
            page.wait_for_url("**/queue?*status=all*")
            assert page.locator("#queue-table tbody tr td a").count() >= 1, "the filtered queue is empty"
            _shot(page, tmp_path, "03-queue-filtered")

            # take next
            page.click("#take-next")
            page.wait_for_url("**/items/*")
            assert page.inner_text("#item-status") == "in_progress"
            _shot(page, tmp_path, "04-item-taken")

            # an item whose claim went through dermedi: status with a note
            page.goto(f"{server.url}/items/{target}")
            assert page.locator("#patient").count() == 1
            page.select_option("#new-status", "in_progress")
            page.fill("#status-note", "called the payer, appeal needed")
            page.click("#set-status")
            page.wait_for_url(f"**/items/{target}")
            assert page.inner_text("#item-status") == "in_progress"
            assert "called the payer, appeal needed" in page.inner_text("#history")

            # corrected claim: downloaded and pyx12-valid
            with page.expect_download() as dl:
                page.click("#download-corrected")
            corrected = tmp_path / "corrected.837"
            dl.value.save_as(str(corrected))
            result = validate_file(corrected)
            assert result.valid, [f.format() for f in result.findings][:5]
            claim = next(Parser837(corrected, "corrected").claims())
            assert claim.frequency_code == "7" and claim.ref("F8")

            # appeal letter: edit, make the PDF, download it, mark it sent
            page.click("#write-appeal")
            page.wait_for_url(f"**/items/{target}/appeal")
            _shot(page, tmp_path, "05-appeal-editor")
            body = page.input_value("#letter-body")
            assert "Dear Appeals Reviewer" in body
            page.fill("#letter-body", body.replace("Dear Appeals Reviewer,", "Dear Appeals Reviewer (edited),"))
            page.click("#make-pdf")
            page.wait_for_url(f"**/items/{target}*")
            with page.expect_download() as dl:
                page.locator("a.letter-pdf").first.click()
            pdf = tmp_path / "appeal.pdf"
            dl.value.save_as(str(pdf))
            assert pdf.read_bytes().startswith(b"%PDF")
            page.locator("button.send-letter").first.click()
            page.wait_for_url(f"**/items/{target}")
            assert page.inner_text("#item-status") == "appealed"
            assert "follow up by" in page.inner_text("#letters")
            _shot(page, tmp_path, "06-item-appealed")

            # the remit view (an ERA) and the dashboard with its charts
            page.goto(server.url + "/remits")
            _shot(page, tmp_path, "07-remits")
            page.locator("#payments a").first.click()
            page.wait_for_url("**/remits/*")
            assert "Electronic remittance advice" in page.inner_text("#era")
            assert page.locator(".remit-lines tbody tr").count() >= 1
            _shot(page, tmp_path, "08-remit-view")
            page.goto(server.url + "/dashboard")
            assert page.locator("#charts svg.chart").count() >= 6
            assert page.locator("#charts svg rect.bar").count() >= 3
            _shot(page, tmp_path, "09-dashboard")

            # a biller does not get the lead's bulk assign, nor another biller's item
            page.goto(server.url + "/queue")
            assert page.locator("#assign-to").count() == 0
        finally:
            browser.close()
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    server.stop()
    log = server.log.read_text()
    assert "GET /queue" in log and "POST /login" in log      # the server did log the requests ...
    assert phi_in(log) == []                                   # ... but no patient data
    assert "Traceback" not in log
    shutil.copy(server.log, tmp_path / "server-log-copy.txt")
