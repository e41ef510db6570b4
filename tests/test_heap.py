"""lms.ops.heap: the long-lived objects of a process leave the garbage collector's full passes."""
from __future__ import annotations

import gc
import weakref

from lms.ops.heap import settle


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_settle_collects_first_then_freezes_what_is_left():
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    kept = _Node()
    try:
        frozen = settle()
        assert gone() is None  # collected, not frozen for the life of the process
        assert frozen == gc.get_freeze_count() > 1000
        assert not gc.is_finalized(kept) and kept.me is kept
        # what is made afterwards is collected as before
        later = _Node()
        later_ref = weakref.ref(later)
        del later
        gc.collect()
        assert later_ref() is None
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
