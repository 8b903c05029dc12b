#!/usr/bin/env python3
"""A TCP proxy for one node's connections to another: forwards every
connection on 127.0.0.1:LISTEN to 127.0.0.1:TARGET both ways, reading the
frames that go to TARGET, and drops the first EVENT frame whose text starts
with PREFIX, then creates the file MARK. So the frame its sender wrote never
arrives, as if the sender had died just before sending it.

usage: dropproxy.py LISTEN TARGET PREFIX MARK"""
import socket
import struct
import sys
import threading

EVENT = 18
HEADER = 48

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
prefix, mark = sys.argv[3].encode(), sys.argv[4]
dropped = threading.Event()
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
    # EVENT payload: u64 out_seq, u32 text length, text
    if header[5] != EVENT or len(payload) < 12:
        return False
    return payload[12:].startswith(prefix)


def frames_to_target(src, dst):
    """Frame by frame, so one frame can be left out."""
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
                drop = not dropped.is_set() and is_victim(header, payload)
                if drop:
                    dropped.set()
            if drop:
                open(mark, "w").write("%d\n" % struct.unpack("<Q", payload[:8])[0])
                continue
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
