"""The load generator of benches/load-balancer.sh: requests through the load balancer of a
deployed hello-load-balancer service, one backend killed a third of the way in; prints one
Markdown row.

Usage: lb_load.py STATUS_JSON SECONDS CLIENTS CHECK_INTERVAL_MS CHECK_FAILURES RUN
"""

import json
import os
import signal
import socket
import sys
import threading
import time


def instance(status, node, index=0):
    found = [i for i in status["instances"] if i["node"] == node]
    return found[index]


def get(host, port):
    """One request on a new connection; the backend that answered, or None."""
    try:
        with socket.create_connection((host, port), timeout=2) as connection:
            connection.settimeout(2)
            connection.sendall(b"GET / HTTP/1.0\r\nHost: lb\r\n\r\n")
            answer = b""
            while chunk := connection.recv(4096):
                answer += chunk
    except OSError:
        return None
    head, _, body = answer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200") and not head.startswith(b"HTTP/1.1 200"):
        return None
    return body.decode().strip()


def load(host, port, until, results):
    while time.monotonic() < until:
        start = time.monotonic()
        backend = get(host, port)
        results.append((start, time.monotonic() - start, backend))


def marked_down(log, victim, skip, since, until):
    """When HAProxy's log, past its first `skip` bytes (what it said before the kill), first
    says the victim's server is down, polling every 5 ms."""
    while time.monotonic() < until:
        with open(log, "rb") as text:
            text.seek(skip)
            if f"{victim} is DOWN".encode() in text.read():
                return time.monotonic() - since
        time.sleep(0.005)
    return None


def percentile(values, share):
    values = sorted(values)
    return values[min(len(values) - 1, int(share * len(values)))] if values else 0.0


def main():
    status_file, seconds, clients, interval_ms, failures, run = sys.argv[1:]
    seconds, clients = float(seconds), int(clients)
    threshold = int(interval_ms) * int(failures) / 1000
    with open(status_file) as text:
        status = json.load(text)
    authority = status["outputs"]["url"].removeprefix("http://").rstrip("/")
    host, port = authority.rsplit(":", 1)
    port = int(port)
    # Until every backend answers, HAProxy is still checking them the first time.
    deadline = time.monotonic() + 30
    while {get(host, port) for _ in range(12)} != {"backend-0", "backend-1", "backend-2"}:
        if time.monotonic() > deadline:
            sys.exit("the backends never all answered")
    victim = instance(status, "backend", 1)
    victim_server = f"servers/{victim['id'].replace('backend', 'backend_port')}"
    log = instance(status, "balancer")["attributes"]["log"]

    results = []
    begin = time.monotonic()
    until = begin + seconds
    threads = [threading.Thread(target=load, args=(host, port, until, results)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 3)
    said_before = os.path.getsize(log)
    killed = time.monotonic()
    os.kill(victim["attributes"]["pid"], signal.SIGKILL)
    down = marked_down(log, victim_server, said_before, killed, until)
    for thread in threads:
        thread.join()

    failed = [r for r in results if r[2] is None]
    late = [r for r in failed if r[0] >= killed + threshold]
    latencies = [r[1] * 1000 for r in results if r[2] is not None]
    down_text = f"{down * 1000:.0f} ms" if down is not None else "never"
    ratio = f"{down / threshold:.2f}" if down is not None else "-"
    print(
        f"| {run} | {len(results)} | {len(failed)} | {len(late)} | {down_text} | "
        f"{threshold * 1000:.0f} ms | {ratio} | "
        f"{percentile(latencies, 0.5):.1f} / {percentile(latencies, 0.99):.1f} ms |"
    )


main()
