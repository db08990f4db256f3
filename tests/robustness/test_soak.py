"""A real server under a steady mixed load answers every request and does not grow.

gunicorn serves the test database on loopback (one worker, four threads) while four clients
search the catalog, open sample and mission pages, read the API, and split and weigh samples
through the API with a curator's write token. Every answer must be one the endpoint documents —
no 5xx, no dropped connection — and the worker's resident memory may grow by at most
RSS_GROWTH_MB between the end of the warm-up and the end of the run. Afterwards the ledger
verifies and holds exactly the splits and weighings the API accepted.

The server runs with DEBUG on: production static storage needs `collectstatic`, which costs more
than the whole run on a busy machine, and no static file is requested here. Django clears its
debug query log at the start of every request, so DEBUG adds nothing that accumulates.
"""

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Sum

from moonvault.accounts.models import ApiToken
from moonvault.accounts.services import api_token_create
from moonvault.catalog.models import Pool, Sample
from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.custody.models import CustodyEvent
from moonvault.custody.selectors import ledger_head
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM
from tests.robustness.conftest import report, subprocess_env

CLIENTS = 4
WARM_UP_SECONDS = 5.0
SOAK_SECONDS = 15.0
RSS_GROWTH_MB = 30
BOOT_SECONDS = 60
GUNICORN = Path(sys.executable).with_name("gunicorn")
# Kinds of request and their weights in the mix.
MIX = {
    "search": 10,
    "sample page": 10,
    "mission page": 3,
    "api list": 10,
    "api sample": 10,
    "api timeline": 5,
    "api genealogy": 5,
    "ledger head": 3,
    "split": 8,
    "weigh": 8,
}

