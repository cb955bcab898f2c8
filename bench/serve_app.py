"""One app server process for the load benchmarks:

    python bench/serve_app.py INI APP PORT THREADS [HOST]

serves ``[app:APP]`` of INI with waitress on HOST:PORT (default 127.0.0.1) through a
SO_REUSEPORT socket, so several of these processes can share the port and the
kernel spreads the connections among them (as a load balancer in front of
several app processes would).
"""
from __future__ import annotations

import socket
import sys

import waitress
from pyramid.paster import get_app


def main(ini: str, app: str, port: str, threads: str, host: str = "127.0.0.1") -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restarted on the same port
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, int(port)))
    waitress.serve(get_app(ini, app), sockets=[sock], threads=int(threads),
                   connection_limit=1000, _quiet=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
