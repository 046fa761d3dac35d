"""Several uvicorn workers, each with a listening socket of its own.

``uvicorn.run(workers=N)`` binds one listening socket in the supervisor and every worker
accepts from it. Under a burst of new keep-alive connections the worker that wakes first
accepts most of them and keeps them for their whole life, so one worker is busy while the
other idles (a load test opening 50 connections at once: 37 against 13, and the busier
worker's p99 two to three times the other's).

On Linux each worker here gets its own socket, bound to the same address with
``SO_REUSEPORT``; the kernel then spreads new connections over the sockets by a hash of
the connection's addresses and ports, so each worker gets its share whoever wakes first.
The supervisor keeps all the sockets open, and a worker that dies is replaced by one that
serves the same socket: connections the kernel hashed to that socket wait in its queue
for the replacement instead of hanging forever.

Elsewhere (no ``SO_REUSEPORT``, or a system where it does not spread connections), and for
a single worker or a Unix socket, uvicorn's own way is used.
"""

from __future__ import annotations

import logging
import os
import pickle
import platform
import socket
import sys
import time

from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from datatorg.web.balance import ABSENT, Board

logger = logging.getLogger("uvicorn.error")

# How often a health check that waits for a worker's answer looks whether it died meanwhile.
DEATH_CHECK_S = 0.25


def answers(process: Process, timeout: float) -> bool:
    """Whether ``process`` is alive and answers a health check within ``timeout`` seconds.

    uvicorn's ``Process.is_alive`` waits for the answer the whole timeout, also for a worker
    that dies while it waits: the supervisor holds the pipe's other end too, so no end of file
    comes. With the 2 minutes the command line allows a worker importing the app on a busy
    machine, a worker killed during a check was replaced 2 minutes later, and its socket's
    connections waited that long (seen once in the suite). This looks every
    ``DEATH_CHECK_S`` whether the worker is still there.
    """
    if not process.process.is_alive():
        return False
    deadline = time.monotonic() + timeout
    try:
        process.parent_conn.send(b"ping")
        while True:
            left = deadline - time.monotonic()
            if process.parent_conn.poll(max(0.0, min(DEATH_CHECK_S, left))):
                process.parent_conn.recv()
                return True
            if not process.process.is_alive() or left <= 0:
                return False
    except (OSError, EOFError, pickle.UnpicklingError):
        return False


def reuseport_spreads(config: Config) -> bool:
    """True when ``config`` asks for several workers on a TCP address and the system
    spreads connections over ``SO_REUSEPORT`` sockets (Linux; BSD and macOS accept the
    option but give each connection to one socket only)."""
    return (
        config.workers > 1
        and config.uds is None
        and config.fd is None
        and hasattr(socket, "SO_REUSEPORT")
        and platform.system() == "Linux"
    )


def bind_sockets(config: Config, count: int) -> list[socket.socket]:
    """``count`` listening sockets on the config's host and port, each with
    ``SO_REUSEPORT`` (IPv6 when the host has a ':', as ``Config.bind_socket`` decides).
    Exits with uvicorn's startup-failure code when the address cannot be bound."""
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    port = config.port
    sockets: list[socket.socket] = []
    try:
        # Another server listening there with SO_REUSEPORT too (an old one left running,
        # as the same user) would otherwise silently share the connections with this one:
        # a socket without the option cannot bind where anyone listens, so try one first.
        with socket.socket(family=family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((config.host, port))
            port = probe.getsockname()[1]
        for _ in range(count):
            sock = socket.socket(family=family)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((config.host, port))
            sock.listen(config.backlog)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        logger.error(exc)
        sys.exit(STARTUP_FAILURE)
    address = f"[{config.host}]" if family == socket.AF_INET6 else config.host
    logger.info(
        "Uvicorn running on http://%s:%d, one socket per worker (Press CTRL+C to quit)",
        address,
        port,
    )
    return sockets


class SocketPerWorker(Multiprocess):
    """uvicorn's supervisor, except that worker ``i`` serves ``sockets[i]`` only, and so
    does whichever worker replaces it (after a death, a kill or a restart on SIGHUP).

    The number of workers is fixed: SIGTTIN and SIGTTOU (add or remove a worker) are
    refused, since a new worker would need a socket bound at start and a removed worker
    would leave its socket's connections without anyone to accept them.

    It also keeps the workers' board (``datatorg.web.balance``): worker ``i`` writes its
    requests in hand in slot ``i``, and a slot is marked absent while its worker is dead."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets=sockets)
        self.board = Board.create(len(sockets))

    def _process(self, idx: int) -> Process:
        """Worker ``idx``'s process, to be started at once: it finds its socket's slot on
        the board in the environment it is started with."""
        os.environ.update(self.board.env(idx))
        return Process(self.config, [self.sockets[idx]])

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.board.remove()

    def init_processes(self) -> None:
        for idx in range(self.processes_num):
            process = self._process(idx)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        """Replaces each worker, bringing its replacement into service (on the same socket)
        before retiring the old worker."""
        for idx, old_process in enumerate(self.processes):
            if self.should_exit.is_set():
                return

            new_process = self._process(idx)
            new_process.start()

            if not new_process.wait_until_ready(
                self.config.timeout_worker_healthcheck, self.should_exit
            ):
                new_process.kill()
                new_process.join()
                if not self.should_exit.is_set():
                    logger.error(
                        f"New child process [{new_process.pid}] was not ready in time; "
                        f"keeping worker [{old_process.pid}] and aborting the restart."
                    )
                return

            old_process.terminate()
            old_process.join()
            self.processes[idx] = new_process

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return  # the supervisor is exiting: no need to keep the workers alive

        for idx, process in enumerate(self.processes):
            if answers(process, self.config.timeout_worker_healthcheck):
                continue

            process.kill()  # the worker is hung: kill it
            process.join()
            self.board.write(idx, ABSENT)

            if process.exitcode == STARTUP_FAILURE:
                # The worker failed before it started serving, so the app or the socket is
                # broken and would fail the same way on every restart.
                logger.error(
                    f"Child process [{process.pid}] failed to start, stopping the parent process."
                )
                self.should_exit.set()
                return

            if self.should_exit.is_set():
                return

            logger.info(f"Child process [{process.pid}] died")
            process = self._process(idx)
            process.start()
            self.processes[idx] = process

    def handle_ttin(self) -> None:
        logger.info("Received SIGTTIN; the number of workers is fixed with one socket each.")

    def handle_ttou(self) -> None:
        logger.info("Received SIGTTOU; the number of workers is fixed with one socket each.")


def run(config: Config) -> None:
    """Serve ``config`` (an app import string when it has several workers): one socket
    per worker where the system spreads connections over them, uvicorn's way elsewhere."""
    try:
        if reuseport_spreads(config):
            sockets = bind_sockets(config, config.workers)
            try:
                SocketPerWorker(config, sockets=sockets).run()
            finally:
                for sock in sockets:
                    sock.close()
        elif config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server = Server(config=config)
            server.run()
            if not server.started:
                sys.exit(STARTUP_FAILURE)
    except KeyboardInterrupt:
        pass
