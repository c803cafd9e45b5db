#!/usr/bin/env python3
"""Records tests/golden/opentsdb/{telnet,http}.jsonl from a running influxd 1.6.7 (see README.md).

Usage: python3 record.py telnet telnet.jsonl | python3 record.py http http.jsonl"""
import base64, gzip, json, socket, sys, time, urllib.parse, urllib.request
def telnet(lines, wait=0.5):
    s=socket.create_connection(("127.0.0.1",14242))
    for l in lines:
        s.sendall(l if isinstance(l,bytes) else l.encode())
    s.settimeout(wait); out=b""
    try:
        while True:
            d=s.recv(65536)
            if not d: out+=b"<EOF>"; break
            out+=d
    except socket.timeout: out+=b"<open>"
    s.close(); return out
def http(raw, wait=0.5):
    s=socket.create_connection(("127.0.0.1",14242)); s.sendall(raw); s.settimeout(wait)
    out=b""
    try:
        while True:
            d=s.recv(65536)
            if not d: break
            out+=d
    except socket.timeout: pass
    s.close(); return out
def post(body, path="/api/put", method="POST", extra=b""):
    if isinstance(body,str): body=body.encode()
    return http(method.encode()+b" "+path.encode()+b" HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"%len(body)+extra+b"Connection: close\r\n\r\n"+body)
Q="http://127.0.0.1:18986/query"
def query(q, db="opentsdb"):
    url=Q+"?"+urllib.parse.urlencode({"db":db,"q":q,"epoch":"ns"})
    return json.loads(urllib.request.urlopen(url).read())
def points():
    r=query("SELECT * FROM /.*/ GROUP BY *")["results"][0]
    out=[]
    for s in r.get("series",[]):
        tags={k:v for k,v in (s.get("tags") or {}).items() if v!=""}
        for row in s["values"]:
            d=dict(zip(s["columns"],row))
            v=d["value"]
            out.append({"measurement":s.get("name",""),"tags":tags,"value":repr(float(v)) if v is not None else None,"time_ns":d["time"]})
    return out
def clear():
    try: query("DROP SERIES FROM /.*/")
    except Exception as e: pass
def enc(s):
    b=s if isinstance(s,bytes) else s.encode()
    try: return {"text": b.decode("utf-8")}
    except UnicodeDecodeError: return {"base64": base64.b64encode(b).decode()}

