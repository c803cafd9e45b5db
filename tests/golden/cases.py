"""Golden HTTP cases replayed against InfluxDB 1.6.7 by tools/record_golden.py.

`CASES` is a list of plain dicts (data; the helpers below only fill in the routine parts).
Case keys:
  name      unique "group/slug"
  group     write | ping | query | framing
  request   {"method", "target", "headers": [[name, value], ...], "body" | "body_base64" |
             "body_parts": [[text, count], ...], "gzip": bool,
             "chunks": [str | [[text, count], ...], ...],
             "version": "HTTP/1.0", "no_content_length": bool}
            or {"raw": "<exact bytes to send, utf-8>"} for malformed requests.
            Host and User-Agent are always sent first; Content-Length is added for POST/PUT
            and any request with a body unless chunked / no_content_length.
  setup     [[METHOD, TARGET, BODY], ...] run before the request (answers not recorded)
  teardown  same shape, run after (write cases drop their database here)
  db        write cases: the database whose stored points are recorded as `stored`
  server_time  write cases without a timestamp: the precision unit in ns (1 for ns);
            stored timestamps near the request time that are multiples of it are replaced by
            the token NOW
  note      free text kept in the output
"""

HOST = "127.0.0.1:18486"
FORM = [["Content-Type", "application/x-www-form-urlencoded"]]
TEXT = [["Content-Type", "text/plain; charset=utf-8"]]

CASES = []


def db_name(name):
    return "g_" + "".join(ch if ch.isalnum() else "_" for ch in name.split("/", 1)[1])


def create(db):
    return ["POST", "/query", "q=CREATE DATABASE " + db]


def drop(db):
    return ["POST", "/query", "q=DROP DATABASE " + db]


def write(slug, body, params="", headers=None, note=None, server_time=None, pre_writes=(),
          method="POST", extra=None):
    """A /write case on its own fresh database. `params` is appended after `db=`."""
    name = "write/" + slug
    db = db_name(name)
    setup = [create(db)] + [["POST", "/write?db=" + db, w] for w in pre_writes]
    request = {"method": method, "target": "/write?db=" + db + params,
               "headers": TEXT if headers is None else headers}
    if body is not None:
        request["body"] = body
    if extra:
        request.update(extra)
    case = {"name": name, "group": "write", "setup": setup, "request": request, "db": db,
            "teardown": [drop(db)]}
    if note:
        case["note"] = note
    if server_time:
        case["server_time"] = server_time
    CASES.append(case)


def query(slug, q=None, method="POST", params="", setup=(), teardown=(), note=None,
          target=None, body=None, headers=None):
    """A /query case; `q` goes in the form body for POST and the URL for GET."""
    from urllib.parse import quote

    request = {"method": method}
    if target is None:
        target = "/query"
        query_params = params
        if q is not None and method != "POST":
            query_params = "q=" + quote(q, safe="") + ("&" + params if params else "")
        if query_params:
            target += "?" + query_params
    request["target"] = target
    if method == "POST":
        request["headers"] = FORM if headers is None else headers
        if body is None:
            body = "" if q is None else "q=" + quote(q, safe="")
        request["body"] = body
    elif headers is not None:
        request["headers"] = headers
    case = {"name": "query/" + slug, "group": "query", "request": request}
    if setup:
        case["setup"] = list(setup)
    if teardown:
        case["teardown"] = list(teardown)
    if note:
        case["note"] = note
    CASES.append(case)


def plain(group, slug, request, setup=(), teardown=(), note=None):
    case = {"name": group + "/" + slug, "group": group, "request": request}
    if setup:
        case["setup"] = list(setup)
    if teardown:
        case["teardown"] = list(teardown)
    if note:
        case["note"] = note
    CASES.append(case)


# ---------------------------------------------------------------------------
# query cases that look at global state go first (no databases exist yet)
# ---------------------------------------------------------------------------

