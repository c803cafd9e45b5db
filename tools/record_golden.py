#!/usr/bin/env python3
"""Record golden HTTP answers from the real InfluxDB 1.6.7 (`/usr/bin/influxd`).

Usage: python3 tools/record_golden.py [--cases tests/golden/cases.py]
                                      [--out tests/golden/http.jsonl] [--only SUBSTRING]
                                      [--config tools/influxdb-golden.conf]

The large-request corpus (1 MB heads, 11 MB lines) uses InfluxDB's default max-body-size:
  python3 tools/record_golden.py --config tools/influxdb-golden-large.conf \
      --cases tests/golden/large/cases.py --out tests/golden/large/large.jsonl --port 18986

The auth corpus uses another config (auth on, a shared secret):
  python3 tools/record_golden.py --config tools/influxdb-golden-auth.conf \
      --cases tests/golden/auth/cases.py --out tests/golden/auth/auth.jsonl --port 18496

What it does:
  1. Makes a temporary directory, writes tools/influxdb-golden.conf into it with every
     `@TMPDIR@` replaced, and starts `influxd run -config ...` (HTTP on 127.0.0.1:18486).
  2. Waits for GET /ping to answer 204.
  3. For every case of the case list (tests/golden/cases.py, `CASES`): runs its `setup`
     requests, sends the case request over a fresh raw TCP socket (so every byte that is
     sent is known and recorded), records the full answer (status line, every header as
     sent, body), and for write cases reads what the case's database stored; then runs
     the case's `teardown` requests.
  4. Stops influxd and writes tests/golden/http.jsonl (one JSON object per case).

How `stored` is obtained: `influx_inspect` is not installed on this machine (the Debian
influxdb package ships only influxd), so the recorder reads the storage engine's own
write-ahead log directly: every `_NNNNN.wal` segment under `<wal-dir>/<db>/` (snappy
blocks holding typed values per "series key#!~#field" key) is decoded, and each value
is printed the same way `influx_inspect export` prints it: `<series key> <escaped
field>=<value> <unix ns>` where floats use Go's shortest 'g' formatting, integers get
an `i` suffix, unsigned an `u` suffix, booleans `true`/`false`, and strings are quoted
with `"` and `\\` backslash-escaped. WAL entries are synced to disk before /write answers,
so this sees exactly what the write stored. The config keeps the cache from ever being
snapshotted into TSM files during a run; if a .tsm file does show up the recorder stops
with an error rather than record an incomplete `stored`.
"""

import argparse
import base64
import gzip
import hashlib
import json
import math
import os
import runpy
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_TEMPLATE_PATH = os.path.join(REPO_ROOT, "tools", "influxdb-golden.conf")
DEFAULT_CASES_PATH = os.path.join(REPO_ROOT, "tests", "golden", "cases.py")
DEFAULT_OUT_PATH = os.path.join(REPO_ROOT, "tests", "golden", "http.jsonl")
INFLUXD_PATH = "/usr/bin/influxd"

HTTP_HOST = "127.0.0.1"
HTTP_PORT = 18486
HOST_HEADER_VALUE = "127.0.0.1:18486"
USER_AGENT = "sluice-golden/1"
STARTUP_TIMEOUT_SECONDS = 30.0
SOCKET_TIMEOUT_SECONDS = 15.0
# How far a server-assigned timestamp may be from the wall clock at request time
# and still be replaced by the NOW token.
NOW_TOLERANCE_NS = 120 * 1_000_000_000
SHUTDOWN_TIMEOUT_SECONDS = 20.0
# Response bodies and header values longer than this are recorded as a digest (length,
# SHA-256 of the bytes, first and last DIGEST_END_BYTES) instead of whole.
LARGE_TEXT_BYTES = 256 * 1024
DIGEST_END_BYTES = 200

# ---------------------------------------------------------------------------
# snappy block decoding (the WAL compresses each entry with snappy)
# ---------------------------------------------------------------------------


