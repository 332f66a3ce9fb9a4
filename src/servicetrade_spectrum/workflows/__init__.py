"""Durable sends: DBOS workflows, the per-connection send queue, and process roles."""

from servicetrade_spectrum.workflows._finished_here import wait_here
from servicetrade_spectrum.workflows._runtime import (
    APP_VERSION,
    QUEUE,
    DurableRuntime,
    SendQueue,
    server_running,
)
from servicetrade_spectrum.workflows._send_workflow import WORKFLOW_NAME, send_job

__all__ = ["APP_VERSION", "QUEUE", "WORKFLOW_NAME", "DurableRuntime", "SendQueue", "send_job",
           "server_running", "wait_here"]
