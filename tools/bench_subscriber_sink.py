#!/usr/bin/env python3
"""UDP sink for the subscription benchmark (PERFORMANCE.md, "Subscriptions"): counts the
datagrams, bytes and lines sent to 127.0.0.1:18699 and prints them 3 s after the last one."""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("127.0.0.1", 18699))
n = 0; b = 0; lines = 0
s.settimeout(1.0)
start = None
while True:
    try:
        d = s.recv(65536)
    except socket.timeout:
        if start is not None and time.time() - last > 3: break
        continue
    if start is None: start = time.time()
    last = time.time()
    n += 1; b += len(d); lines += d.count(b"\n")
print(f"datagrams={n} bytes={b} lines={lines}", flush=True)
