"""Each worker of ``datatorg serve --workers 2`` listens on a socket of its own
(``SO_REUSEPORT``, datatorg.web.workers), so the kernel spreads new connections over the
workers instead of the first one to wake taking most of a burst; a worker killed with
SIGKILL is replaced by one on the same socket, so no connection waits for nobody; and a
second server on a port in use refuses to start rather than share it.

What each process holds is read from Linux's /proc: a process's open sockets are the
``socket:[inode]`` links under /proc/<pid>/fd, and /proc/net/tcp and tcp6 give each
socket's state and local port by the same inode."""

from __future__ import annotations

import http.client
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Process

from datatorg.web import workers
from tests.robust.server import Installation, Server, new_installation, serve

LISTEN = "0A"
ESTABLISHED = "01"
CONNECTIONS = 40


def _port(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _inodes(port: int, state: str) -> set[int]:
    """The inodes of the sockets in ``state`` whose local port is ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)  # the header
            for line in f:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == state and fields[9] != "0":
                    found.add(int(fields[9]))
    return found


def _sockets_of(pid: int) -> set[int]:
    """The inodes of the sockets process ``pid`` has open."""
    found = set()
    fds = Path(f"/proc/{pid}/fd")
    try:
        names = os.listdir(fds)
    except FileNotFoundError:
        return found
    for name in names:
        try:
            target = os.readlink(fds / name)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _workers(server: Server) -> dict[int, set[int]]:
    """The supervisor's children that listen on the server's port, with the listening
    sockets each holds."""
    port = _port(server)
    listening = _inodes(port, LISTEN)
    workers = {}
    for pid in server.pids():
        if _parent_of(pid) == server.proc.pid:
            held = _sockets_of(pid) & listening
            if held:
                workers[pid] = held
    return workers


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Installation:
    return new_installation(tmp_path_factory.mktemp("sockets"), None, "sockets")


@pytest.fixture(scope="module")
def server(installation: Installation) -> Iterator[Server]:
    with serve(installation, workers=2) as running:
        yield running


def test_each_worker_listens_on_a_socket_of_its_own(server: Server) -> None:
    workers = _workers(server)
    assert len(workers) == 2, workers
    first, second = workers.values()
    # with one socket shared by all the workers (uvicorn's way) both hold the same inode
    assert len(first) == 1 and len(second) == 1, workers
    assert first != second, workers
    # the supervisor keeps them all open, for the workers that replace the dead ones
    assert first | second <= _sockets_of(server.proc.pid)


def test_a_burst_of_connections_is_spread_over_the_workers(server: Server) -> None:
    port = _port(server)
    workers = _workers(server)
    clients = [
        socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(CONNECTIONS)
    ]
    try:
        # A worker holds a connection once it has accepted it; idle connections are not
        # closed before their first request. Wait until all are accepted (a worker still
        # starting accepts late).
        deadline = time.monotonic() + 120
        while True:
            established = _inodes(port, ESTABLISHED)
            held = {pid: len(_sockets_of(pid) & established) for pid in workers}
            if sum(held.values()) >= CONNECTIONS or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert sum(held.values()) == CONNECTIONS, held
        # The kernel picks a socket by a hash of each connection's addresses and ports,
        # like a coin toss per connection: a worker gets fewer than 8 of 40 with a chance
        # of about 4e-5 (binomial, both sides). With one shared socket the worker that wakes
        # first takes most of a burst (37 against 13 measured for 50).
        assert min(held.values()) >= 8, held
        for client in clients:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for client in clients:
            assert client.recv(65536).startswith(b"HTTP/1.1 200"), held
    finally:
        for client in clients:
            client.close()


def _held_by(port: int, client_port: int, pids: list[int]) -> int | None:
    """The worker that holds the server's end of the connection from ``client_port``."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if (local_port, remote_port, fields[3]) == (port, client_port, ESTABLISHED):
                    inode = int(fields[9])
    return next((pid for pid in pids if inode in _sockets_of(pid)), None) if inode else None


def _owner(port: int, conn: http.client.HTTPConnection, pids: list[int]) -> int | None:
    sock = conn.sock
    if sock is None:
        return None
    try:
        return _held_by(port, sock.getsockname()[1], pids)
    except OSError:  # closed meanwhile
        return None


def test_keep_alive_connections_even_out_over_the_workers(server: Server) -> None:
    """30 keep-alive connections, 24 held by one worker and 6 by the other, each sending
    requests as fast as it is answered: the busier worker closes connections now and then
    (datatorg.web.balance), their clients connect again, and the kernel hashes the new
    connections afresh, until the two hold about as many. Kept open, the split would stay."""
    port = _port(server)
    pids = list(_workers(server))
    wanted = dict(zip(pids, (24, 6), strict=True))
    held: dict[int, list[http.client.HTTPConnection]] = {pid: [] for pid in pids}
    for _ in range(500):
        if all(len(held[p]) == n for p, n in wanted.items()):
            break
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        deadline = time.monotonic() + 30
        while (owner := _owner(port, conn, pids)) is None and time.monotonic() < deadline:
            time.sleep(0.01)  # accepted once its worker wakes
        if owner is not None and len(held[owner]) < wanted[owner]:
            held[owner].append(conn)
        else:
            conn.close()
    conns = [c for cs in held.values() for c in cs]
    assert len(conns) == 30, {p: len(cs) for p, cs in held.items()}
    stop = threading.Event()
    statuses: list[int] = []
    closes = [0]

    def loop(conn: http.client.HTTPConnection) -> None:
        while not stop.is_set():
            conn.request("GET", "/datasets")  # connects again after a close
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
            if resp.getheader("connection") == "close":
                closes[0] += 1

    split: list[int] = []
    with ThreadPoolExecutor(max_workers=len(conns)) as pool:
        running = [pool.submit(loop, c) for c in conns]
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                time.sleep(0.5)
                owners = [_owner(port, c, pids) for c in conns]
                split = sorted(owners.count(p) for p in pids)
                if split[1] - split[0] <= 4 and None not in owners:
                    break
        finally:
            stop.set()
            for done in running:
                done.result()
            for conn in conns:
                conn.close()
    assert split and split[1] - split[0] <= 4, split  # from 24 against 6
    assert closes[0] > 0
    assert statuses and set(statuses) == {200}


def test_a_second_server_on_the_same_port_does_not_start(
    server: Server, installation: Installation
) -> None:
    """Sockets with SO_REUSEPORT share a port with any other such socket of the same user:
    a second server started on a port in use must refuse, not take half its connections."""
    second = subprocess.Popen(
        [sys.executable, "-m", "datatorg.cli", "serve", "--port", str(_port(server))]
        + ["--workers", "2"],
        env=installation.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        # it refuses before starting any worker; one that started would run until stopped
        _, err = second.communicate(timeout=60)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)  # the server and any workers it started
            second.communicate()
    assert second.returncode == STARTUP_FAILURE, err[-2000:]
    assert b"address already in use" in err.lower(), err[-2000:]


def _healthz(url: str) -> int:
    # The bound covers the replacement's start (it imports the app) on a busy machine:
    # without it, a connection on a socket nobody serves would wait forever.
    return httpx.get(url + "/healthz", timeout=120).status_code


def test_a_killed_worker_is_replaced_on_its_socket(server: Server) -> None:
    workers = _workers(server)
    assert len(workers) == 2, workers
    victim, survivor = workers
    os.kill(victim, signal.SIGKILL)

    deadline = time.monotonic() + 60
    while True:
        now = _workers(server)
        replacements = {pid: held for pid, held in now.items() if pid not in workers}
        if replacements or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(replacements) == 1, now
    (replacement_sockets,) = replacements.values()
    assert replacement_sockets == workers[victim]
    assert now[survivor] == workers[survivor]

    with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
        codes = list(pool.map(_healthz, [server.url] * CONNECTIONS))
    assert codes == [200] * CONNECTIONS


def _silent_then_dead(conn: Any) -> None:
    time.sleep(1)  # never answers the health check, then dies while the supervisor waits


def _answering(conn: Any) -> None:
    conn.recv()
    conn.send(True)
    time.sleep(5)


def _child(target: Any) -> tuple[Process, Any]:
    ctx = multiprocessing.get_context("fork")
    parent_conn, child_conn = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child_conn,), daemon=True)
    proc.start()
    # what the supervisor's check reads of uvicorn's Process: the child and its pipe's end;
    # the supervisor keeps the child's end of the pipe open too, as uvicorn's Process does
    stub = SimpleNamespace(process=proc, parent_conn=parent_conn, child_conn=child_conn)
    return cast(Process, stub), proc


def test_a_worker_dying_during_its_health_check_is_seen_at_once() -> None:
    """A worker killed while the supervisor waits (up to 2 minutes) for its answer was replaced
    only when the wait ran out: ``answers`` looks whether it is still alive meanwhile."""
    stub, proc = _child(_silent_then_dead)
    t0 = time.monotonic()
    assert workers.answers(stub, timeout=60) is False
    assert time.monotonic() - t0 < 10  # not the 60 s of the timeout
    proc.join()


def test_a_worker_that_answers_is_alive() -> None:
    stub, proc = _child(_answering)
    try:
        assert workers.answers(stub, timeout=60) is True
    finally:
        proc.kill()
        proc.join()