query("show-databases-empty", "SHOW DATABASES")
query("show-databases-empty-get", "SHOW DATABASES", method="GET")
query("show-databases-two", "SHOW DATABASES", setup=[create("q_a"), create("q_b")],
      teardown=[drop("q_a"), drop("q_b")])
query("create-database", "CREATE DATABASE q_c", teardown=[drop("q_c")])
query("create-database-again", "CREATE DATABASE q_c", setup=[create("q_c")],
      teardown=[drop("q_c")], note="idempotent?")
query("create-database-with-duration",
      "CREATE DATABASE q_d WITH DURATION 1d REPLICATION 1 SHARD DURATION 1h NAME rp1",
      teardown=[drop("q_d")])
query("create-database-with-duration-then-show-rp", "SHOW RETENTION POLICIES ON q_d",
      method="GET",
      setup=[["POST", "/query",
              "q=CREATE DATABASE q_d WITH DURATION 1d REPLICATION 1 SHARD DURATION 1h NAME rp1"]],
      teardown=[drop("q_d")])
query("create-database-duration-too-short", "CREATE DATABASE q_e WITH DURATION 1m",
      teardown=[drop("q_e")])
query("create-database-get", "CREATE DATABASE q_f", method="GET", teardown=[drop("q_f")])
query("create-database-get-then-show", "SHOW DATABASES", method="GET",
      setup=[["GET", "/query?q=CREATE+DATABASE+q_g", ""]], teardown=[drop("q_g")],
      note="shows whether a GET CREATE DATABASE created anything")
query("drop-database", "DROP DATABASE q_h", setup=[create("q_h")])
query("drop-database-missing", "DROP DATABASE q_missing")
query("drop-database-get", "DROP DATABASE q_i", method="GET", setup=[create("q_i")],
      teardown=[drop("q_i")])
query("missing-q-post", None)
query("missing-q-get", None, method="GET")
query("empty-q", "")
query("parse-error", "SELEC 1")
query("parse-error-get", "SHOW DATABASE", method="GET")
query("parse-error-unterminated-string", "SELECT * FROM 'x")
query("pretty", "SHOW DATABASES", params="pretty=true", method="GET",
      setup=[create("q_p")], teardown=[drop("q_p")])
query("pretty-post-create", "CREATE DATABASE q_pp", method="POST", teardown=[drop("q_pp")],
      body="q=CREATE+DATABASE+q_pp&pretty=true")
query("epoch-s", "SELECT * FROM m", params="db=q_ep&epoch=s", method="GET",
      setup=[create("q_ep"), ["POST", "/write?db=q_ep", "m v=1 1500000000000000000\n"]],
      teardown=[drop("q_ep")])
query("epoch-none", "SELECT * FROM m", params="db=q_ep", method="GET",
      setup=[create("q_ep"), ["POST", "/write?db=q_ep", "m v=1 1500000000000000000\n"]],
      teardown=[drop("q_ep")])
query("multiple-statements", "CREATE DATABASE q_m; SHOW DATABASES", teardown=[drop("q_m")])
query("multiple-statements-error-second", "CREATE DATABASE q_n; SELEC 1",
      teardown=[drop("q_n")])
query("multiple-statements-exec-error-middle",
      "SHOW DATABASES; SELECT * FROM m; SHOW DATABASES",
      note="second statement fails at execution (no database)")
query("multiple-statements-exec-error-last", "SHOW DATABASES; SELECT * FROM m")
query("multiple-statements-exec-error-first", "SELECT * FROM m; SHOW DATABASES")
query("multiple-statements-db-not-found", "SHOW DATABASES; SELECT * FROM m; SHOW DATABASES",
      params="db=q_nope", method="GET")
query("chunked", "SHOW DATABASES", params="chunked=true", method="GET",
      setup=[create("q_ch")], teardown=[drop("q_ch")])
query("chunked-select", "SELECT * FROM m", params="db=q_cs&chunked=true&chunk_size=1",
      method="GET",
      setup=[create("q_cs"), ["POST", "/write?db=q_cs", "m v=1 1\nm v=2 2\nm v=3 3\n"]],
      teardown=[drop("q_cs")])
