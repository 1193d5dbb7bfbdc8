"""The chain watcher: tick a node until told to stop, surviving transient failures."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from node.errors import FedchainError

log = logging.getLogger(__name__)


class Ticking(Protocol):
    """Anything with a ``tick()`` (a node, or a node behind a lock)."""

    def tick(self) -> None:
        """One step."""
        ...


def run_forever(node: Ticking, *, interval: float, stop: Callable[[], bool]) -> None:
    """Tick until ``stop()``; a failing tick is logged and retried (chain or peers down)."""
    while not stop():
        try:
            node.tick()
        except FedchainError as exc:
            log.warning("tick failed: %s", exc)
        except Exception:  # keep the watcher alive across transient RPC/HTTP errors
            log.exception("tick failed")
        time.sleep(interval)
