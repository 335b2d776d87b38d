"""The collector pause around decoding restores the collector as it found it."""

from __future__ import annotations

import gc

import pytest

from refiner_async._gc import gc_paused


def test_pause_restores_enabled_collector_even_on_error() -> None:
    """Inside the block the collector is off; after it (even after an error) it is on again."""
    seen: list[bool] = []

    def fail_inside() -> None:
        with gc_paused():
            seen.append(gc.isenabled())
            raise RuntimeError

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        fail_inside()
    assert seen == [False]
    assert gc.isenabled()


def test_pause_leaves_a_disabled_collector_disabled() -> None:
    """A caller who turned the collector off keeps it off."""
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_end_with_the_last() -> None:
    """Pauses that overlap without nesting (two tasks or threads decoding) keep the collector off
    until the last one ends, which turns it on again."""
    first, second = gc_paused(), gc_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second burst is still under way
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_disabled_between_pauses_stays_disabled() -> None:
    """The state is read afresh by each outermost pause: an application that disabled the
    collector after one pause ended keeps it disabled through the next."""
    with gc_paused():
        pass
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