def record_telnet(path):
    cases = [
     ("int_value_is_float", ["put t 1356998400 42 host=a"]),
     ("float_value", ["put t 1356998400 42.5"]),
     ("ms_timestamp_scaled_as_microseconds", ["put t 1356998400123 1"]),
     ("ms_timestamp_zero_ms", ["put t 1356998400000 1"]),
     ("negative_seconds_10_chars", ["put t -123456789 1"]),
     ("negative_ms_13_chars", ["put t -123456789012 1"]),
     ("timestamp_9_chars_dropped", ["put t 123456789 1"]),
     ("timestamp_11_chars_dropped", ["put t 13569984000 1"]),
     ("timestamp_14_chars_dropped", ["put t 13569984000000 1"]),
     ("timestamp_10_chars_not_a_number_is_epoch", ["put t abcdefghij 1"]),
     ("timestamp_13_chars_not_a_number_is_epoch", ["put t 1356998400abc 1"]),
     ("timestamp_plus_sign", ["put t +123456789 1"]),
     ("timestamp_zeros", ["put t 0000000000 1"]),
     ("timestamp_ms_one", ["put t 0000000000001 1"]),
     ("timestamp_seconds_out_of_range_dropped", ["put t 9999999999 1"]),
     ("timestamp_seconds_max_in_range", ["put t 9223372036 1"]),
     ("timestamp_seconds_just_out_of_range", ["put t 9223372037 1"]),
     ("timestamp_ms_out_of_range", ["put t 9999999999999 1"]),
     ("too_few_fields", ["put t 1356998400"]),
     ("put_alone", ["put"]),
     ("uppercase_put_ignored", ["PUT t 1356998400 1"]),
     ("unknown_command", ["stats"]),
     ("blank_line", [""]),
     ("tabs_separate", ["put\tt\t1356998400\t1\thost=a"]),
     ("leading_trailing_spaces", ["   put   t  1356998400   1   host=a   "]),
     ("crlf", [b"put t 1356998400 1 host=a\r\n"]),
     ("tag_without_equals_skipped", ["put t 1356998400 1 host a=b"]),
     ("tag_empty_key_skipped", ["put t 1356998400 1 =v a=b"]),
     ("tag_empty_value_skipped", ["put t 1356998400 1 k= a=b"]),
     ("tag_value_with_equals", ["put t 1356998400 1 a=b=c"]),
     ("duplicate_tag_last_wins", ["put t 1356998400 1 a=1 a=2"]),
     ("tags_sorted", ["put t 1356998400 1 zz=1 aa=2 mm=3"]),
     ("value_not_a_number_dropped", ["put t 1356998400 abc"]),
     ("value_nan_dropped", ["put t 1356998400 NaN"]),
     ("value_inf_dropped", ["put t 1356998400 +Inf"]),
     ("value_overflow_dropped", ["put t 1356998400 1e400"]),
     ("value_underflow_zero", ["put t 1356998400 1e-400"]),
     ("value_hex_float", ["put t 1356998400 0x1.8p1"]),
     ("value_hex_float_neg_exp", ["put t 1356998400 -0X1P-2"]),
     ("value_hex_no_exponent", ["put t 1356998400 0x10"]),
     ("value_underscore_decimal", ["put t 1356998400 1_000.5"]),
     ("value_underscore_hex", ["put t 1356998400 0x_1p0"]),
     ("value_negative_zero", ["put t 1356998400 -0"]),
     ("value_leading_dot", ["put t 1356998400 .5"]),
     ("value_trailing_dot", ["put t 1356998400 5."]),
     ("value_plus_sign", ["put t 1356998400 +7"]),
     ("value_exponent", ["put t 1356998400 4.25E2"]),
     ("value_huge_integer", ["put t 1356998400 123456789012345678901234567890"]),
     ("value_many_digits", ["put t 1356998400 0.1000000000000000055511151231257827"]),
     ("measurement_with_comma", ["put a,b 1356998400 1"]),
     ("measurement_with_equals_quote", ["put a=b\"c 1356998400 1"]),
     ("measurement_with_backslash", ["put a\\b 1356998400 1"]),
     ("measurement_hash", ["put #m 1356998400 1"]),
     ("tag_key_value_with_comma", ["put t 1356998400 1 k,1=v,1"]),
     ("tag_value_with_quote_backslash", ["put t 1356998400 1 k=v\"\\x"]),
     ("nbsp_separates_fields", ["put\u00a0t\u00a01356998400\u00a01\u00a0host=a"]),
     ("ideographic_space_separates", ["put\u3000t 1356998400 1"]),
     ("unicode_metric", ["put temp\u00e9rature 1356998400 1 lieu=caf\u00e9"]),
     ("tag_key_time", ["put t 1356998400 1 time=x a=b"]),
     ("metric_named_put", ["put put 1356998400 1"]),
     ("version_command", ["version"]),
     ("version_with_spaces", ["  version \t"]),
     ("version_crlf", [b"version\r\n"]),
     ("version_extra_arg_ignored", ["version x"]),
     ("version_uppercase_ignored", ["VERSION"]),
     ("two_lines", ["put t 1356998400 1 a=x", "put t 1356998401 2 a=x"]),
     ("bad_line_then_good", ["garbage here", "put t 1356998400 3"]),
     ("same_point_twice_last_wins", ["put t 1356998400 1", "put t 1356998400 2"]),
    ]
    out=open(path,"w")
    for name, lines in cases:
        clear()
        raw=[(l if isinstance(l,bytes) else (l+"\n").encode()) for l in lines]
        ans=telnet(raw, wait=0.3)
        time.sleep(1.2)
        pts=points()
        open_=ans.endswith(b"<open>")
        ans=ans[:-6] if open_ else ans[:-5]
        rec={"name":name,"lines":[enc(l) for l in raw],"answer":ans.decode(),"connection_open":open_,"points":pts}
        out.write(json.dumps(rec, ensure_ascii=False)+"\n"); out.flush()
        print(name, ans, pts)