query("select-no-db", "SELECT * FROM m", method="GET")
query("select-db-not-found", "SELECT * FROM m", params="db=q_nope", method="GET")
query("select-types", "SELECT * FROM m", params="db=q_ty", method="GET",
      setup=[create("q_ty"),
             ["POST", "/write?db=q_ty", 'm,t=x f=1.5,i=2i,b=true,s="hi" 1000000000\n']],
      teardown=[drop("q_ty")])
query("show-measurements", "SHOW MEASUREMENTS", params="db=q_sm", method="GET",
      setup=[create("q_sm"), ["POST", "/write?db=q_sm", "m1 v=1 1\nm2 v=1 1\n"]],
      teardown=[drop("q_sm")])
query("show-field-keys", "SHOW FIELD KEYS", params="db=q_fk", method="GET",
      setup=[create("q_fk"),
             ["POST", "/write?db=q_fk", 'm f=1.5,i=2i,b=true,s="hi" 1\n']],
      teardown=[drop("q_fk")])
query("show-retention-policies", "SHOW RETENTION POLICIES ON q_rp", method="GET",
      setup=[create("q_rp")], teardown=[drop("q_rp")])
query("create-database-bad-name", "CREATE DATABASE \"\"")
query("post-json-content-type", "SHOW DATABASES",
      headers=[["Content-Type", "application/json"]],
      note="form body sent with a non-form Content-Type")
query("post-q-in-url", None, method="POST", target="/query?q=SHOW+DATABASES", body="",
      headers=[])
query("get-u-p-no-auth", "SHOW DATABASES", method="GET", params="u=nobody&p=secret")
query("accept-csv", "SHOW DATABASES", method="GET",
      headers=[["Accept", "application/csv"]])
query("accept-msgpack", "SHOW DATABASES", method="GET",
      headers=[["Accept", "application/x-msgpack"]])
query("duplicate-field-last-wins", "SELECT v FROM m", params="db=q_lw", method="GET",
      setup=[create("q_lw"), ["POST", "/write?db=q_lw", "m v=1,v=2 1\n"]],
      teardown=[drop("q_lw")], note="which of two same-name fields in one line wins")
query("duplicate-point-last-wins", "SELECT v FROM m", params="db=q_lw2", method="GET",
      setup=[create("q_lw2"), ["POST", "/write?db=q_lw2", "m v=1 1\nm v=2 1\n"]],
      teardown=[drop("q_lw2")], note="which of two points with one time wins")
query("field-named-time-with-other-select", "SELECT * FROM m", params="db=q_ft",
      method="GET", setup=[create("q_ft"), ["POST", "/write?db=q_ft", "m time=1,v=2 1\n"]],
      teardown=[drop("q_ft")])
query("put-method", "SHOW DATABASES", method="PUT", target="/query?q=SHOW+DATABASES",
      body="")

# ---------------------------------------------------------------------------
# /ping
# ---------------------------------------------------------------------------

plain("ping", "get", {"method": "GET", "target": "/ping"})
plain("ping", "head", {"method": "HEAD", "target": "/ping"})
plain("ping", "get-verbose", {"method": "GET", "target": "/ping?verbose=true"})
plain("ping", "head-verbose", {"method": "HEAD", "target": "/ping?verbose=true"})
plain("ping", "get-verbose-1", {"method": "GET", "target": "/ping?verbose=1"})
plain("ping", "get-verbose-false", {"method": "GET", "target": "/ping?verbose=false"})
plain("ping", "get-wait-for-leader", {"method": "GET", "target": "/ping?wait_for_leader=1s"})
plain("ping", "get-wait-for-leader-bogus",
      {"method": "GET", "target": "/ping?wait_for_leader=bogus"})
plain("ping", "get-x-request-id",
      {"method": "GET", "target": "/ping", "headers": [["X-Request-Id", "golden-req-1"]]})
