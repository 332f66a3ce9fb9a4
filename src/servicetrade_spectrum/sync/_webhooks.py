"""Registering the account's job webhook in ServiceTrade."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from servicetrade_spectrum.store import Store
from servicetrade_spectrum.sync._clients import ClientPool

__all__ = ["RegisteredWebhook", "register_webhook", "secret_digest"]

SECRET_BYTES = 24  # 32 URL-safe characters


def secret_digest(secret: str) -> str:
    """What is stored of a hook URL's secret: enough to recognise it, not to rebuild it."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class RegisteredWebhook:
    webhook_id: int
    hook_url: str
    """Contains the secret: show it to the admin once, never log it."""


def register_webhook(store: Store, clients: ClientPool, account_name: str,
                     public_url: str) -> RegisteredWebhook:
    """Register ``{public_url}/hooks/servicetrade/{secret}`` for job events.

    A fresh secret replaces the previous one (and the previous webhook is deleted), so a
    leaked hook URL is revoked by registering again.
    """
    account = store.account(account_name)
    client = clients.servicetrade(account)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    hook_url = f"{public_url.rstrip('/')}/hooks/servicetrade/{secret}"
    webhook = client.register_webhook(hook_url, actions=("created", "updated"))
    previous = store.account_webhook_id(account.id)
    store.set_webhook(account.name, secret_digest=secret_digest(secret), webhook_id=webhook.id)
    if previous is not None and previous != webhook.id:
        client.delete_webhook(previous)
    return RegisteredWebhook(webhook.id, hook_url)
