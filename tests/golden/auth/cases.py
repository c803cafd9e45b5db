"""Golden authentication and authorization cases, replayed against InfluxDB 1.6.7 with
`[http] auth-enabled = true` and `shared-secret = "golden-secret"` by

    python3 tools/record_golden.py --config tools/influxdb-golden-auth.conf \
        --cases tests/golden/auth/cases.py --out tests/golden/auth/auth.jsonl

Unlike tests/golden/cases.py, the cases here are one story and must run in order on one
server: the first ones meet a server without users (the bootstrap rule), one creates the
admin user, setup steps then create databases, users and grants with the admin's
credentials, and later cases change passwords, grants and users. The case keys are those of
tests/golden/cases.py.

Users: admin (admin, password adminpw); reader (READ on db1), writer (WRITE on db1), allu
(ALL on db1), nobody (no privilege), every non-admin password `pw`.
"""

import base64
import hashlib
import hmac
import json
from urllib.parse import quote

FORM = [["Content-Type", "application/x-www-form-urlencoded"]]
TEXT = [["Content-Type", "text/plain; charset=utf-8"]]
SHARED_SECRET = b"golden-secret"
# 2100-01-01T00:00:00Z: a token expiry that stays in the future.
FAR_FUTURE_S = 4102444800

CASES = []


def creds(user, password):
    return "u=%s&p=%s" % (quote(user, safe=""), quote(password, safe=""))


ADMIN = creds("admin", "adminpw")


def admin_q(q):
    """A setup step: `q` run by the admin."""
    return ["POST", "/query?" + ADMIN, "q=" + quote(q, safe="")]


def basic(user_colon_password):
    return "Basic " + base64.b64encode(user_colon_password.encode()).decode()


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(claims, secret=SHARED_SECRET, alg="HS256"):
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = (header + "." + payload).encode()
    if alg == "none":
        return header + "." + payload + "."
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return header + "." + payload + "." + b64url(signature)


def query(slug, q, params="", headers=None, method="POST", setup=(), note=None, body=None):
    """A /query case: `q` in the form body for POST, in the URL for GET."""
    target = "/query"
    query_params = params
    if method == "GET" and q is not None:
        query_params = "q=" + quote(q, safe="") + ("&" + params if params else "")
    if query_params:
        target += "?" + query_params
    request = {"method": method, "target": target}
    extra = list(headers or [])
    if method == "POST":
        request["headers"] = FORM + extra
        if body is None:
            body = "" if q is None else "q=" + quote(q, safe="")
        request["body"] = body
    elif extra:
        request["headers"] = extra
    add("query/" + slug, request, setup, note)


def write(slug, db, params="", headers=None, body="m v=1 1\n", setup=(), note=None):
    target = "/write" + ("?db=" + db if db is not None else "?") + params
    request = {"method": "POST", "target": target, "headers": TEXT + list(headers or []),
               "body": body}
    add("write/" + slug, request, setup, note)


def get(slug, target, headers=None, setup=(), note=None):
    request = {"method": "GET", "target": target}
    if headers:
        request["headers"] = headers
    add(slug, request, setup, note)


def add(name, request, setup, note):
    case = {"name": "auth/" + name, "group": "auth", "request": request}
    if setup:
        case["setup"] = list(setup)
    if note:
        case["note"] = note
    CASES.append(case)


# --- no user yet: the bootstrap rule -------------------------------------------------------
query("bootstrap-show-databases", "SHOW DATABASES")
query("bootstrap-show-databases-with-creds", "SHOW DATABASES", params=creds("x", "y"))
query("bootstrap-create-plain-user", "CREATE USER first WITH PASSWORD 'pw'")
query("bootstrap-admin-not-first", "SHOW DATABASES; CREATE USER admin WITH PASSWORD 'adminpw' "
      "WITH ALL PRIVILEGES")