def record_http(path):
    def obj(**kw): return json.dumps(kw)
    P=lambda m="h",ts=1356998400,v=1,**tags: {"metric":m,"timestamp":ts,"value":v,"tags":tags}
    cases = [
     ("single_object", "POST", "/api/put", {}, json.dumps(P(v=42,host="a"))),
     ("array_two", "POST", "/api/put", {}, json.dumps([P(v=1.5,host="a"),P(ts=1356998401,v=2,host="b")])),
     ("ms_timestamp_scaled_as_microseconds", "POST", "/api/put", {}, json.dumps(P(ts=1356998400123))),
     ("timestamp_10000000000_is_ms", "POST", "/api/put", {}, json.dumps(P(ts=10000000000))),
     ("timestamp_9999999999_seconds_out_of_range", "POST", "/api/put", {}, json.dumps(P(ts=9999999999))),
     ("timestamp_negative_seconds", "POST", "/api/put", {}, json.dumps(P(ts=-123456789012))),
     ("timestamp_negative_out_of_range", "POST", "/api/put", {}, json.dumps(P(ts=-10000000000))),
     ("timestamp_zero", "POST", "/api/put", {}, json.dumps(P(ts=0))),
     ("timestamp_missing", "POST", "/api/put", {}, '{"metric":"h","value":1}'),
     ("value_missing", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400}'),
     ("metric_missing", "POST", "/api/put", {}, '{"timestamp":1356998400,"value":1}'),
     ("tags_missing", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1}'),
     ("invalid_json_object", "POST", "/api/put", {}, '{'),
     ("invalid_json_array", "POST", "/api/put", {}, '['),
     ("leading_whitespace", "POST", "/api/put", {}, ' '+json.dumps(P())),
     ("empty_body", "POST", "/api/put", {}, ''),
     ("null_body", "POST", "/api/put", {}, 'null'),
     ("value_string", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":"42"}'),
     ("value_bool", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":true}'),
     ("value_overflow", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1e400}'),
     ("value_negative_zero", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":-0}'),
     ("value_exponent", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":4.25e2}'),
     ("value_null", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":null}'),
     ("timestamp_fraction", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400.5,"value":1}'),
     ("timestamp_exponent", "POST", "/api/put", {}, '{"metric":"h","timestamp":1e9,"value":1}'),
     ("timestamp_string", "POST", "/api/put", {}, '{"metric":"h","timestamp":"1356998400","value":1}'),
     ("timestamp_overflow", "POST", "/api/put", {}, '{"metric":"h","timestamp":99999999999999999999,"value":1}'),
     ("timestamp_null", "POST", "/api/put", {}, '{"metric":"h","timestamp":null,"value":1}'),
     ("timestamp_negative_zero", "POST", "/api/put", {}, '{"metric":"h","timestamp":-0,"value":1}'),
     ("metric_number", "POST", "/api/put", {}, '{"metric":5,"timestamp":1356998400,"value":1}'),
     ("metric_null", "POST", "/api/put", {}, '{"metric":null,"timestamp":1356998400,"value":1}'),
     ("tag_value_number", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"tags":{"a":1}}'),
     ("tag_value_null", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"tags":{"a":null,"b":"x"}}'),
     ("tag_value_empty", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"tags":{"a":"","b":"x"}}'),
     ("tag_key_empty", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"tags":{"":"v","b":"x"}}'),
     ("tags_null", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"tags":null}'),
     ("tags_array", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"tags":[]}'),
     ("tags_twice_merge", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"tags":{"a":"1"},"tags":{"b":"2"}}'),
     ("tags_then_null", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"tags":{"a":"1"},"tags":null}'),
     ("tag_duplicate_key", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"tags":{"a":"1","a":"2"}}'),
     ("value_twice_last_wins", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"value":2}'),
     ("keys_case_insensitive", "POST", "/api/put", {}, '{"METRIC":"h","TimeStamp":1356998400,"Value":3,"TAGS":{"Host":"A"}}'),
     ("key_long_s_folds", "POST", "/api/put", {}, '{"metric":"h","timeſtamp":1356998400,"value":3,"tagſ":{"a":"b"}}'),
     ("exact_key_then_folded", "POST", "/api/put", {}, '{"metric":"a","Metric":"b","timestamp":1356998400,"value":1}'),
     ("unknown_fields_ignored", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1,"extra":{"x":[1,2]}}'),
     ("trailing_garbage_ignored", "POST", "/api/put", {}, json.dumps(P())+' garbage'),
     ("array_with_number", "POST", "/api/put", {}, '[1]'),
     ("array_with_null", "POST", "/api/put", {}, '[null,'+json.dumps(P())+']'),
     ("empty_array", "POST", "/api/put", {}, '[]'),
     ("array_one_out_of_range", "POST", "/api/put", {}, json.dumps([P(ts=9999999999),P(m="ok")])),
     ("array_type_error_rejects_all", "POST", "/api/put", {}, '['+json.dumps(P(m="x"))+',{"metric":"y","value":"s"}]'),
     ("metric_empty_string", "POST", "/api/put", {}, '{"metric":"","timestamp":1356998400,"value":1}'),
     ("metric_with_space_comma", "POST", "/api/put", {}, json.dumps(P(m="a b,c",**{"k k":"v,v"}))),
     ("metric_unicode_escape", "POST", "/api/put", {}, '{"metric":"\\u0041\\u00e9","timestamp":1356998400,"value":1}'),
     ("metric_invalid_utf8", "POST", "/api/put", {}, b'{"metric":"a\xffb","timestamp":1356998400,"value":1}'),
     ("metric_newline", "POST", "/api/put", {}, '{"metric":"a\\nb","timestamp":1356998400,"value":1}'),
     ("tag_key_time", "POST", "/api/put", {}, '[{"metric":"h","timestamp":1356998400,"value":1,"tags":{"time":"x"}},'+json.dumps(P(m="ok"))+']'),
     ("value_large_integer", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":123456789012345678901234567890}'),
     ("value_precise_decimal", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":2.2250738585072011e-308}'),
     ("whitespace_inside", "POST", "/api/put", {}, '{ "metric" : "h" ,\n "timestamp" : 1356998400 , "value" : 1 }'),
     ("object_not_closed_after_fields", "POST", "/api/put", {}, '{"metric":"h","timestamp":1356998400,"value":1'),
     ("details_query", "POST", "/api/put?details", {}, json.dumps(P())),
     ("get_method", "GET", "/api/put", {}, ''),
     ("put_method", "PUT", "/api/put", {}, json.dumps(P())),
     ("wrong_path", "POST", "/api/other", {}, json.dumps(P())),
     ("trailing_slash_path", "POST", "/api/put/", {}, json.dumps(P())),
     ("metadata_put", "POST", "/api/metadata/put", {}, '{}'),
     ("metadata_put_get", "GET", "/api/metadata/put", {}, ''),
     ("gzip_body", "POST", "/api/put", {"Content-Encoding":"gzip"}, ("GZ", json.dumps(P(v=7)))),
     ("gzip_invalid", "POST", "/api/put", {"Content-Encoding":"gzip"}, 'not gzip'),
     ("gzip_uppercase_not_decoded", "POST", "/api/put", {"Content-Encoding":"GZIP"}, ("GZ", json.dumps(P(v=7)))),
     ("gzip_empty_payload", "POST", "/api/put", {"Content-Encoding":"gzip"}, ("GZ", "")),
     ("chunked", "POST", "/api/put", {"Transfer-Encoding":"chunked"}, ("CHUNK", json.dumps(P(v=9)))),
    ]
    out=open(path,"w")
    # database must exist for HTTP; created by a telnet put
    telnet([b"put init 1356998400 1\n"]); time.sleep(1.3)
    for name, method, path, headers, body in cases:
        clear()
        rec={"name":name,"method":method,"path":path,"headers":headers}
        extra=b""
        for k,v in headers.items():
            if k!="Transfer-Encoding": extra+=("%s: %s\r\n"%(k,v)).encode()
        if isinstance(body,tuple):
            mode,text=body
            rec["body"]=text; rec["body_encoding"]="gzip" if mode=="GZ" else "chunked"
            if mode=="GZ":
                b=gzip.compress(text.encode())
                raw=method.encode()+b" "+path.encode()+b" HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"%len(b)+extra+b"Connection: close\r\n\r\n"+b
            else:
                b=text.encode()
                raw=method.encode()+b" "+path.encode()+b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"+(b"%x\r\n"%len(b))+b+b"\r\n0\r\n\r\n"
        else:
            b=body if isinstance(body,bytes) else body.encode()
            rec.update({("body" if k=="text" else "body_base64"):v for k,v in enc(b).items()})
            raw=method.encode()+b" "+path.encode()+b" HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"%len(b)+extra+b"Connection: close\r\n\r\n"+b
        resp=http(raw, wait=1.0)
        head,_,rbody=resp.partition(b"\r\n\r\n")
        status=int(head.split(b" ")[1])
        ctype=[l.split(b": ",1)[1].decode() for l in head.split(b"\r\n") if l.lower().startswith(b"content-type")]
        rec["status"]=status; rec["response_body"]=rbody.decode("utf-8","replace"); rec["content_type"]=ctype[0] if ctype else None
        rec["points"]=points()
        out.write(json.dumps(rec, ensure_ascii=False)+"\n"); out.flush()
        print(name, status, rbody, rec["points"])

if __name__ == "__main__":
    {"telnet": record_telnet, "http": record_http}[sys.argv[1]](sys.argv[2])