pytestmark = [
    pytest.mark.robustness,
    pytest.mark.django_db(transaction=True),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


class Client:
    """One request per connection, so that a keep-alive race is never mistaken for an error."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        link = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Connection": "close"}
        if body is not None:
            headers |= {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        try:
            link.request(
                method, path, body=None if body is None else json.dumps(body), headers=headers
            )
            answer = link.getresponse()
            return answer.status, answer.read()
        finally:
            link.close()


class Load:
    """The mix of requests, with the answers each may give."""

    def __init__(self, client: Client, identifiers: list[str]):
        self.client = client
        self.identifiers = identifiers
        self.done = Counter()
        self.accepted = Counter()  # writes the server carried out
        self.statuses = Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def one(self, rng: random.Random, kind: str = "") -> None:
        identifier = rng.choice(self.identifiers)
        kind = kind or rng.choices(list(MIX), list(MIX.values()))[0]
        allowed = {200}
        if kind == "search":
            path = f"/samples/?q=CE5C&form={rng.choice(['', 'scooped_regolith', 'powder'])}"
        elif kind == "sample page":
            path = f"/samples/{identifier}/"
        elif kind == "mission page":
            path = "/missions/CE5/"
        elif kind == "api list":
            path = f"/api/v1/samples?mission=CE5&limit=50&offset={rng.randint(0, 40)}"
        elif kind == "api sample":
            path = f"/api/v1/samples/{identifier}"
        elif kind == "api timeline":
            path = f"/api/v1/samples/{identifier}/timeline"
        elif kind == "api genealogy":
            path = f"/api/v1/samples/{identifier}/genealogy"
        else:
            path = "/api/v1/ledger/head"
        body = None
        if kind == "split":
            path = f"/api/v1/samples/{identifier}/split"
            body = {"children": [{"mass_ug": 1_000}], "loss_ug": 5, "reason": "aliquot"}
            allowed = {201, 409}
        elif kind == "weigh":
            status, sample = self.client.call("GET", f"/api/v1/samples/{identifier}")
            self.record("api sample", status, {200}, sample)
            mass = json.loads(sample)["mass_ug"] + rng.randint(-10, 10)
            path = f"/api/v1/samples/{identifier}/weigh"
            body = {"measured_ug": max(mass, 0), "reason": "balance check"}
            allowed = {200, 409}
        status, content = self.client.call("POST" if body else "GET", path, body)
        self.record(kind, status, allowed, content)

    def record(self, kind: str, status: int, allowed: set[int], content: bytes) -> None:
        with self.lock:
            self.done[kind] += 1
            self.statuses[status] += 1
            if status in {200, 201} and kind in {"split", "weigh"}:
                self.accepted[kind] += 1
            if status not in allowed:
                self.errors.append(f"{kind}: {status} {content[:300]!r}")

    def run(self, seed: int, until: float) -> None:
        rng = random.Random(seed)
        while time.monotonic() < until:
            try:
                self.one(rng)
            except (OSError, http.client.HTTPException, ValueError) as error:
                with self.lock:
                    self.errors.append(f"{type(error).__name__}: {error}")


@pytest.fixture
def server(tmp_path):
    """gunicorn on a free loopback port, serving the test database; yields (port, worker pid)."""
    port = free_port()
    env = subprocess_env() | {"MOONVAULT_VAR_DIR": str(tmp_path), "ALLOWED_HOSTS": "127.0.0.1"}
    log = tmp_path / "gunicorn.log"
    log_file = log.open("w")
    process = subprocess.Popen(
        [
            str(GUNICORN),
            "moonvault.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            "--workers=1",
            "--worker-class=gthread",
            f"--threads={CLIENTS}",
            "--timeout=60",
        ],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    worker = 0
    try:
        deadline = time.monotonic() + BOOT_SECONDS
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if Client(port, "").call("GET", "/api/v1/ledger/head")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.2)
        worker = worker_pid(process.pid)
        yield port, worker
    finally:
        # The measurements are taken: the server's own shutdown is not under test, and a
        # graceful one costs seconds.
        process.kill()
        if worker:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)
        process.wait()
        log_file.close()


@pytest.fixture
def inventory(mission_ce5, facility, receive, curator):
    roots = [
        receive(f"CE5C0100YJFM001{n:02d}", mission_ce5, 20 * GRAM, pool=Pool.RESEARCH)
        for n in range(12)
    ]
    for root in roots[:4]:
        sample_split(actor=None, sample_id=root.pk, children=[ChildSpec(GRAM)] * 3, loss_ug=10)
    token = api_token_create(actor=curator, name="soak", scope=ApiToken.Scope.WRITE)
    return list(Sample.objects.values_list("identifier", flat=True)), token


def test_a_server_under_twenty_seconds_of_mixed_load_answers_everything_and_stays_small(
    inventory, server
):
    identifiers, token = inventory
    port, worker = server
    load = Load(Client(port, token), identifiers)
    head_before = ledger_head().seq
    held_before = Sample.objects.aggregate(m=Sum("mass_ug"))["m"]

    # Every kind of request once, so that the worker has loaded all it needs before the load.
    for kind in MIX:
        load.one(random.Random(kind), kind)
    started = time.monotonic()
    until = started + WARM_UP_SECONDS + SOAK_SECONDS
    clients = [threading.Thread(target=load.run, args=(seed, until)) for seed in range(CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(WARM_UP_SECONDS)
    rss = [rss_mb(worker)]
    warm_requests = sum(load.done.values())
    while time.monotonic() < until:
        time.sleep(1)
        rss.append(rss_mb(worker))
    for client in clients:
        client.join(timeout=60)
    assert not any(c.is_alive() for c in clients)
    rss.append(rss_mb(worker))
    requests = sum(load.done.values())
    elapsed = time.monotonic() - started

    new_events = Counter(
        CustodyEvent.objects.filter(seq__gt=head_before).values_list("kind", flat=True)
    )
    report(
        f"soak on {connection.vendor}: gunicorn, {CLIENTS} clients, {elapsed:.0f} s",
        {
            "requests": f"{requests} ({requests / elapsed:.1f}/s)",
            **{f"  {kind}": n for kind, n in sorted(load.done.items())},
            "answers": dict(sorted(load.statuses.items())),
            "errors": len(load.errors),
            "writes accepted": dict(load.accepted),
            "splits and weighings recorded": f"{new_events['split']}, {new_events['weighed']}",
            "worker RSS after warm-up": f"{rss[0]:.1f} MB ({warm_requests} requests in)",
            "worker RSS at the end": f"{rss[-1]:.1f} MB (max {max(rss):.1f} MB)",
            "load average": f"{os.getloadavg()[0]:.1f}",
        },
    )
    assert not load.errors, load.errors[:10]
    assert rss[-1] - rss[0] < RSS_GROWTH_MB
    assert load.done["split"] and load.done["weigh"]
    # The ledger holds exactly the writes the server answered as done.
    assert new_events["split"] == new_events["split_off"] == load.accepted["split"]
    assert new_events["weighed"] == load.accepted["weigh"]
    verification = custody_verify()
    assert verification.ok, verification.problems
    # Mass held now, plus handling loss, less weighing corrections, is what was held before.
    added = CustodyEvent.objects.filter(seq__gt=head_before)
    loss = added.aggregate(m=Sum("loss_ug"))["m"] or 0
    corrections = added.filter(kind="weighed").aggregate(m=Sum("mass_delta_ug"))["m"] or 0
    held_after = Sample.objects.aggregate(m=Sum("mass_ug"))["m"]
    assert held_after + loss - corrections == held_before
