"""The HTTP client's own CPU per request: a plain ``httpx.Client`` against ours.

A send makes six HTTP requests (four round trips), so the client's share of a send's CPU is
six times its cost per request. Both clients ask the Spectrum emulator (a process of its own,
no latency) the same small request, in alternating blocks, and only the calling thread's CPU
is counted: the machine's drift falls on both alike, and the paired differences tell the
saving apart from it.

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
            httpx.Client() as plain, CookielessClient() as ours:
        for client in (plain, ours):  # warm: connections, caches
            cpu_us_per_request(client, spectrum.url, args.requests)
        plain_us: list[float] = []
        ours_us: list[float] = []
        for _ in range(args.blocks):
            plain_us.append(cpu_us_per_request(plain, spectrum.url, args.requests))
            ours_us.append(cpu_us_per_request(ours, spectrum.url, args.requests))
    saved = [p - o for p, o in zip(plain_us, ours_us, strict=True)]
    print("| client | CPU per request, median (us) |")
    print("|---|---|")
    print(f"| httpx.Client | {statistics.median(plain_us):.0f} |")
    print(f"| CookielessClient | {statistics.median(ours_us):.0f} |")
    print(f"| saved (median of paired blocks) | {statistics.median(saved):.0f} |")


if __name__ == "__main__":
    main()