write("bootstrap-missing-db", "db1")
write("bootstrap-no-db", None)
get("ping/bootstrap", "/ping")
query("bootstrap-create-admin", "CREATE USER admin WITH PASSWORD 'adminpw' WITH ALL PRIVILEGES")
query("bootstrap-create-admin-again", "CREATE USER admin WITH PASSWORD 'adminpw' "
      "WITH ALL PRIVILEGES", note="an admin exists: credentials are now required")

# --- the admin exists: users, databases, grants -------------------------------------------
SETUP = [
    admin_q("CREATE DATABASE db1"),
    admin_q("CREATE DATABASE db2"),
    admin_q("CREATE USER reader WITH PASSWORD 'pw'"),
    admin_q("CREATE USER writer WITH PASSWORD 'pw'"),
    admin_q("CREATE USER allu WITH PASSWORD 'pw'"),
    admin_q("CREATE USER nobody WITH PASSWORD 'pw'"),
    admin_q("GRANT READ ON db1 TO reader"),
    admin_q("GRANT WRITE ON db1 TO writer"),
    admin_q("GRANT ALL ON db1 TO allu"),
    ["POST", "/write?db=db1&" + ADMIN, "m v=1 1\n"],
]

# credential forms
query("creds-none", "SHOW DATABASES", setup=SETUP)
query("creds-none-missing-q", None)
query("creds-u-only", "SHOW DATABASES", params="u=admin")
query("creds-p-only", "SHOW DATABASES", params="p=adminpw")
query("creds-u-p-admin", "SHOW DATABASES", params=ADMIN)
query("creds-u-p-admin-get", "SHOW DATABASES", params=ADMIN, method="GET")
query("creds-u-p-wrong-password", "SHOW DATABASES", params=creds("admin", "nope"))
query("creds-u-p-unknown-user", "SHOW DATABASES", params=creds("ghost", "pw"))
query("creds-u-p-empty-password", "SHOW DATABASES", params="u=admin&p=")
query("creds-form-body", None, body="q=SHOW%20DATABASES&" + ADMIN)
query("creds-basic-admin", "SHOW DATABASES", headers=[["Authorization", basic("admin:adminpw")]])
query("creds-basic-wrong", "SHOW DATABASES", headers=[["Authorization", basic("admin:nope")]])
query("creds-basic-empty-user", "SHOW DATABASES", headers=[["Authorization", basic(":adminpw")]])
query("creds-basic-no-colon", "SHOW DATABASES", headers=[["Authorization", basic("admin")]])
query("creds-basic-not-base64", "SHOW DATABASES", headers=[["Authorization", "Basic !!!"]])
query("creds-basic-lowercase", "SHOW DATABASES",
      headers=[["Authorization", "basic " + basic("admin:adminpw")[6:]]])
query("creds-basic-password-with-colon", "SHOW DATABASES",
      headers=[["Authorization", basic("admin:adminpw:x")]])
query("creds-u-p-wins-over-basic", "SHOW DATABASES", params=ADMIN,
      headers=[["Authorization", basic("admin:nope")]])
query("creds-token", "SHOW DATABASES", headers=[["Authorization", "Token admin:adminpw"]])
query("creds-unknown-scheme", "SHOW DATABASES", headers=[["Authorization", "Digest abc"]])
query("jwt-valid", "SHOW DATABASES", headers=[
    ["Authorization", "Bearer " + jwt({"username": "admin", "exp": FAR_FUTURE_S})]])
query("jwt-reader", "SHOW DATABASES", headers=[
    ["Authorization", "Bearer " + jwt({"username": "reader", "exp": FAR_FUTURE_S})]])
query("jwt-bad-signature", "SHOW DATABASES", headers=[
    ["Authorization", "Bearer " + jwt({"username": "admin", "exp": FAR_FUTURE_S}, b"wrong")]])
query("jwt-malformed", "SHOW DATABASES", headers=[["Authorization", "Bearer abc"]])
query("jwt-no-exp", "SHOW DATABASES", headers=[
    ["Authorization", "Bearer " + jwt({"username": "admin"})]])
query("jwt-expired", "SHOW DATABASES", headers=[
    ["Authorization", "Bearer " + jwt({"username": "admin", "exp": 1})]],
    note="the text carries how long ago the token expired")