def snappy_decompress(data):
    """Decode one snappy block (not the framed stream format)."""
    pos = 0
    shift = 0
    expected_len = 0
    while True:
        byte = data[pos]
        pos += 1
        expected_len |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            length += 1
            out += data[pos:pos + length]
            pos += length
            continue
        if kind == 1:
            length = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            length = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 2], "little")
            pos += 2
        else:
            length = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise ValueError("snappy: bad copy offset")
        start = len(out) - offset
        for i in range(length):
            out.append(out[start + i])
    if len(out) != expected_len:
        raise ValueError("snappy: length mismatch")
    return bytes(out)


# ---------------------------------------------------------------------------
# WAL decoding and export-style formatting
# ---------------------------------------------------------------------------

WAL_WRITE_ENTRY = 1
WAL_DELETE_ENTRY = 2
WAL_DELETE_RANGE_ENTRY = 3
VALUE_FLOAT = 1
VALUE_INTEGER = 2
VALUE_BOOLEAN = 3
VALUE_STRING = 4
VALUE_UNSIGNED = 5
FIELD_SEPARATOR = b"#!~#"
# Go's shortest 'g' switches to exponent form when the decimal exponent is >= this.
GO_SHORTEST_G_EXPONENT_LIMIT = 6


def go_format_float(value):
    """Go's strconv.FormatFloat(v, 'g', -1, 64)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    text = repr(value)  # shortest round-trip digits
    sign = ""
    if text.startswith("-"):
        sign, text = "-", text[1:]
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    if frac_part == "0":
        frac_part = ""
    digits = (int_part + frac_part).lstrip("0")
    # decimal point position relative to the start of `digits`
    lead_zeros = len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    point = len(int_part) - lead_zeros + exponent
    digits = digits.rstrip("0") or "0"
    exp10 = point - 1
    if exp10 < -4 or exp10 >= GO_SHORTEST_G_EXPONENT_LIMIT:
        body = digits[0]
        if len(digits) > 1:
            body += "." + digits[1:]
        esign = "-" if exp10 < 0 else "+"
        return "%s%se%s%02d" % (sign, body, esign, abs(exp10))
    if point <= 0:
        return sign + "0." + "0" * (-point) + digits
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return sign + digits[:point] + "." + digits[point:]


def escape_field_key(raw):
    out = raw
    for ch in (b",", b'"', b" ", b"="):
        out = out.replace(ch, b"\\" + ch)
    return out


def escape_string_value(raw):
    return raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"')


def decode_write_entry(data):
    """Yield (composite key bytes, value type, [(unix ns, value)])."""
    pos = 0
    while pos < len(data):
        value_type = data[pos]
        key_len = struct.unpack(">H", data[pos + 1:pos + 3])[0]
        pos += 3
        key = data[pos:pos + key_len]
        pos += key_len
        count = struct.unpack(">I", data[pos:pos + 4])[0]
        pos += 4
        values = []
        for _ in range(count):
            unix_ns = struct.unpack(">q", data[pos:pos + 8])[0]
            pos += 8
            if value_type == VALUE_FLOAT:
                value = struct.unpack(">d", data[pos:pos + 8])[0]
                pos += 8
            elif value_type == VALUE_INTEGER:
                value = struct.unpack(">q", data[pos:pos + 8])[0]
                pos += 8
            elif value_type == VALUE_UNSIGNED:
                value = struct.unpack(">Q", data[pos:pos + 8])[0]
                pos += 8
            elif value_type == VALUE_BOOLEAN:
                value = data[pos] == 1
                pos += 1
            elif value_type == VALUE_STRING:
                str_len = struct.unpack(">I", data[pos:pos + 4])[0]
                pos += 4
                value = data[pos:pos + str_len]
                pos += str_len
            else:
                raise ValueError("unknown WAL value type %d" % value_type)
            values.append((unix_ns, value))
        yield key, value_type, values


def format_export_line(key, value_type, unix_ns, value):
    series_key, sep, field = key.partition(FIELD_SEPARATOR)
    if not sep:
        raise ValueError("WAL key without field separator: %r" % key)
    if value_type == VALUE_FLOAT:
        text = go_format_float(value).encode()
    elif value_type == VALUE_INTEGER:
        text = b"%di" % value
    elif value_type == VALUE_UNSIGNED:
        text = b"%du" % value
    elif value_type == VALUE_BOOLEAN:
        text = b"true" if value else b"false"
    else:
        text = b'"' + escape_string_value(value) + b'"'
    line = series_key + b" " + escape_field_key(field) + b"=" + text + b" " + b"%d" % unix_ns
    return line.decode("utf-8", errors="surrogateescape")


def export_database(tmp_dir, database):
    """Every line `influx_inspect export` would print for the database's data (DML only),
    in WAL order (segments in name order, entries in file order)."""
    data_db_dir = os.path.join(tmp_dir, "data", database)
    for root, _dirs, files in os.walk(data_db_dir):
        for name in files:
            if name.endswith(".tsm"):
                raise RuntimeError("TSM file %s appeared; stored would be incomplete"
                                   % os.path.join(root, name))
    wal_db_dir = os.path.join(tmp_dir, "wal", database)
    segments = []
    for root, _dirs, files in os.walk(wal_db_dir):
        for name in files:
            if name.startswith("_") and name.endswith(".wal"):
                segments.append(os.path.join(root, name))
    lines = []
    for segment_path in sorted(segments):
        with open(segment_path, "rb") as segment:
            blob = segment.read()
        pos = 0
        while pos + 5 <= len(blob):
            entry_type = blob[pos]
            length = struct.unpack(">I", blob[pos + 1:pos + 5])[0]
            pos += 5
            block = blob[pos:pos + length]
            pos += length
            if len(block) != length:
                raise RuntimeError("truncated WAL entry in %s" % segment_path)
            data = snappy_decompress(block)
            if entry_type != WAL_WRITE_ENTRY:
                raise RuntimeError("unexpected WAL entry type %d in %s"
                                   % (entry_type, segment_path))
            for key, value_type, values in decode_write_entry(data):
                for unix_ns, value in values:
                    lines.append(format_export_line(key, value_type, unix_ns, value))
    return lines


# ---------------------------------------------------------------------------
# raw HTTP client
# ---------------------------------------------------------------------------


def build_request(req):
    """Return (bytes to send, request record for the JSON) for a case request."""
    if "raw" in req:
        raw = req["raw"].encode("utf-8")
        return raw, {"raw": req["raw"]}
    method = req.get("method", "GET")
    version = req.get("version", "HTTP/1.1")
    target_parts = [list(p) for p in req.get("target_parts", [])]
    target = req["target"] if "target" in req else parts_text(target_parts)
    record = {"method": method, "target": target}
    if version != "HTTP/1.1":
        record["version"] = version
    body_bytes = b""
    if "body" in req:
        body_bytes = req["body"].encode("utf-8")
        record["body"] = req["body"]
    elif "body_base64" in req:
        body_bytes = base64.b64decode(req["body_base64"])
        record["body_base64"] = req["body_base64"]
    elif "body_parts" in req:
        body_bytes = parts_text(req["body_parts"]).encode("utf-8")
        record["body_parts"] = req["body_parts"]
    headers = [["Host", HOST_HEADER_VALUE], ["User-Agent", USER_AGENT]]
    headers += [list(h) for h in req.get("headers", [])]
    repeat_headers = [list(h) for h in req.get("repeat_headers", [])]
    if req.get("gzip"):
        body_bytes = gzip.compress(body_bytes, mtime=0)
        record["gzip"] = True
        record["sent_base64"] = base64.b64encode(body_bytes).decode()
        headers.append(["Content-Encoding", "gzip"])
    chunks = req.get("chunks")
    if chunks is not None:
        record["chunks"] = chunks
        headers.append(["Transfer-Encoding", "chunked"])
        payload = b""
        for chunk in chunks:
            if isinstance(chunk, str):
                data = chunk.encode("utf-8")
            else:
                data = b"".join(text.encode("utf-8") * count for text, count in chunk)
            payload += b"%x\r\n" % len(data) + data + b"\r\n"
        payload += b"0\r\n\r\n"
        body_bytes = payload
    elif not req.get("no_content_length") and (method in ("POST", "PUT") or body_bytes):
        headers.append(["Content-Length", str(len(body_bytes))])
    def head_text():
        text = "%s %s %s\r\n" % (method, target, version)
        text += "".join("%s: %s\r\n" % (name, value) for name, value in headers)
        text += "".join("%s: %s\r\n" % (name, value) * count
                        for name, value, count in repeat_headers)
        return text + "\r\n"
    if "pad_head_to" in req:
        # Lengthen the target with "a"s so the head is exactly this many bytes.
        pad = req["pad_head_to"] - len(head_text().encode("utf-8"))
        target_parts.append(["a", pad])
        target = parts_text(target_parts)
    if target_parts:
        record["target_parts"] = target_parts
        del record["target"]
    record["headers"] = headers
    if repeat_headers:
        record["repeat_headers"] = repeat_headers
    return head_text().encode("utf-8") + body_bytes, record


def parts_text(parts):
    """[[text, count], ...] or [[text, count, width], ...]: each part repeated `count` times;
    with `width`, "{n}" in the text becomes the repetition's index zero-padded to width."""
    out = []
    for part in parts:
        text, count = part[0], part[1]
        if len(part) > 2:
            out.extend(text.replace("{n}", "%0*d" % (part[2], i)) for i in range(count))
        else:
            out.append(text * count)
    return "".join(out)


class ResponseReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False

    def fill(self):
        if self.closed:
            return False
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def read_line(self):
        while b"\r\n" not in self.buf:
            if not self.fill():
                line, self.buf = self.buf, b""
                return line
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, count):
        while len(self.buf) < count:
            if not self.fill():
                break
        data, self.buf = self.buf[:count], self.buf[count:]
        return data

    def read_all(self):
        while self.fill():
            pass
        data, self.buf = self.buf, b""
        return data


def body_record(body_bytes, record, key="body"):
    try:
        record[key] = body_bytes.decode("utf-8")
    except UnicodeDecodeError:
        record[key + "_base64"] = base64.b64encode(body_bytes).decode()


def read_response(reader, method):
    """Parse one response (after any 1xx interim ones)."""
    interim = []
    while True:
        status_line = reader.read_line().decode("latin-1")
        if not status_line and reader.closed:
            return {"status": 0, "connection_closed_without_response": True,
                    "interim": interim}
        parts = status_line.split(" ", 2)
        version = parts[0]
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        reason = parts[2] if len(parts) > 2 else ""
        header_list = []
        while True:
            line = reader.read_line().decode("latin-1")
            if not line:
                break
            name, _, value = line.partition(":")
            header_list.append([name, value.strip()])
        if 100 <= status < 200:
            interim.append({"status_line": status_line, "headers": header_list})
            continue
        break
    headers = {}
    for name, value in header_list:
        if name in headers:
            headers[name] += ", " + value
        else:
            headers[name] = value
    lower = {name.lower(): value for name, value in header_list}
    chunk_sizes = None
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "chunked" in lower.get("transfer-encoding", "").lower():
        body = b""
        chunk_sizes = []
        while True:
            size_line = reader.read_line().split(b";")[0].strip()
            size = int(size_line or b"0", 16)
            if size == 0:
                while reader.read_line():
                    pass
                break
            chunk_sizes.append(size)
            body += reader.read_exact(size)
            reader.read_line()
    elif "content-length" in lower:
        body = reader.read_exact(int(lower["content-length"]))
    else:
        body = reader.read_all()
    headers = {name: digest_if_large(value) for name, value in headers.items()}
    record = {"status": status, "reason": reason, "version": version,
              "headers": headers, "header_order": [n for n, _ in header_list]}
    if interim:
        record["interim"] = interim
    if chunk_sizes is not None:
        record["chunk_sizes"] = chunk_sizes
    if len(body) > LARGE_TEXT_BYTES:
        record["body_digest"] = digest_if_large(body)
    else:
        body_record(body, record)
    return record


