"""``LoopHandle``: a function handed to a loop from any thread runs on the loop's thread;
after the loop has closed, a call is dropped, never raised."""

from __future__ import annotations

import threading

import anyio

from toolkit.loop import LoopHandle


def test_a_call_from_another_thread_runs_on_the_loop_thread_and_one_after_it_closed_is_dropped() -> (
    None
):
    handle = LoopHandle()
    ran_on: list[int] = []

    def note() -> None:
        ran_on.append(threading.get_ident())

    async def main() -> int:
        handle.bind()
        assert handle.here and handle.reachable
        handle.call(note)  # on the loop's thread: at once
        assert len(ran_on) == 1
        thread = threading.Thread(target=handle.call, args=(note,))
        thread.start()
        await anyio.to_thread.run_sync(thread.join)
        while len(ran_on) < 2:  # scheduled onto this loop, run once it gets its turn
            await anyio.sleep(0)
        return threading.get_ident()

    loop_thread = anyio.run(main)
    assert ran_on == [loop_thread, loop_thread]
    late = threading.Thread(target=handle.call, args=(note,))
    late.start()
    late.join()
    assert len(ran_on) == 2  # the loop is closed: dropped, and nothing raised


def test_an_unbound_handle_reaches_no_loop() -> None:
    handle = LoopHandle()
    called: list[int] = []
    assert not handle.reachable and not handle.here
    handle.call(called.append, 1)
    assert called == []