query("jwt-no-username", "SHOW DATABASES", headers=[
    ["Authorization", "Bearer " + jwt({"exp": FAR_FUTURE_S})]])
query("jwt-empty-username", "SHOW DATABASES", headers=[
    ["Authorization", "Bearer " + jwt({"username": "", "exp": FAR_FUTURE_S})]])
query("jwt-unknown-user", "SHOW DATABASES", headers=[
    ["Authorization", "Bearer " + jwt({"username": "ghost", "exp": FAR_FUTURE_S})]])
query("jwt-alg-none", "SHOW DATABASES", headers=[
    ["Authorization", "Bearer " + jwt({"username": "admin", "exp": FAR_FUTURE_S}, alg="none")]])

# endpoints without credentials
get("ping/no-creds", "/ping")
get("ping/head-no-creds", "/ping")
get("debug-vars/no-creds", "/debug/vars")
get("debug-vars/reader", "/debug/vars?" + creds("reader", "pw"))
write("no-creds", "db1")
write("wrong-password", "db1", params="&" + creds("writer", "nope"))

# /write per privilege
for user in ["admin", "reader", "writer", "allu", "nobody"]:
    password = "adminpw" if user == "admin" else "pw"
    write("db1-" + user, "db1", params="&" + creds(user, password))
write("db2-writer", "db2", params="&" + creds("writer", "pw"))
write("missing-db-writer", "nodb", params="&" + creds("writer", "pw"))
write("no-db-writer", None, params=creds("writer", "pw"))
write("basic-writer", "db1", headers=[["Authorization", basic("writer:pw")]])
write("jwt-writer", "db1", headers=[
    ["Authorization", "Bearer " + jwt({"username": "writer", "exp": FAR_FUTURE_S})]])

# /query per privilege
for user in ["admin", "reader", "writer", "allu", "nobody"]:
    c = creds(user, "adminpw" if user == "admin" else "pw")
    query("select-" + user, "SELECT * FROM m", params="db=db1&" + c)
    query("show-databases-" + user, "SHOW DATABASES", params=c)
    query("show-measurements-" + user, "SHOW MEASUREMENTS", params="db=db1&" + c)
    query("create-database-" + user, "CREATE DATABASE db3", params=c)
    query("show-users-" + user, "SHOW USERS", params=c)

R = creds("reader", "pw")
W = creds("writer", "pw")
A = creds("allu", "pw")
query("select-other-db-reader", "SELECT * FROM db2..m", params="db=db1&" + R)
query("select-no-db-reader", "SELECT * FROM m", params=R)
query("select-two-dbs-reader", "SELECT * FROM m, db2..m", params="db=db1&" + R)
query("select-subquery-reader", "SELECT * FROM (SELECT * FROM db2..m)", params="db=db1&" + R)
query("select-into-allu", "SELECT * INTO db2..m2 FROM m", params="db=db1&" + A)
query("select-into-same-db-allu", "SELECT * INTO m2 FROM m", params="db=db1&" + A)
query("select-into-reader", "SELECT * INTO m2 FROM m", params="db=db1&" + R)
query("multi-statement-reader", "SELECT * FROM m; DROP DATABASE db1", params="db=db1&" + R)
query("parse-error-reader", "SELEC * FROM m", params="db=db1&" + R)
query("show-rp-reader", "SHOW RETENTION POLICIES ON db1", params=R)
query("show-rp-writer", "SHOW RETENTION POLICIES ON db1", params=W)
query("show-series-reader", "SHOW SERIES ON db1", params=R)
query("show-tag-keys-writer", "SHOW TAG KEYS", params="db=db1&" + W)
query("show-field-keys-reader", "SHOW FIELD KEYS ON db1", params=R)
query("delete-reader", "DELETE FROM m WHERE time < 0", params="db=db1&" + R)
query("delete-writer", "DELETE FROM m WHERE time < 0", params="db=db1&" + W)
query("drop-series-writer", "DROP SERIES FROM nothing", params="db=db1&" + W)
query("drop-measurement-allu", "DROP MEASUREMENT nothing", params="db=db1&" + A)
query("drop-database-allu", "DROP DATABASE db1", params=A)
query("create-rp-allu", "CREATE RETENTION POLICY r ON db1 DURATION 2h REPLICATION 1",
      params=A)
