"""A local cluster for trying `--strategy multi-worker` on one machine.

    python -m zoo.cluster local --workers 2 -- python -m recipes.sentiment --strategy multi-worker

starts the command once per worker, each with a `TF_CONFIG` naming all of them on free ports of
127.0.0.1 and its own index, prints their output prefixed with `[worker N]`, and waits. If one ends in
failure (or is killed), the others are stopped too, and the exit status is the first failure's: run the
same command again to resume from the last backup. On real machines, set `TF_CONFIG` on each machine
yourself (see the README) and start the recipe there.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 now (the system picks them)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_configs(ports: Sequence[int]) -> list[str]:
    """Each worker's `TF_CONFIG`: the same cluster of workers on 127.0.0.1, its own index."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return [
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        for index in range(len(ports))
    ]


def _relay(stream, prefix: str) -> None:
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{prefix}{line}")
        sys.stdout.flush()


def run_local(command: Sequence[str], workers: int, timeout: float | None = None) -> int:
    """Run `command` as `workers` processes of one local cluster; their first failing exit status, or 0.

    `timeout` (seconds) bounds the whole cluster: past it every process is stopped and 124 returned.
    """
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    processes = []
    for index, config in enumerate(tf_configs(free_ports(workers))):
        environ = {**os.environ, "TF_CONFIG": config, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            list(command),
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # stopped as a group, with whatever it started
        )
        threading.Thread(target=_relay, args=(process.stdout, f"[worker {index}] "), daemon=True).start()
        processes.append(process)
    deadline = None if timeout is None else time.monotonic() + timeout
    status = 0
    try:
        while None in [process.poll() for process in processes]:  # polls every one
            failed = [p.returncode for p in processes if p.returncode not in (None, 0)]
            if failed or (deadline is not None and time.monotonic() > deadline):
                status = failed[0] if failed else 124
                break
            time.sleep(0.2)
        else:
            status = next((p.returncode for p in processes if p.returncode != 0), 0)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zoo.cluster", description=__doc__.split("\n\n")[0], usage="%(prog)s local ..."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="run a command as the workers of a cluster on this machine")
    local.add_argument("--workers", type=int, default=2, help="processes to start (default 2)")
    local.add_argument("--timeout", type=float, help="stop every worker after this many seconds")
    local.add_argument("argv", nargs=argparse.REMAINDER, help="-- then the command each worker runs")
    args = parser.parse_args(argv)
    command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not command:
        parser.error("give the command after --, e.g. -- python -m recipes.sentiment --strategy multi-worker")
    return run_local(command, args.workers, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