plain("ping", "get-request-id",
      {"method": "GET", "target": "/ping", "headers": [["Request-Id", "golden-req-2"]]})
plain("ping", "get-both-request-ids",
      {"method": "GET", "target": "/ping",
       "headers": [["X-Request-Id", "golden-x"], ["Request-Id", "golden-plain"]]})
plain("ping", "post", {"method": "POST", "target": "/ping", "body": ""})
plain("ping", "put", {"method": "PUT", "target": "/ping", "body": ""})
plain("ping", "delete", {"method": "DELETE", "target": "/ping"})
plain("ping", "options", {"method": "OPTIONS", "target": "/ping"})
plain("ping", "get-trailing-slash", {"method": "GET", "target": "/ping/"})
plain("ping", "get-http10", {"method": "GET", "target": "/ping", "version": "HTTP/1.0"})
plain("ping", "get-with-origin",
      {"method": "GET", "target": "/ping", "headers": [["Origin", "http://example.test"]]})

# ---------------------------------------------------------------------------
# /write: parameters
# ---------------------------------------------------------------------------

plain("write", "missing-db", {"method": "POST", "target": "/write", "headers": TEXT,
                              "body": "cpu value=1 1\n"})
plain("write", "empty-db-param", {"method": "POST", "target": "/write?db=", "headers": TEXT,
                                  "body": "cpu value=1 1\n"})
plain("write", "db-not-found", {"method": "POST", "target": "/write?db=g_nope",
                                "headers": TEXT, "body": "cpu value=1 1\n"})
write("bad-rp", "cpu value=1 1\n", params="&rp=nope")
write("good-rp-autogen", "cpu value=1 1\n", params="&rp=autogen")
write("bad-precision", "cpu value=1 1\n", params="&precision=x")
for prec, label in [("n", "n"), ("ns", "ns"), ("u", "u"), ("%C2%B5", "micro"),
                    ("ms", "ms"), ("s", "s"), ("m", "m"), ("h", "h")]:
    write("precision-" + label, "cpu value=1 1500000000\n", params="&precision=" + prec)
for prec, label, stamp in [("m", "m", "25000000"), ("h", "h", "400000")]:
    write("precision-%s-in-range" % label, "cpu value=1 %s\n" % stamp,
          params="&precision=" + prec)
write("precision-empty", "cpu value=1 1500000000\n", params="&precision=")
write("precision-s-no-timestamp", "cpu value=1\n", params="&precision=s",
      server_time=10**9, note="server time with precision=s: truncated to seconds?")
write("precision-ms-no-timestamp", "cpu value=1\n", params="&precision=ms",
      server_time=10**6)
write("precision-h-no-timestamp", "cpu value=1\n", params="&precision=h",
      server_time=3600 * 10**9)
for level in ["any", "one", "quorum", "all", "bogus"]:
    write("consistency-" + level, "cpu value=1 1\n", params="&consistency=" + level)
write("u-p-no-users", "cpu value=1 1\n", params="&u=nobody&p=secret")
write("method-get", None, method="GET", headers=[])
write("method-put", "cpu value=1 1\n", method="PUT")
write("method-delete", None, method="DELETE", headers=[])
write("content-type-none", "cpu value=1 1\n", headers=[])
write("content-type-json", "cpu value=1 1\n", headers=[["Content-Type", "application/json"]])
write("content-type-form", "cpu value=1 1\n",
      headers=[["Content-Type", "application/x-www-form-urlencoded"]])
write("content-type-octet", "cpu value=1 1\n",
      headers=[["Content-Type", "application/octet-stream"]])
write("basic-auth-no-users", "cpu value=1 1\n",
      headers=TEXT + [["Authorization", "Basic bm9ib2R5OnNlY3JldA=="]])

# ---------------------------------------------------------------------------
# /write: bodies
# ---------------------------------------------------------------------------

