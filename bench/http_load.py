"""HTTP throughput of the catalog endpoint as deployed: gunicorn with 2 workers on loopback.

Run against a database that `moonvault generate` has filled, with the production settings
(DEBUG off) in the environment:

    DATABASE_URL=... DEBUG=0 SECRET_KEY=... python bench/http_load.py [SECONDS]

The load generator is wrk (Debian package `wrk`) when it is installed, a C program that costs the
server little of the machine's two cores; otherwise a Python generator with keep-alive
connections in several processes, which is slower and says so in its result. Prints one JSON
object: requests per second, responses by status, errors, and latency percentiles from wrk.
"""

import http.client
import json
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = [
    "/api/v1/samples?limit=50",
    "/api/v1/samples?form=powder&pool=research&limit=50",
    "/api/v1/samples?state=stored&limit=50",
]
CONNECTIONS = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", PATHS[0], headers={"Host": "127.0.0.1"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within a minute")


WRK_SCRIPT = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %%d, \\"seconds\\": %%f, \\"non2xx\\": %%d, "
    .. "\\"connect\\": %%d, \\"read\\": %%d, \\"write\\": %%d, \\"timeout\\": %%d, "
    .. "\\"p50_ms\\": %%f, \\"p95_ms\\": %%f, \\"p99_ms\\": %%f}\\n",
    summary.requests, summary.duration / 1e6, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def load_with_wrk(port: int, seconds: int, workdir: Path) -> dict:
    script = workdir / "catalog.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in PATHS))
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout=5s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))
    errors = sum(figures[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
    return {
        "generator": "wrk",
        "requests": figures["requests"],
        "requests_per_s": round(figures["requests"] / figures["seconds"], 1),
        "errors": errors,
        "p50_ms": round(figures["p50_ms"], 2),
        "p95_ms": round(figures["p95_ms"], 2),
        "p99_ms": round(figures["p99_ms"], 2),
    }


def _python_client(port: int, until: float, queue) -> None:
    done = errors = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < until:
        try:
            conn.request("GET", PATHS[done % len(PATHS)], headers={"Host": "127.0.0.1"})
            response = conn.getresponse()
            response.read()
            errors += response.status != 200
        except OSError:
            errors += 1
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        done += 1
    queue.put((done, errors))


def load_with_python(port: int, seconds: int) -> dict:
    queue = multiprocessing.Queue()
    started = time.monotonic()
    clients = [
        multiprocessing.Process(target=_python_client, args=(port, started + seconds, queue))
        for _ in range(4)
    ]
    for client in clients:
        client.start()
    results = [queue.get() for _ in clients]
    for client in clients:
        client.join()
    elapsed = time.monotonic() - started
    requests = sum(done for done, _ in results)
    return {
        "generator": "python (wrk not installed; the generator competes with the server)",
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "errors": sum(errors for _, errors in results),
    }


def http_load(env: dict, seconds: int, workdir: Path) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--config=deploy/gunicorn.conf.py",
            "--access-logfile=/dev/null",
            "--log-level=warning",
        ],
        env={
            **env,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
        },
        cwd=ROOT,
    )
    try:
        wait_until_up(port, server)
        # Every worker answers each kind of query once before the clock starts.
        for path in PATHS * 4:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", path, headers={"Host": "127.0.0.1"})
            conn.getresponse().read()
        if shutil.which("wrk"):
            figures = load_with_wrk(port, seconds, workdir)
        else:
            figures = load_with_python(port, seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "server": "gunicorn, 2 sync workers (deploy/gunicorn.conf.py)",
        "seconds": seconds,
        **figures,
    }


if __name__ == "__main__":
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    print(json.dumps(http_load(dict(os.environ), seconds, out)))
