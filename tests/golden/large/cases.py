"""Golden cases with large requests, recorded from InfluxDB 1.6.7 with its default
max-body-size (tools/influxdb-golden-large.conf):

  python3 tools/record_golden.py --config tools/influxdb-golden-large.conf \
      --cases tests/golden/large/cases.py --out tests/golden/large/large.jsonl --port 18986

Requests are described compactly (tools/record_golden.py): `target_parts` and `body_parts`
are [[text, count]] or [[text, count, width]] ("{n}" becomes the zero-padded index),
`repeat_headers` [[name, value, count]] are sent after the others, `pad_head_to` lengthens
the target so the whole head (request line to blank line) is exactly that many bytes.
Go's server reads at most 1 MiB + 4096 bytes of head (DefaultMaxHeaderBytes plus slack).
"""

GO_MAX_HEAD_BYTES = (1 << 20) + 4096
CASES = []


def framing(slug, request, note):
    CASES.append({"name": "framing/" + slug, "group": "framing", "request": request,
                  "note": note})


def write(slug, body_parts, note):
    db = "g_large_" + slug.replace("-", "_")
    CASES.append({"name": "write/" + slug, "group": "write", "db": db,
                  "setup": [["POST", "/query", "q=CREATE DATABASE " + db]],
                  "request": {"method": "POST", "target": "/write?db=" + db,
                              "headers": [["Content-Type", "text/plain; charset=utf-8"]],
                              "body_parts": body_parts},
                  "teardown": [["POST", "/query", "q=DROP DATABASE " + db]],
                  "note": note})


framing("url-70k", {"method": "GET", "target_parts": [["/ping?x=", 1], ["a", 70000]]},
        "a 70 KB URL is served")
framing("url-900k", {"method": "GET", "target_parts": [["/ping?x=", 1], ["a", 900000]]},
        "a 900 KB URL is served")
framing("head-at-limit", {"method": "GET", "target_parts": [["/ping?x=", 1]],
                          "pad_head_to": GO_MAX_HEAD_BYTES},
        "a head of exactly 1 MiB + 4096 bytes is served")
framing("head-past-limit", {"method": "GET", "target_parts": [["/ping?x=", 1]],
                            "pad_head_to": GO_MAX_HEAD_BYTES + 1},
        "one byte more: Go's plain 431")
framing("headers-100k", {"method": "GET", "target": "/ping",
                         "repeat_headers": [["X-A", "b", 100000]]},
        "100,000 headers (800 KB): Go has no header count limit")
framing("headers-past-limit", {"method": "GET", "target": "/ping",
                               "repeat_headers": [["X-A", "b", 140000]]},
        "140,000 headers (1.1 MB): past the byte limit, 431")
write("key-70k", [["m,t=", 1], ["v", 70000], [" f=1 1\n", 1]],
      "a 70 KB series key")
write("key-70k-and-good-line", [["m,t=", 1], ["v", 70000], [" f=1 1\nm f=2 2\n", 1]],
      "a 70 KB series key next to a good line: partial write")
write("key-plus-field-65540", [["m,t=", 1], ["v", 65531], [" f=1 1\n", 1]],
      "series key of 65535 bytes: key + 4 + field key is 65540, over the limit")
write("million-tags", [["m", 1], [",t{n}=v", 1000000, 7], [" f=1 1\n", 1]],
      "a line with 1,000,000 tags (11 MB): the whole line is quoted with its reason")
