"""A worker that writes its whole environment to its log, as a careless library might."""

import os
import sys

from engine.workers import protocol as p


def body(spec: dict) -> None:
    for key, value in sorted(os.environ.items()):
        print(f"{key}={value}", file=sys.stderr, flush=True)
    p.result({"names": sorted(os.environ)})


if __name__ == "__main__":
    p.run_worker(body)
