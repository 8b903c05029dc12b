#!/usr/bin/env python3
"""Sends hostile frames to a live kafu serve (address port) and checks each
gets an ERROR/NACK reply (or a closed connection) without harming the node:
after every case a fresh connection must still get a HELLO reply."""
import ctypes
import hashlib
import socket
import struct
import sys

xxh = ctypes.CDLL("libxxhash.so.0")
xxh.XXH3_64bits.restype = ctypes.c_uint64
xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]

def sum64(b):
    return xxh.XXH3_64bits(b, len(b))

T = dict(HELLO=1, MODULE_PUT=5, MIGRATE=7, ACK=8, COMMIT=9, NACK=10, ERROR=11, OUTPUT=12)

def header(typ, payload_len, payload_sum, job=0, seq=0, version=1, flags=0, magic=b"KAFU"):
    h = magic + struct.pack("<BBHQQII", version, typ, flags, job, seq, payload_len, 0)
    h += struct.pack("<Q", payload_sum)
    return h + struct.pack("<Q", sum64(h))

def frame(typ, payload, **kw):
    return header(typ, len(payload), sum64(payload), **kw) + payload

def s(x):
    x = x.encode()
    return struct.pack("<I", len(x)) + x

def hello_payload():
    return struct.pack("<HB", 1, 2) + s("hostile") + s("") + s("hostile.py")

def read_frame(sock):
    data = b""
    while len(data) < 48:
        chunk = sock.recv(48 - len(data))
        if not chunk:
            return None, b""
        data += chunk
    typ = data[5]
    n = struct.unpack("<I", data[24:28])[0]
    payload = b""
    while len(payload) < n:
        chunk = sock.recv(n - len(payload))
        if not chunk:
            break
        payload += chunk
    return typ, payload

def connect(addr, port):
    sock = socket.create_connection((addr, port), timeout=10)
    sock.settimeout(10)
    return sock

def still_serving(addr, port):
    sock = connect(addr, port)
    sock.sendall(frame(T["HELLO"], hello_payload()))
    typ, _ = read_frame(sock)
    sock.close()
    if typ != T["HELLO"]:
        sys.exit("FAIL: node stopped answering HELLO (got %r)" % typ)

def expect_error(name, addr, port, data, want=(T["ERROR"],), hello_first=True, close=False):
    sock = connect(addr, port)
    if hello_first:
        sock.sendall(frame(T["HELLO"], hello_payload()))
        typ, _ = read_frame(sock)
        assert typ == T["HELLO"], typ
    sock.sendall(data)
    if close:
        sock.shutdown(socket.SHUT_WR)
    try:
        typ, payload = read_frame(sock)
    except socket.timeout:
        sys.exit("FAIL: %s: no reply within 10 s" % name)
    sock.close()
    if want is None:
        if typ is not None and typ not in (T["ERROR"],):
            sys.exit("FAIL: %s: unexpected reply type %r" % (name, typ))
    elif typ not in want:
        sys.exit("FAIL: %s: expected %r, got %r" % (name, want, typ))
    msg = ""
    if payload and typ in (T["ERROR"], T["NACK"]):
        code = struct.unpack("<H", payload[:2])[0]
        mlen = struct.unpack("<I", payload[2:6])[0]
        msg = "code %d: %s" % (code, payload[6:6 + mlen].decode(errors="replace"))
    print("ok %-22s %s" % (name, msg))
    still_serving(addr, port)

def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    hp = hello_payload()
    good = frame(T["HELLO"], hp)
    expect_error("bad magic", addr, port, b"XXXX" + good[4:], hello_first=False)
    bad_hsum = bytearray(good); bad_hsum[44] ^= 0xFF
    expect_error("bad header checksum", addr, port, bytes(bad_hsum))
    bad_psum = bytearray(good); bad_psum[50] ^= 0x01
    expect_error("bad payload checksum", addr, port, bytes(bad_psum))
    expect_error("unknown type", addr, port, frame(99, b"abc"))
    expect_error("bad version", addr, port, frame(T["HELLO"], hp, version=9))
    expect_error("unknown flags", addr, port, frame(T["HELLO"], hp, flags=4))
    expect_error("oversized length", addr, port, header(T["MODULE_PUT"], 0x7FFFFFFF, 0))
    expect_error("truncated header", addr, port, good[:20], want=None, close=True)
    expect_error("truncated payload", addr, port, good[:60], want=None, close=True)
    expect_error("bad payload", addr, port, frame(T["HELLO"], b"\x01"))
    expect_error("trailing payload bytes", addr, port, frame(T["HELLO"], hp + b"zz"))
    wasm = b"\0asm\x01\0\0\0"
    wrong = hashlib.sha256(b"something else").digest()
    expect_error("module hash mismatch", addr, port,
                 frame(T["MODULE_PUT"], wrong + struct.pack("<I", len(wasm)) + wasm))
    mig = (hashlib.sha256(wasm).digest() + s("edge0") + s(sys.argv[3]) + s(sys.argv[3]) + s("f")
           + bytes([1]) + struct.pack("<IQ", 0, 0) + struct.pack("<I", 4) + b"junk"
           + struct.pack("<I", 0))
    expect_error("MIGRATE unknown module", addr, port, frame(T["MIGRATE"], mig, job=42),
                 want=(T["NACK"], 4))  # MODULE_NEED is a fine answer too
    expect_error("unexpected COMMIT", addr, port, frame(T["COMMIT"], b""))
    print("node still serving after every hostile frame")

main()
