"""The App Home republisher folds a burst of refreshes for one person into few runs."""

from __future__ import annotations

import asyncio

from bot.context import Coalescer


async def test_a_burst_for_one_key_runs_twice_and_everyone_sees_the_last_run() -> None:
    coalescer = Coalescer()
    gate, started = asyncio.Event(), asyncio.Event()
    runs: list[str] = []
    finished: list[int] = []

    async def work(key: str) -> None:
        runs.append(key)
        started.set()
        await gate.wait()

    async def caller(number: int) -> None:
        await coalescer.run("U1", work)
        finished.append(number)

    tasks = [asyncio.create_task(caller(n)) for n in range(10)]
    await started.wait()  # the first caller is inside work(); the other nine were folded
    gate.set()
    await asyncio.gather(*tasks)
    assert runs == ["U1", "U1"]  # the first run, and one more for everything that came during it
    assert sorted(finished) == list(range(10))


async def test_keys_run_independently_and_an_error_reaches_the_runner() -> None:
    coalescer = Coalescer()
    seen: list[str] = []

    async def work(key: str) -> None:
        seen.append(key)
        if key == "bad":
            raise RuntimeError("slack said no")

    await asyncio.gather(coalescer.run("U1", work), coalescer.run("U2", work))
    assert sorted(seen) == ["U1", "U2"]
    try:
        await coalescer.run("bad", work)
    except RuntimeError as error:
        assert str(error) == "slack said no"
    else:
        raise AssertionError("the error was swallowed")
    await coalescer.run("bad", lambda key: asyncio.sleep(0))  # not stuck after a failure
