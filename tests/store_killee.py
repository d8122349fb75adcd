"""A process for the kill -9 tests of tests/test_store_bulk.py (not a test module).

    python tests/store_killee.py ingest|send|send-background URL WORKDIR INPUT MARKER

Runs a bulk 835 ingest or a bulk send of INPUT against the database at URL; after the second
bulk write it creates MARKER and sleeps, holding the work half-done (inside the open ingest
transaction, or between two batches of a send, recorded in its own transaction or, with
``send-background``, by the writer process of :mod:`store.writer`), until the test kills it with
SIGKILL.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any


def _pause_after(n: int, marker: Path, fn: Any) -> Any:
    calls = {"n": 0}

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == n:
            marker.write_text("half-way\n")
            time.sleep(120)
        return out

    return wrapped


def main() -> None:
    mode, url, workdir, source, marker = sys.argv[1:6]
    from store import make_engine

    engine = make_engine(url)
    if mode == "ingest":
        from remits import ingest

        ingest._Batch.write = _pause_after(2, Path(marker), ingest._Batch.write)  # type: ignore[method-assign]
        ingest.ingest_835_file(engine, source)
    elif mode in ("send", "send-background"):
        from tests_support import directory_setup

        from clearinghouse import submit

        # the second batch recorded (in this process's transaction, or handed to the writer process)
        submit._Records.record = _pause_after(2, Path(marker), submit._Records.record)  # type: ignore[method-assign]
        submit.BACKGROUND_MIN_BYTES = 0 if mode == "send-background" else 1 << 62
        settings, profile = directory_setup(url, Path(workdir))
        submit.send_files(engine, settings, profile, [Path(source)], sleep=lambda _s: None)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
