"""A request's ``db.waits.Waiter`` for tests: the marks of its waits, in order."""

from __future__ import annotations


class Marks:
    """Records ``"began"`` (``"at once"`` for a wait known to be long) and ``"ended"``, as the
    web layer's admission is told them."""

    def __init__(self) -> None:
        self.marks: list[str] = []

    def wait_began(self, at_once: bool = False) -> None:
        self.marks.append("at once" if at_once else "began")

    def wait_ended(self) -> None:
        self.marks.append("ended")
