"""What a wait adds to CPU time on this machine: the same work, back to back and after pauses.

At L = 50 ms a send's thread waits on the network four times, and the code it runs after
each wait costs more CPU than the same code run back to back (caches and branch predictors
cold, the virtual CPU's clock lowered while idle). A send cannot spend less at L = 50 than
its L = 0 cost times that factor. This runs a fixed piece of pure-Python work (JSON parsing,
a few milliseconds) in blocks, with no pause and with pauses before each piece, in turn, and
gives the calling thread's CPU per piece.

    .venv/bin/python -m bench.cold_cpu [--pieces 150] [--blocks 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench._harness import machine

_DOCUMENT = json.dumps({f"key{n}": list(range(20)) for n in range(200)})
_PAUSES_MS = (0, 5, 50, 200)


def piece() -> None:
    for _ in range(12):
        json.loads(_DOCUMENT)


def cpu_ms_per_piece(pause_ms: float, pieces: int) -> float:
    """Median CPU of one piece (ms), each piece after ``pause_ms`` of sleep."""
    spent = []
    for _ in range(pieces):
        if pause_ms:
            time.sleep(pause_ms / 1000)
        started = time.thread_time()
        piece()
        spent.append(time.thread_time() - started)
    return statistics.median(spent) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=150, help="pieces per block")
    parser.add_argument("--blocks", type=int, default=3, help="blocks per pause")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    medians: dict[float, list[float]] = {pause: [] for pause in _PAUSES_MS}
    for _ in range(args.blocks):
        for pause in _PAUSES_MS:
            medians[pause].append(cpu_ms_per_piece(pause, args.pieces))
    back_to_back = statistics.median(medians[0])
    print("| pause before each piece | CPU per piece, median of blocks (ms) | x back to back |")
    print("|---|---|---|")
    for pause, values in medians.items():
        value = statistics.median(values)
        print(f"| {pause} ms | {value:.2f} | {value / back_to_back:.2f} |")


if __name__ == "__main__":
    main()
