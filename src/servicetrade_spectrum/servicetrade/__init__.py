"""ServiceTrade's REST API, as the integration uses it.

:class:`ServiceTradeClient` reads jobs with their customer, location and contract (and the
external IDs that map them to Spectrum), searches jobs, writes external IDs and private job
comments, and manages webhooks. :func:`parse_webhook` reads what ServiceTrade posts to a hook.
Errors are the :class:`ServiceTradeError` tree (see ``_exceptions``).
"""

from servicetrade_spectrum.servicetrade._auth import (
    OAuthClientCredentials,
    OAuthRefreshToken,
    ServiceTradeAuth,
    SessionAuth,
)
from servicetrade_spectrum.servicetrade._client import (
    DEFAULT_BASE_URL,
    JOB_ENTITY_TYPE,
    ServiceTradeClient,
)
from servicetrade_spectrum.servicetrade._exceptions import (
    AuthenticationFailed,
    InvalidWebhook,
    NotFound,
    RequestRejected,
    ServiceTradeError,
    ServiceTradeUnavailable,
    UnexpectedResponse,
)
from servicetrade_spectrum.servicetrade._models import (
    Address,
    Comment,
    Company,
    CompanyRef,
    Contract,
    ContractRef,
    EntityEvents,
    Job,
    JobContext,
    JobPage,
    Location,
    LocationRef,
    Tag,
    Webhook,
)
from servicetrade_spectrum.servicetrade._webhooks import WebhookEvent, WebhookMessage, parse_webhook

__all__ = [
    "DEFAULT_BASE_URL",
    "JOB_ENTITY_TYPE",
    "Address",
    "AuthenticationFailed",
    "Comment",
    "Company",
    "CompanyRef",
    "Contract",
    "ContractRef",
    "EntityEvents",
    "InvalidWebhook",
    "Job",
    "JobContext",
    "JobPage",
    "Location",
    "LocationRef",
    "NotFound",
    "OAuthClientCredentials",
    "OAuthRefreshToken",
    "RequestRejected",
    "ServiceTradeAuth",
    "ServiceTradeClient",
    "ServiceTradeError",
    "ServiceTradeUnavailable",
    "SessionAuth",
    "Tag",
    "UnexpectedResponse",
    "Webhook",
    "WebhookEvent",
    "WebhookMessage",
    "parse_webhook",
]