def digest_if_large(value):
    """A text over LARGE_TEXT_BYTES is recorded as its length, SHA-256 and ends."""
    raw = value.encode("latin-1") if isinstance(value, str) else value
    if len(raw) <= LARGE_TEXT_BYTES:
        return value
    return {"len": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
            "head": raw[:DIGEST_END_BYTES].decode("latin-1"),
            "tail": raw[-DIGEST_END_BYTES:].decode("latin-1")}


def perform(req):
    payload, record = build_request(req)
    method = req.get("method", "GET") if "raw" not in req else req.get("raw_method", "GET")
    with socket.create_connection((HTTP_HOST, HTTP_PORT), timeout=SOCKET_TIMEOUT_SECONDS) as sock:
        sock.sendall(payload)
        reader = ResponseReader(sock)
        response = read_response(reader, method)
    return record, response


def setup_request(spec):
    """A setup/teardown entry [METHOD, TARGET, BODY] as a request dict."""
    method, target = spec[0], spec[1]
    body = spec[2] if len(spec) > 2 else ""
    req = {"method": method, "target": target, "body": body}
    if target.startswith("/query"):
        req["headers"] = [["Content-Type", "application/x-www-form-urlencoded"]]
    return req


def run_steps(steps, label):
    for spec in steps:
        _record, response = perform(setup_request(spec))
        if not 200 <= response["status"] < 300 or '"error"' in response.get("body", ""):
            print("warning: %s step %r answered %s %r" % (
                label, spec, response["status"], response.get("body")), file=sys.stderr)