write("empty-body", "")
write("only-comments-and-blank", "# a comment\n\n   \n# another\n")
write("only-newline", "\n")
write("float-basic", "cpu,host=a value=1 1\n")
FLOAT_FORMS = ["1", "1.5", "-1.5e10", "1e-5", "0.1", "100000", "1000000", "123456789.125",
               "-0.0", "0", "1E5", "1e+5", ".5", "5.", "-.5", "1.7976931348623157e308",
               "4.9e-324", "1e309", "0.0001", "0.00001", "12345678901234567890", "3.0",
               "00012", "1e", "1.5.5", "-", "--1", "1_000"]
for index, form in enumerate(FLOAT_FORMS):
    write("float-form-%02d" % index, "m v=%s 1\n" % form, note="float form " + form)
write("float-forms-together",
      "m a=1,b=1.5,c=-1.5e10,d=1e-5,e=0.1,f=100000,g=1000000,h=123456789.125,i=-0.0 1\n")
write("float-no-trailing-newline", "m v=2.5 1")
write("float-leading-plus", "m v=+1.5 1\n")
write("float-double-dot", "m v=1..5 1\n")
write("float-hex", "m v=0x10 1\n")
write("integer-basic", "m v=1i 1\n")
write("integer-min", "m v=-9223372036854775808i 1\n")
write("integer-max", "m v=9223372036854775807i 1\n")
write("integer-overflow", "m v=9223372036854775808i 1\n")
write("integer-underflow", "m v=-9223372036854775809i 1\n")
write("integer-plus", "m v=+5i 1\n")
write("integer-float-suffix", "m v=1.5i 1\n")
write("unsigned-basic", "m v=1u 1\n")
write("unsigned-max", "m v=18446744073709551615u 1\n")
write("booleans-all-spellings",
      "m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE 1\n")
write("boolean-bad-spelling", "m a=tRuE 1\n")
write("boolean-yes", "m a=yes 1\n")
write("string-basic", 'm s="hello world" 1\n')
write("string-escaped-quote", 'm s="say \\"hi\\"" 1\n')
write("string-escaped-backslash", 'm s="back\\\\slash" 1\n')
write("string-lone-backslash", 'm s="a\\b" 1\n')
write("string-escaped-other", 'm s="tab\\tnew\\n,comma\\, eq\\=" 1\n')
write("string-trailing-backslash-escape", 'm s="end\\\\" 1\n')
write("string-unicode", 'm s="héllo ☃ 日本" 1\n')
write("string-empty", 'm s="" 1\n')
write("string-newline-inside", 'm s="line1\nline2" 1\n')
write("string-with-comma-space-equals", 'm s="a, b=c d" 1\n')
write("string-unterminated", 'm s="abc 1\n')
write("string-unquoted", "m s=abc 1\n")
write("string-single-quoted", "m s='abc' 1\n")
write("string-max-length", 'm s="' + "x" * 65535 + '" 1\n')
write("string-over-max-length", 'm s="' + "x" * 65536 + '" 1\n')
write("escape-measurement", "my\\ meas\\,ure=x v=1 1\n")
write("escape-measurement-backslash", "me\\\\as v=1 1\n")
write("escape-tag-key", "m,ta\\ g\\,k\\=y=v v=1 1\n")
write("escape-tag-value", "m,t=va\\ l\\,u\\=e v=1 1\n")
write("escape-tag-value-backslash", "m,t=a\\\\b v=1 1\n")
write("escape-field-key", "m fi\\ e\\,l\\=d=1 1\n")
write("escape-field-key-quote", 'm f"k=1 1\n')
write("escape-field-key-backslash", "m f\\\\k=1 1\n")
write("measurement-with-equals", "m=x v=1 1\n")
write("measurement-leading-hash-space", " m v=1 1\n", note="leading space")
write("tag-order", "m,z=1,a=2,m=3 v=1 1\n")
write("tag-order-two-series-same-key", "m,b=2,a=1 v=1 1\nm,a=1,b=2 v=2 2\n")
write("duplicate-tags", "m,a=1,a=2 v=1 1\n")
write("duplicate-tags-same-value", "m,a=1,a=1 v=1 1\n")
write("duplicate-fields", "m v=1,v=2 1\n")
write("duplicate-fields-different-types", "m v=1,v=2i 1\n")
write("many-fields-one-line", "m a=1,b=2i,c=true,d=\"s\" 1\n")
write("no-timestamp", "m v=1\n", server_time=1)
write("no-timestamp-two-lines", "m v=1\nm w=2\n", server_time=1,
      note="both lines get the same server time?")
