"""Reading the messages ServiceTrade POSTs to a registered hook URL.

A message carries IDs only, possibly many events at once::

    {"messageId": "...", "timestamp": 1767225600,
     "data": [{"action": "updated", "timestamp": ..., "userId": 41,
               "entity": {"type": "job", "id": 3100000000000038, "uri": "..."},
               "changeset": [...]}]}

Unknown fields are ignored so that ServiceTrade can add some; anything without the parts the
integration relies on (a message ID, events with an action and an entity type and integer ID)
is refused with :class:`InvalidWebhook`, whose message says what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from servicetrade_spectrum.servicetrade._exceptions import InvalidWebhook

__all__ = ["WebhookEvent", "WebhookMessage", "parse_webhook"]


def _exact_int(value: Any) -> Any:
    """Accept an integer or a string of digits; refuse floats, which may have lost digits."""
    if isinstance(value, bool):
        raise ValueError("must be an integer ID, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError("must be an integer ID (a JSON integer or a string of digits)")


def _message_id(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError("must be a non-empty string")
    return str(value)


ExactId = Annotated[int, BeforeValidator(_exact_int)]


class WebhookEvent(BaseModel):
    """One change: ``action`` (``created``, ``updated``, ...) on one entity."""

    model_config = ConfigDict(frozen=True)

    action: str = Field(min_length=1)
    entity_type: str = Field(min_length=1)
    entity_id: ExactId
    timestamp: int | None = None
    user_id: int | None = None
    uri: str | None = None
    changeset: list[Any] | dict[str, Any] | None = None


class WebhookMessage(BaseModel):
    """One delivery; ``message_id`` is unique per message, so it is the deduplication key."""

    model_config = ConfigDict(frozen=True)

    message_id: Annotated[str, BeforeValidator(_message_id)]
    timestamp: int | None = None
    events: list[WebhookEvent]


class _WireEntity(BaseModel):
    type: str = Field(min_length=1)
    id: ExactId
    uri: str | None = None


class _WireEvent(BaseModel):
    action: str = Field(min_length=1)
    timestamp: int | None = None
    userId: int | None = None  # noqa: N815 - the wire name
    entity: _WireEntity
    changeset: list[Any] | dict[str, Any] | None = None


class _WireMessage(BaseModel):
    messageId: Annotated[str, BeforeValidator(_message_id)]  # noqa: N815 - the wire name
    timestamp: int | None = None
    data: list[_WireEvent]


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> WebhookMessage:
    """Read a webhook POST body (raw bytes, text, or already-decoded JSON).

    Raises :class:`InvalidWebhook` when the body is not JSON or lacks what a ServiceTrade
    webhook message always has.
    """
    if isinstance(body, bytes | str):
        try:
            decoded: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidWebhook(
                "ServiceTrade webhook body is not JSON: check that the hook URL is only "
                "registered with ServiceTrade") from exc
    else:
        decoded = body
    if not isinstance(decoded, Mapping):
        raise InvalidWebhook("ServiceTrade webhook body must be a JSON object with "
                             "messageId and data")
    try:
        wire = _WireMessage.model_validate(decoded)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors())
        raise InvalidWebhook(f"ServiceTrade webhook body is malformed ({problems})") from exc
    return WebhookMessage(
        message_id=wire.messageId,
        timestamp=wire.timestamp,
        events=[WebhookEvent(action=event.action, entity_type=event.entity.type,
                             entity_id=event.entity.id, timestamp=event.timestamp,
                             user_id=event.userId, uri=event.entity.uri,
                             changeset=event.changeset)
                for event in wire.data],
    )