query("show-queries-reader", "SHOW QUERIES", params="db=db1&" + R)
query("show-cq-reader", "SHOW CONTINUOUS QUERIES", params="db=db1&" + R)
query("show-shards-reader", "SHOW SHARDS", params=R)
query("show-grants-self-reader", "SHOW GRANTS FOR reader", params=R)
query("create-user-allu", "CREATE USER x WITH PASSWORD 'secret'", params=A)
query("set-password-self-reader", "SET PASSWORD FOR reader = 'pw2'", params=R)
query("grant-allu", "GRANT ALL ON db2 TO allu", params=A)

# user management by the admin
query("show-users-admin-list", "SHOW USERS", params=ADMIN)
query("show-grants-reader", "SHOW GRANTS FOR reader", params=ADMIN)
query("show-grants-admin", "SHOW GRANTS FOR admin", params=ADMIN)
query("show-grants-ghost", "SHOW GRANTS FOR ghost", params=ADMIN)
query("create-user-exists-other-password", "CREATE USER reader WITH PASSWORD 'other'",
      params=ADMIN)
query("create-user-exists-same-password", "CREATE USER reader WITH PASSWORD 'pw'",
      params=ADMIN)
query("drop-user-ghost", "DROP USER ghost", params=ADMIN)
query("set-password-ghost", "SET PASSWORD FOR ghost = 'x'", params=ADMIN)
query("grant-missing-db", "GRANT READ ON nodb TO reader", params=ADMIN)
query("grant-ghost", "GRANT READ ON db1 TO ghost", params=ADMIN)
query("revoke-read-reader", "REVOKE READ ON db1 FROM reader", params=ADMIN)
query("select-after-revoke-reader", "SELECT * FROM m", params="db=db1&" + R)
query("show-grants-after-revoke", "SHOW GRANTS FOR reader", params=ADMIN)
query("grant-read-again", "GRANT READ ON db1 TO reader", params=ADMIN)
query("select-after-grant-reader", "SELECT * FROM m", params="db=db1&" + R)
query("set-password-reader", "SET PASSWORD FOR reader = 'pw2'", params=ADMIN)
query("old-password-reader", "SHOW DATABASES", params=R)
query("new-password-reader", "SHOW DATABASES", params=creds("reader", "pw2"))
query("grant-admin-reader", "GRANT ALL PRIVILEGES TO reader", params=ADMIN)
query("show-users-after-grant-admin", "SHOW USERS", params=ADMIN)
query("create-database-as-new-admin", "CREATE DATABASE db3", params=creds("reader", "pw2"))
query("revoke-admin-reader", "REVOKE ALL PRIVILEGES FROM reader", params=ADMIN)
query("create-database-after-revoke-admin", "DROP DATABASE db3", params=creds("reader", "pw2"))
query("drop-user-writer", "DROP USER writer", params=ADMIN)
write("dropped-user", "db1", params="&" + W)
query("create-user-redacted-get", "CREATE USER viaget WITH PASSWORD 'secret'",
      params=ADMIN, method="GET")
query("drop-database-grants-kept", "DROP DATABASE db2", params=ADMIN)
query("show-grants-allu-after-drop", "SHOW GRANTS FOR allu", params=ADMIN)
# no admin left (other users remain): nothing is authenticated, everything refused
query("drop-user-admin", "DROP USER admin", params=ADMIN)
query("no-admin-show-databases", "SHOW DATABASES", params=ADMIN)
query("no-admin-no-creds", "SHOW DATABASES")
query("no-admin-create-admin", "CREATE USER admin2 WITH PASSWORD 'pw' WITH ALL PRIVILEGES")
write("no-admin-write", "db1", params="&" + A)
write("no-admin-write-no-creds", "db1")