write("no-timestamp-mixed", "m v=1\nm v=2 5\n", server_time=1)
write("crlf-endings", "m v=1 1\r\nm v=2 2\r\n")
write("crlf-no-timestamp", "m v=1\r\n", server_time=1)
write("multiple-lines-same-series", "m v=1 1\nm v=2 2\nm v=3 3\n")
write("same-timestamp-overwrite", "m v=1 1\nm v=2 1\n")
write("same-timestamp-overwrite-different-fields", "m a=1 1\nm b=2 1\n")
write("partial-write-one-bad-middle", "m v=1 1\nm v=oops 2\nm v=3 3\n")
write("partial-write-several-bad", "m v=1 1\nbad\nm v=2 2\nworse line\nm,t= v=3 3\nm v=4 4\n")
write("all-lines-bad", "bad\nworse line\n")
write("bad-missing-fields", "m 1\n")
write("bad-missing-fields-tags-only", "m,t=a\n")
write("bad-measurement-only", "m\n")
write("bad-empty-tag-value", "m,t= v=1 1\n")
write("bad-empty-tag-key", "m,=x v=1 1\n")
write("bad-tag-no-equals", "m,t v=1 1\n")
write("bad-missing-field-value", "m v= 1\n")
write("bad-missing-field-key", "m =1 1\n")
write("bad-timestamp-text", "m v=1 abc\n")
write("bad-timestamp-float", "m v=1 1.5\n")
write("bad-trailing-garbage", "m v=1 1 extra\n")
write("bad-trailing-comma-field", "m v=1, 1\n")
write("bad-leading-comma", ",m v=1 1\n")
write("bad-empty-measurement", ",t=a v=1 1\n")
write("bad-two-spaces", "m  v=1 1\n")
write("trailing-space-after-timestamp", "m v=1 1 \n")
write("negative-timestamp", "m v=1 -1\n")
write("timestamp-min-valid", "m v=1 -9223372036854775806\n")
write("timestamp-max-valid", "m v=1 9223372036854775806\n")
write("timestamp-out-of-range-max", "m v=1 9223372036854775807\n")
write("timestamp-out-of-range-min", "m v=1 -9223372036854775808\n")
write("timestamp-overflow-parse", "m v=1 99999999999999999999\n")
write("timestamp-out-of-range-precision-s", "m v=1 9223372037\n", params="&precision=s")
write("field-named-time", "m time=1 1\n")
write("field-named-time-with-other", "m time=1,v=2 1\n")
write("tag-named-time", "m,time=x v=1 1\n")
write("tag-and-field-same-name", "m,x=a x=1 1\n")
write("measurement-only-tags", "m,t=a 1\n")
write("field-type-conflict-same-request", "m v=1 1\nm v=2i 2\n")
write("field-type-conflict-same-request-three", "m v=1 1\nm v=2i 2\nm v=\"s\" 3\nm v=4 4\n")
write("field-type-conflict-across-requests", "m v=2i 2\n", pre_writes=["m v=1 1\n"])
write("field-type-conflict-across-requests-string", 'm v="x" 2\n',
      pre_writes=["m v=true 1\n"])
# The shard exists (an earlier write made it): a conflict with a field an earlier point of
# the same request created drops that point with the partial-write text, the rest stored.
write("ftc-shard-exists-same-request", "m x=1 5\nm x=2i 6\nm x=\"s\" 7\nm q=1 8\n",
      pre_writes=["m v=1 1\n"])
