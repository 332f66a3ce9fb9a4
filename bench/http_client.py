"""The HTTP client's own CPU per request: httpx's default client against ours.

A send makes six HTTP requests (four round trips), so the client's share of a send's CPU is
six times its cost per request. Three clients ask the Spectrum emulator (a process of its
own, no latency) the same small request, in turn, block after block, and only the calling
thread's CPU is counted: the machine's drift falls on all alike, and the paired differences
tell each saving apart from it.

- ``httpx.Client``: httpx's defaults (a cookie jar; httpcore and h11 underneath);
- ``CookielessClient on httpcore``: ours without cookies (``_http``), on httpx's transport;
- ``CookielessClient``: ours as the adapters use it, on ``StdlibTransport``
  (``_http_transport``).

    .venv/bin/python -m bench.http_client [--blocks 40] [--requests 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from bench._harness import machine, started_emulator
from servicetrade_spectrum._http import CookielessClient


def cpu_us_per_request(client: httpx.Client, url: str, requests: int) -> float:
    started = time.thread_time()
    for _ in range(requests):
        client.get(url)
    return (time.thread_time() - started) * 1e6 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--requests", type=int, default=200, help="requests per block")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with started_emulator("spectrum", latency_ms=0) as spectrum, \
            httpx.Client() as plain, \
            CookielessClient(transport=httpx.HTTPTransport()) as cookieless_on_httpcore, \
            CookielessClient() as ours:
        clients = {"httpx.Client": plain,
                   "CookielessClient on httpcore": cookieless_on_httpcore,
                   "CookielessClient": ours}
        spent: dict[str, list[float]] = {name: [] for name in clients}
        for client in clients.values():  # warm: connections, caches
            cpu_us_per_request(client, spectrum.url, args.requests)
        for _ in range(args.blocks):
            for name, client in clients.items():
                spent[name].append(cpu_us_per_request(client, spectrum.url, args.requests))
    print("| client | CPU per request, median (us) |")
    print("|---|---|")
    for name, samples in spent.items():
        print(f"| {name} | {statistics.median(samples):.0f} |")

    def saved(before: str, after: str) -> float:
        return statistics.median(b - a for b, a in zip(spent[before], spent[after],
                                                        strict=True))

    print(f"| saved without cookies (median of paired blocks) | "
          f"{saved('httpx.Client', 'CookielessClient on httpcore'):.0f} |")
    print(f"| saved by StdlibTransport (median of paired blocks) | "
          f"{saved('CookielessClient on httpcore', 'CookielessClient'):.0f} |")


if __name__ == "__main__":
    main()
