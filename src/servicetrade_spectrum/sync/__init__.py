"""Use cases: send a job (and its write-backs), preview a send, read the history."""

from servicetrade_spectrum.sync._automation import Automation, Enqueue, SendRequest
from servicetrade_spectrum.sync._clients import ClientPool
from servicetrade_spectrum.sync._results import (
    ConnectionPaused,
    JobNotFound,
    SendResult,
    SendStatus,
    SyncError,
)
from servicetrade_spectrum.sync._send import SendService
from servicetrade_spectrum.sync._webhooks import RegisteredWebhook, register_webhook

__all__ = [
    "Automation",
    "ClientPool",
    "ConnectionPaused",
    "Enqueue",
    "JobNotFound",
    "RegisteredWebhook",
    "SendRequest",
    "SendResult",
    "SendService",
    "SendStatus",
    "SyncError",
    "register_webhook",
]
