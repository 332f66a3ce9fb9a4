"""What the web app's pages and API work with, built once by ``serve`` (or a test)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from servicetrade_spectrum.config import Settings
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync import ClientPool, SendService
from servicetrade_spectrum.web._ratelimit import SignInLimiter

if TYPE_CHECKING:
    from servicetrade_spectrum.workflows import SendQueue

__all__ = ["WebServices"]


@dataclass
class WebServices:
    settings: Settings
    store: Store
    clients: ClientPool
    sender: SendService
    queue: SendQueue | None = None
    """Where sends go (the durable queue). None only in apps that never send (tests of the
    webhook intake): a send then answers 503."""
    wake: Callable[[], None] = field(default=lambda: None)
    """Tells the automation loop a webhook message is waiting."""
    sign_in_limiter: SignInLimiter = field(default_factory=SignInLimiter)