def replace_now(lines, before_ns, after_ns, unit_ns):
    """Replace server-assigned timestamps by NOW: within tolerance of the request time
    (after truncation to `unit_ns`) and a multiple of `unit_ns`."""
    out = []
    for line in lines:
        head, _, stamp = line.rpartition(" ")
        try:
            unix_ns = int(stamp)
        except ValueError:
            out.append(line)
            continue
        low = before_ns - before_ns % unit_ns - NOW_TOLERANCE_NS
        if low <= unix_ns <= after_ns + NOW_TOLERANCE_NS and unix_ns % unit_ns == 0:
            out.append(head + " NOW")
        else:
            out.append(line)
    return sorted(out)


def dedup_last_wins(raw_lines_in_wal_order):
    """Collapse values for the same series, field and time: the later one wins, as the
    engine's cache and TSM compaction do. Returns sorted lines."""
    latest = {}
    for line in raw_lines_in_wal_order:
        key_part, _, stamp = line.rpartition(" ")
        series_and_field = split_before_value(key_part)
        latest[(series_and_field, stamp)] = line
    return sorted(latest.values())


def split_before_value(key_part):
    """`<series key> <field>=<value>` -> `<series key> <field>` (escape-aware)."""
    i = 0
    in_fields = False
    while i < len(key_part):
        ch = key_part[i]
        if ch == "\\":
            i += 2
            continue
        if ch == " " and not in_fields:
            in_fields = True
        elif ch == "=" and in_fields:
            return key_part[:i]
        i += 1
    return key_part