write("ftc-shard-exists-within-line", "m w=1,w=2i 5\n", pre_writes=["m v=1 1\n"])
write("ftc-shard-exists-other-measurement", "m y=1,z=1 5\nm2 y=1i,y=2 6\n",
      pre_writes=["m v=1 1\n"])
write("field-type-conflict-other-series", "m,t=b v=2i 2\n", pre_writes=["m,t=a v=1 1\n"])
write("field-type-conflict-across-requests-partial", "m v=2i 2\nm v=3 3\nn v=1i 4\nm v=5i 5\n",
      pre_writes=["m v=1 1\n"], note="two conflicting points dropped, others stored")
write("field-type-conflict-across-requests-plus-parse-error", "m v=2i 2\nbad\nm v=3 3\n",
      pre_writes=["m v=1 1\n"], note="a parse error and a type conflict in one request")
write("field-type-conflict-across-plus-time-field", "m v=2i 2\nm time=1 3\nm v=3 4\n",
      pre_writes=["m v=1 1\n"], note="a type conflict and a field named time in one request")
write("field-type-conflict-plus-parse-error", "m v=1 1\nm v=2i 2\nbad\n")
write("integer-leading-zeros", "m v=007i 1\n")
write("integer-negative-zero", "m v=-0i 1\n")
write("integer-empty", "m v=i 1\n")
write("integer-minus-only", "m v=-i 1\n")
write("nan", "m v=NaN 1\n")
write("nan-lower", "m v=nan 1\n")
write("plus-inf", "m v=+Inf 1\n")
write("inf", "m v=Inf 1\n")
write("minus-inf", "m v=-Inf 1\n")
write("long-measurement", "m" * 70000 + " v=1 1\n", note="series key > 65535 bytes")
write("long-tag-value", "m,t=" + "v" * 65530 + " v=1 1\n")
write("long-measurement-then-good", "m" * 70000 + " v=1 1\nok v=1 2\n")
write("unicode-measurement-and-tags", "温度,城市=東京 値=1 1\n")
write("tab-separator", "m\tv=1 1\n")
write("comment-then-line", "# hi\nm v=1 1\n")
write("comment-after-line-ws", "m v=1 1\n  # indented comment\n")
write("utf8-invalid", None, extra={"body_base64": "bcN4IHY9MSAxCg=="},
      note="measurement bytes 6d c3 78 (invalid utf-8)")
write("gzip-valid", "m v=1 1\nm v=2 2\n", extra={"gzip": True})
write("gzip-corrupt", None, extra={"body_base64": "H4sIAAAAAAAA/8tVKNM1VAAAAP//"},
      headers=TEXT + [["Content-Encoding", "gzip"]])
write("gzip-not-gzip", "m v=1 1\n", headers=TEXT + [["Content-Encoding", "gzip"]])
write("content-encoding-identity", "m v=1 1\n",
      headers=TEXT + [["Content-Encoding", "identity"]])
write("content-encoding-unknown", "m v=1 1\n",
      headers=TEXT + [["Content-Encoding", "br"]])
write("chunked-body", None, extra={"chunks": ["m v=1 1\nm v=", "2 2\n", "m v=3 3\n"]})
write("expect-100-continue", "m v=1 1\n", headers=TEXT + [["Expect", "100-continue"]])
# 8 + 16383 * 64 + 56 = 1048576 bytes: one point, then comment lines as padding.
MAX_BODY_PARTS = [["m v=1 1\n", 1], ["#" * 63 + "\n", 16383], ["#" * 55 + "\n", 1]]
write("body-at-max-size", None, extra={"body_parts": MAX_BODY_PARTS},
      note="exactly max-body-size (1048576) bytes")
write("body-over-max-size", None, extra={"body_parts": MAX_BODY_PARTS + [["\n", 1]]},
      note="max-body-size + 1 byte, with Content-Length")
