"""Fixtures the robust tests borrow from other domains' tests."""

from tests.market.conftest import world

__all__ = ["world"]
