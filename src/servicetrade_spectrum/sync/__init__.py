"""Use cases: send a job (and its write-backs), preview a send, read the history."""

from servicetrade_spectrum.sync._automation import Automation, Enqueue, SendRequest
from servicetrade_spectrum.sync._clients import ClientPool
from servicetrade_spectrum.sync._mappings import (
    MAPPING_ENTITIES,
    BlockedJob,
    InvalidMappingValue,
    Mapping,
    MappingChange,
    MappingEntity,
    MappingError,
    MappingOverview,
    MappingRecordNotFound,
    MappingRefused,
    Mappings,
    MappingUnavailable,
    mapping_kind,
)
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
    "MAPPING_ENTITIES",
    "Automation",
    "BlockedJob",
    "ClientPool",
    "ConnectionPaused",
    "Enqueue",
    "InvalidMappingValue",
    "JobNotFound",
    "Mapping",
    "MappingChange",
    "MappingEntity",
    "MappingError",
    "MappingOverview",
    "MappingRecordNotFound",
    "MappingRefused",
    "MappingUnavailable",
    "Mappings",
    "RegisteredWebhook",
    "SendRequest",
    "SendResult",
    "SendService",
    "SendStatus",
    "SyncError",
    "mapping_kind",
    "register_webhook",
]
