"""Builds collectd binary-protocol datagrams, sends them to a real influxd and reads back what
it stored. Used by gen_cases.py to produce cases.jsonl; see README.md."""
import hashlib
import hmac
import json
import os
import socket
import struct
import time
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HOST, PLUGIN, PLUGIN_INSTANCE, TYPE, TYPE_INSTANCE = 0x0000, 0x0002, 0x0003, 0x0004, 0x0005
TIME, TIME_HR, INTERVAL, INTERVAL_HR = 0x0001, 0x0008, 0x0007, 0x0009
VALUES, MESSAGE, SEVERITY = 0x0006, 0x0100, 0x0101
SIGN_SHA256, ENCRYPT_AES256 = 0x0200, 0x0210
COUNTER, GAUGE, DERIVE, ABSOLUTE = 0, 1, 2, 3


def part(kind, payload):
    return struct.pack(">HH", kind, len(payload) + 4) + payload


def string(kind, text):
    raw = text.encode() if isinstance(text, str) else text
    return part(kind, raw + b"\0")


def number(kind, value):
    return part(kind, struct.pack(">Q", value & 0xFFFFFFFFFFFFFFFF))


def values(*typed):
    """typed: (data_type, value) pairs."""
    body = struct.pack(">H", len(typed)) + bytes(t for t, _ in typed)
    for data_type, value in typed:
        if data_type == GAUGE:
            body += struct.pack("<d", value)
        elif data_type == COUNTER or data_type == ABSOLUTE:
            body += struct.pack(">Q", value & 0xFFFFFFFFFFFFFFFF)
        else:
            body += struct.pack(">q", value)
    return part(VALUES, body)


def sign(rest, user, password):
    user_bytes = user.encode()
    mac = hmac.new(password.encode(), user_bytes + rest, hashlib.sha256).digest()
    return part(SIGN_SHA256, mac + user_bytes) + rest


def encrypt(plain, user, password, iv=bytes(range(16))):
    key = hashlib.sha256(password.encode()).digest()
    encryptor = Cipher(algorithms.AES(key), modes.OFB(iv)).encryptor()
    secret = encryptor.update(hashlib.sha1(plain).digest() + plain) + encryptor.finalize()
    user_bytes = user.encode()
    return part(ENCRYPT_AES256, struct.pack(">H", len(user_bytes)) + user_bytes + iv + secret)


def identity(host="h1", plugin="cpu", plugin_instance="0", type_="cpu", type_instance="user",
             seconds=1500000000):
    out = b""
    if host is not None:
        out += string(HOST, host)
    if seconds is not None:
        out += number(TIME, seconds)
    if plugin is not None:
        out += string(PLUGIN, plugin)
    if plugin_instance is not None:
        out += string(PLUGIN_INSTANCE, plugin_instance)
    if type_ is not None:
        out += string(TYPE, type_)
    if type_instance is not None:
        out += string(TYPE_INSTANCE, type_instance)
    return out


HTTP = "http://127.0.0.1:18886"


def query(db, q):
    url = HTTP + "/query?" + urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"})
    req = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(req) as response:
        return json.loads(response.read())


def stored_points(db):
    result = query(db, "SELECT * FROM /.*/ GROUP BY *")
    points = []
    for statement in result.get("results", []):
        for series in statement.get("series", []):
            tags = {k: v for k, v in (series.get("tags") or {}).items() if v != ""}
            columns = series["columns"]
            for row in series["values"]:
                fields = {}
                for column, value in zip(columns[1:], row[1:]):
                    if value is not None:
                        fields[column] = float(value)
                points.append({"measurement": series.get("name", ""), "tags": tags,
                               "time": row[0], "fields": fields})
    points.sort(key=lambda p: (p["measurement"], sorted(p["tags"].items()), p["time"]))
    return points


def reset(db):
    query(db, f'DROP DATABASE "{db}"')
    query(db, f'CREATE DATABASE "{db}"')


def send_and_read(port, db, datagram, settle_s=0.25):
    reset(db)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(datagram, ("127.0.0.1", port))
    sock.close()
    time.sleep(settle_s)
    return stored_points(db)
