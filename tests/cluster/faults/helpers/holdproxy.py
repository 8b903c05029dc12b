#!/usr/bin/env python3
"""A TCP proxy for one node's connections to another: forwards every
connection on 127.0.0.1:LISTEN to 127.0.0.1:TARGET both ways, reading the
frames that go to TARGET. The first COMMIT frame whose event text starts
with PREFIX is held back: the proxy writes that text to the file MARK, waits
until the file RELEASE exists (20 s at most), then forwards the COMMIT and
goes on. So the sender has committed (its COMMIT is written) while the
receiver has not seen it yet, and a test can kill the sender in between.

usage: holdproxy.py LISTEN TARGET PREFIX MARK RELEASE"""
import os
import socket
import struct
import sys
import threading
import time

COMMIT = 9
HEADER = 48

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
prefix, mark, release = sys.argv[3].encode(), sys.argv[4], sys.argv[5]
held = threading.Event()
lock = threading.Lock()


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def hang_up(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def is_victim(header, payload):
    # COMMIT payload: u32 event length, event text
    if header[5] != COMMIT or len(payload) < 4:
        return False
    return payload[4:].startswith(prefix)


def hold(payload):
    """Announces the held COMMIT in MARK and waits for RELEASE."""
    with open(mark + ".tmp", "wb") as f:
        f.write(payload[4:] + b"\n")
    os.rename(mark + ".tmp", mark)
    deadline = time.monotonic() + 20
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.005)


def frames_to_target(src, dst):
    """Frame by frame, so that one frame can be held back."""
    try:
        while True:
            header = read_exact(src, HEADER)
            if header is None:
                break
            n = struct.unpack("<I", header[24:28])[0]
            payload = read_exact(src, n) if n else b""
            if payload is None:
                break
            with lock:
                victim = not held.is_set() and is_victim(header, payload)
                if victim:
                    held.set()
            if victim:
                hold(payload)
            dst.sendall(header + payload)
    except OSError:
        pass
    hang_up(src, dst)


def bytes_back(src, dst):
    try:
        while True:
            chunk = src.recv(65536)
            if not chunk:
                break
            dst.sendall(chunk)
    except OSError:
        pass
    hang_up(src, dst)


def serve(client):
    try:
        target = socket.create_connection(("127.0.0.1", target_port), timeout=5)
    except OSError:
        client.close()
        return
    target.settimeout(None)
    for fn, a, b in ((frames_to_target, client, target), (bytes_back, target, client)):
        threading.Thread(target=fn, args=(a, b), daemon=True).start()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(64)
while True:
    conn, _ = srv.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    serve(conn)