def run_case(case, tmp_dir):
    run_steps(case.get("setup", []), "setup")
    before_ns = time.time_ns()
    request_record, response = perform(case["request"])
    after_ns = time.time_ns()
    result = {"name": case["name"], "group": case["group"]}
    if case.get("note"):
        result["note"] = case["note"]
    if case.get("setup"):
        result["setup"] = case["setup"]
    result["request"] = request_record
    result["response"] = response
    if "db" in case:
        result["db"] = case["db"]
        wal_lines = export_database(tmp_dir, case["db"])
        stored = dedup_last_wins(wal_lines)
        raw = sorted(wal_lines)
        unit_ns = case.get("server_time")
        if unit_ns:
            stored = replace_now(stored, before_ns, after_ns, unit_ns)
            raw = replace_now(raw, before_ns, after_ns, unit_ns)
            result["server_time_unit_ns"] = unit_ns
        result["stored"] = stored
        if raw != stored:
            result["stored_wal"] = raw
    if case.get("teardown"):
        result["teardown"] = case["teardown"]
    run_steps(case.get("teardown", []), "teardown")
    return result


# ---------------------------------------------------------------------------
# influxd lifecycle
# ---------------------------------------------------------------------------


def start_influxd(tmp_dir, config_template_path=CONFIG_TEMPLATE_PATH):
    with open(config_template_path, encoding="utf-8") as template:
        config = template.read().replace("@TMPDIR@", tmp_dir)
    # --port moves both listeners (HTTP, and RPC two above it) off the template's ports.
    config = config.replace("127.0.0.1:18486", "127.0.0.1:%d" % HTTP_PORT)
    config = config.replace("127.0.0.1:18488", "127.0.0.1:%d" % (HTTP_PORT + 2))
    config_path = os.path.join(tmp_dir, "influxdb.conf")
    with open(config_path, "w", encoding="utf-8") as out:
        out.write(config)
    log = open(os.path.join(tmp_dir, "influxd.log"), "wb")
    proc = subprocess.Popen([INFLUXD_PATH, "run", "-config", config_path],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("influxd exited early; see %s/influxd.log" % tmp_dir)
        try:
            _record, response = perform({"method": "GET", "target": "/ping"})
            if response["status"] == 204:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("influxd did not answer /ping in time")


def stop_influxd(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load_cases(path):
    cases = runpy.run_path(path)["CASES"]
    names = set()
    for case in cases:
        if case["name"] in names:
            raise ValueError("duplicate case name %s" % case["name"])
        names.add(case["name"])
    return cases


def main():
    global HTTP_PORT, HOST_HEADER_VALUE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=DEFAULT_CASES_PATH)
    parser.add_argument("--out", default=DEFAULT_OUT_PATH)
    parser.add_argument("--only", default=None, help="record only cases whose name has this")
    parser.add_argument("--keep-tmp", action="store_true")
    parser.add_argument("--config", default=CONFIG_TEMPLATE_PATH,
                        help="influxd config template (@TMPDIR@ replaced), e.g. "
                             "tools/influxdb-golden-auth.conf for tests/golden/auth")
    parser.add_argument("--port", type=int, default=HTTP_PORT,
                        help="HTTP port for influxd (RPC on port + 2); the Host header follows")
    args = parser.parse_args()
    HTTP_PORT = args.port
    HOST_HEADER_VALUE = "127.0.0.1:%d" % HTTP_PORT
    cases = load_cases(args.cases)
    if args.only:
        cases = [c for c in cases if args.only in c["name"]]
    tmp_dir = tempfile.mkdtemp(prefix="golden-influxd-")
    try:
        socket.create_connection((HTTP_HOST, HTTP_PORT), timeout=1).close()
        sys.exit("something already listens on %s:%d; pick another --port" % (HTTP_HOST, HTTP_PORT))
    except OSError:
        pass
    proc = start_influxd(tmp_dir, args.config)
    results = []
    try:
        for case in cases:
            results.append(run_case(case, tmp_dir))
    finally:
        stop_influxd(proc)
        if not args.keep_tmp:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        else:
            print("kept %s" % tmp_dir, file=sys.stderr)
    with open(args.out, "w", encoding="utf-8") as out:
        for result in results:
            out.write(json.dumps(result, ensure_ascii=False, sort_keys=False) + "\n")
    print("recorded %d cases into %s" % (len(results), args.out))


if __name__ == "__main__":
    main()