write("body-over-max-size-chunked", None,
      extra={"chunks": [[["m v=1 1\n", 1], ["#", 524279], ["\n", 1]],
                        [["#", 524288], ["\n", 1]]]},
      note="max-body-size + 1 byte, chunked (no Content-Length)")
write("gzip-over-max-size-decompressed", None,
      extra={"body_parts": MAX_BODY_PARTS + [["#" * 1023 + "\n", 64]], "gzip": True},
      note="small on the wire, over max-body-size once decompressed")
write("gzip-at-max-size-decompressed", None,
      extra={"body_parts": MAX_BODY_PARTS, "gzip": True})
write("http10", "m v=1 1\n", extra={"version": "HTTP/1.0"})
write("connection-close", "m v=1 1\n", headers=TEXT + [["Connection", "close"]])
write("db-param-twice", "m v=1 1\n", params="&db=g_other")
write("rp-empty", "m v=1 1\n", params="&rp=")

# ---------------------------------------------------------------------------
# framing and routing
# ---------------------------------------------------------------------------

plain("framing", "http10-query", {"method": "GET", "target": "/query?q=SHOW+DATABASES",
                                  "version": "HTTP/1.0"})
plain("framing", "connection-close", {"method": "GET", "target": "/ping",
                                      "headers": [["Connection", "close"]]})
plain("framing", "http10-keep-alive", {"method": "GET", "target": "/ping",
                                       "version": "HTTP/1.0",
                                       "headers": [["Connection", "keep-alive"]]})
plain("framing", "malformed-request-line", {"raw": "GARBAGE\r\n\r\n"})
plain("framing", "malformed-request-line-two-words", {"raw": "GET /ping\r\n\r\n"})
plain("framing", "bad-http-version", {"raw": "GET /ping HTTP/9.9\r\nHost: %s\r\n\r\n" % HOST})
plain("framing", "missing-host-http11", {"raw": "GET /ping HTTP/1.1\r\n\r\n"})
plain("framing", "bad-header-line", {"raw": "GET /ping HTTP/1.1\r\nHost: %s\r\nNoColon\r\n\r\n"
                                     % HOST})
plain("framing", "unknown-path", {"method": "GET", "target": "/nope"})
plain("framing", "unknown-path-post", {"method": "POST", "target": "/nope", "body": "x"})
plain("framing", "root-path", {"method": "GET", "target": "/"})
plain("framing", "options-write", {"method": "OPTIONS", "target": "/write"})
plain("framing", "options-query", {"method": "OPTIONS", "target": "/query"})
plain("framing", "options-query-with-origin",
      {"method": "OPTIONS", "target": "/query",
       "headers": [["Origin", "http://example.test"],
                   ["Access-Control-Request-Method", "POST"]]})
plain("framing", "options-root", {"method": "OPTIONS", "target": "/"})
plain("framing", "head-query", {"method": "HEAD", "target": "/query?q=SHOW+DATABASES"})
plain("framing", "debug-vars-exists", {"method": "HEAD", "target": "/debug/vars"})
plain("framing", "status", {"method": "GET", "target": "/status"})
plain("framing", "head-status", {"method": "HEAD", "target": "/status"})
plain("framing", "write-trailing-slash", {"method": "POST", "target": "/write/?db=x",
                                          "headers": TEXT, "body": "m v=1 1\n"})
plain("framing", "query-trailing-slash", {"method": "GET",
                                          "target": "/query/?q=SHOW+DATABASES"})
plain("framing", "double-slash-ping", {"method": "GET", "target": "//ping"})
plain("framing", "absolute-uri", {"method": "GET", "target": "http://%s/ping" % HOST})
plain("framing", "api-v2-write", {"method": "POST", "target": "/api/v2/write?bucket=x",
                                  "headers": TEXT, "body": "m v=1 1\n"})
plain("framing", "case-sensitive-path", {"method": "GET", "target": "/PING"})
plain("framing", "gzip-accept-encoding-query",
      {"method": "GET", "target": "/query?q=SHOW+DATABASES",
       "headers": [["Accept-Encoding", "gzip"]]})
