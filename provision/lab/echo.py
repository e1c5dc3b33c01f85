"""A tiny server that tells each client the source address it saw.

It is the lab's web server on the internet side (TCP answers as HTTP/1.0, so `wget` works)
and the listener `verify` puts in target namespaces: TCP and UDP alike reply with the peer's
address, which is how NAT is checked (the address seen, not mere reachability).
Run as a process: `python -m provision.lab.echo --tcp 80 --udp 7`.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import struct
import threading
import time

IDLE_SECONDS = 2.0  # a connection that sends nothing (a port scan) is dropped after this
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's value; Python 3.11 lacks the name
PKTINFO = struct.Struct("i4s4s")  # struct in_pktinfo: ifindex, local address, header dst


def http_reply(peer: str) -> bytes:
    body = f"{peer}\n".encode()
    return (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


def bind(sock: socket.socket, port: int) -> socket.socket:
    """Bind an already made socket (perhaps in another namespace) on all addresses."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    if sock.type == socket.SOCK_STREAM:
        sock.listen(128)
    else:  # to answer from the address asked, on a host with several (the internet's lo)
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    sock.setblocking(False)
    return sock


def serve(listeners: list[socket.socket], stop: threading.Event) -> None:
    """Answer on every listener until `stop` is set; closes them on the way out."""
    sel = selectors.DefaultSelector()
    for sock in listeners:
        sel.register(sock, selectors.EVENT_READ, "listener")
    opened: dict[socket.socket, float] = {}
    try:
        while not stop.is_set():
            for key, _ in sel.select(timeout=0.2):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                if key.data == "listener" and ready.type == socket.SOCK_DGRAM:
                    _answer_datagram(ready)
                elif key.data == "listener":
                    _accept(ready, sel, opened)
                else:
                    _answer_connection(ready, sel, opened)
            now = time.monotonic()
            for conn in [c for c, since in opened.items() if now - since > IDLE_SECONDS]:
                _close(conn, sel, opened)
    finally:
        for conn in list(opened):
            _close(conn, sel, opened)
        for sock in listeners:
            sock.close()
        sel.close()


def _answer_datagram(sock: socket.socket) -> None:
    """Reply from the address the datagram was sent to: otherwise the kernel picks the
    outgoing interface's address and the client's NAT or firewall drops the reply."""
    try:
        _, ancillary, _, (host, port) = sock.recvmsg(2048, socket.CMSG_SPACE(PKTINFO.size))
        info = [data for level, kind, data in ancillary
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO]
        control = ([(socket.IPPROTO_IP, IP_PKTINFO,
                     PKTINFO.pack(0, PKTINFO.unpack(info[0][:PKTINFO.size])[2], bytes(4)))]
                   if info else [])
        sock.sendmsg([f"{host}\n".encode()], control, 0, (host, port))
    except OSError:
        pass


def _accept(listener: socket.socket, sel: selectors.BaseSelector,
            opened: dict[socket.socket, float]) -> None:
    try:
        conn, _ = listener.accept()
    except OSError:
        return
    conn.setblocking(False)
    sel.register(conn, selectors.EVENT_READ, "connection")
    opened[conn] = time.monotonic()


def _answer_connection(conn: socket.socket, sel: selectors.BaseSelector,
                       opened: dict[socket.socket, float]) -> None:
    try:
        if conn.recv(4096):
            conn.setblocking(True)
            conn.settimeout(1.0)
            conn.sendall(http_reply(conn.getpeername()[0]))
    except OSError:
        pass
    _close(conn, sel, opened)


def _close(conn: socket.socket, sel: selectors.BaseSelector,
           opened: dict[socket.socket, float]) -> None:
    sel.unregister(conn)
    opened.pop(conn, None)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tcp", type=int, action="append", default=[])
    parser.add_argument("--udp", type=int, action="append", default=[])
    args = parser.parse_args()
    listeners = [bind(socket.socket(socket.AF_INET, socket.SOCK_STREAM), p) for p in args.tcp]
    listeners += [bind(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), p) for p in args.udp]
    serve(listeners, threading.Event())


if __name__ == "__main__":
    main()
