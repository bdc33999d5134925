"""A report built in a process of its own: `python -m bot.reports.worker`.

`serve` builds reports here rather than in a thread: a thread shares the interpreter
lock with the event loop, so a million-row report slowed every ack beside it; a process
runs on the other core. The `ReportJob` comes pickled on stdin (from the bot's own
process, never from outside) and the `Written` goes back pickled on stdout; a failure is
what went wrong, pickled on stdout, its traceback on stderr and exit status 1.
"""

from __future__ import annotations

import asyncio
import pickle
import sys
import traceback

from bot.reports.stream import ReportJob, write_file


def main() -> int:
    job = pickle.loads(sys.stdin.buffer.read())
    if not isinstance(job, ReportJob):
        print("not a report job", file=sys.stderr)
        return 2
    try:
        written = asyncio.run(write_file(job))
    except Exception as error:
        traceback.print_exc()  # for the bot's log
        sys.stdout.buffer.write(pickle.dumps(f"{type(error).__name__}: {error}"))
        return 1
    sys.stdout.buffer.write(pickle.dumps(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
