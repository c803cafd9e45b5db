"""Regenerates cases.jsonl from a running influxd 1.6.7 (see README.md for its config)."""
import json
import struct
import sys
import warnings

warnings.filterwarnings("ignore")
from collectd_packets import *  # noqa: E402,F403

PORTS = {
    ("none", "split", "standard"): (25926, "c_split"),
    ("none", "join", "standard"): (25927, "c_join"),
    ("sign", "split", "standard"): (25928, "c_sign"),
    ("encrypt", "split", "standard"): (25929, "c_encrypt"),
    ("none", "split", "custom"): (25930, "c_custom"),
    ("none", "join", "custom"): (25931, "c_customjoin"),
    ("sign", "join", "standard"): (25932, "c_signjoin"),
}

NAN, INF = float("nan"), float("inf")
ID = identity()
BODY = identity() + values((DERIVE, 42))
OTHER = identity(type_instance="system") + values((DERIVE, 7))


def S(body, user="alice", password="w0nderl4nd"):
    return sign(body, user, password)


def E(body, user="alice", password="w0nderl4nd"):
    return encrypt(body, user, password)


def padded(total, tail):
    """A datagram of `total` bytes: a long host part, then `tail`."""
    return string(HOST, "h" * (total - len(tail) - 5)) + tail


CASES = []


def case(name, datagram, security="none", multivalue="split", typesdb="standard"):
    CASES.append((name, datagram, security, multivalue, typesdb))


# --- plain value lists, standard types.db, split -------------------------------------------
case("derive_single", BODY)
case("gauge_memory", identity(plugin="memory", plugin_instance="", type_="memory",
                              type_instance="used") + values((GAUGE, 123456789.5)))
case("counter_type", identity(type_="counter") + values((COUNTER, 99)))
case("load_three_gauges", identity(plugin="load", plugin_instance="", type_="load",
                                   type_instance="") + values((GAUGE, 0.5), (GAUGE, 0.25), (GAUGE, 1e-7)))
case("if_octets_two_derives", identity(plugin="interface", plugin_instance="eth0",
                                       type_="if_octets", type_instance="") + values((DERIVE, 1000), (DERIVE, 2000)))
case("df_two_gauges", identity(plugin="df", plugin_instance="root", type_="df", type_instance="")
     + values((GAUGE, 1.5e9), (GAUGE, 2.5e9)))
case("time_hr_fraction", identity(seconds=None) + number(TIME_HR, (1500000000 << 30) + 123456789)
     + values((DERIVE, 1)))
case("time_hr_rounds_down_at_top", identity(seconds=None)
     + number(TIME_HR, (1500000000 << 30) + (1 << 30) - 1) + values((DERIVE, 1)))
case("time_hr_half_unit", identity(seconds=None) + number(TIME_HR, (1600000000 << 30) + 1)
     + values((DERIVE, 1)))
case("time_zero", identity(seconds=0) + values((DERIVE, 1)))
case("no_time_part_not_stored", identity(seconds=None) + values((DERIVE, 1)))
case("time_out_of_range_not_stored", identity(seconds=9223372037) + values((DERIVE, 1)))
case("time_max_seconds_in_range", identity(seconds=9223372036) + values((DERIVE, 1)))
case("time_negative_in_range", identity(seconds=-1000) + values((DERIVE, 1)))
case("identity_carried", BODY + string(TYPE_INSTANCE, "idle") + values((DERIVE, 3))
     + string(PLUGIN_INSTANCE, "1") + values((DERIVE, 4)))
case("time_changes_between_lists", BODY + number(TIME, 1500000001) + values((DERIVE, 43)))
case("empty_strings_omit_tags", identity(host="", plugin_instance="", type_instance="")
     + values((DERIVE, 5)))
case("empty_plugin_name", identity(plugin="") + values((DERIVE, 5)))
case("unknown_type_skipped", BODY + string(TYPE, "nosuchtype") + values((DERIVE, 1)) + OTHER)
case("value_count_mismatch_skipped", BODY + values((DERIVE, 1), (DERIVE, 2)) + OTHER)
case("zero_values_skipped", BODY + part(VALUES, b"\x00\x00") + OTHER)
case("absolute_kind_rejects_packet", BODY + part(VALUES, b"\x00\x01\x03" + bytes(8)) + OTHER)
case("unknown_kind_rejects_packet", BODY + part(VALUES, b"\x00\x01\x07" + bytes(8)))
case("part_length_below_five_rejects", BODY + b"\x00\x00\x00\x04")
case("part_length_past_end_rejects", BODY + b"\x00\x00\x00\x10abc")
case("trailing_byte_rejects", BODY + b"\x00")
case("string_without_nul_rejects", BODY + part(HOST, b"abc") + OTHER)
case("time_part_wrong_size_rejects", BODY + part(TIME, b"\x00" * 7) + OTHER)
case("values_length_mismatch_rejects", BODY + part(VALUES, b"\x00\x02\x02\x02" + bytes(8)))
case("values_one_byte_rejects", BODY + part(VALUES, b"\x00"))
case("message_severity_unknown_ignored", BODY + part(MESSAGE, b"hello\0")
     + number(SEVERITY, 4) + part(0x7777, b"x") + OTHER)
case("interval_parts_ignored", number(INTERVAL, 10) + number(INTERVAL_HR, 10 << 30) + BODY)
case("interval_wrong_size_rejects", BODY + part(INTERVAL, b"\x00"))
case("nan_gauge_dropped", identity(type_="memory") + values((GAUGE, NAN)) + OTHER)
case("inf_gauge_dropped", identity(type_="memory") + values((GAUGE, INF)) + OTHER)
case("gauge_cast_to_derive", identity(type_instance="a") + values((GAUGE, 3.7))
     + identity(type_instance="b") + values((GAUGE, -3.7))
     + identity(type_instance="c") + values((GAUGE, NAN))
     + identity(type_instance="d") + values((GAUGE, 1e19)))
case("derive_cast_to_counter_and_gauge", identity(type_="counter") + values((DERIVE, -5))
     + identity(type_="gauge") + values((DERIVE, -5)))
case("counter_cast_to_derive", identity() + values((COUNTER, (1 << 64) - 1))
     + identity(type_="gauge") + values((COUNTER, (1 << 64) - 1)))
case("gauge_cast_to_counter", identity(type_="counter", type_instance="a") + values((GAUGE, 1e30))
     + identity(type_="counter", type_instance="b") + values((GAUGE, -2.5))
     + identity(type_="counter", type_instance="c") + values((GAUGE, 1e19))
     + identity(type_="counter", type_instance="d") + values((GAUGE, NAN))
     + identity(type_="counter", type_instance="e") + values((GAUGE, -1e30)))
case("extreme_numbers", identity(type_instance="a") + values((DERIVE, -(1 << 63)))
     + identity(type_="memory", type_instance="b") + values((GAUGE, 5e-324))
     + identity(type_="memory", type_instance="c") + values((GAUGE, -0.0))
     + identity(type_="memory", type_instance="d") + values((GAUGE, 1.7976931348623157e308)))
case("escaped_names", identity(host="my host,x=1", plugin="cpu load", type_instance='a=b"c')
     + values((DERIVE, 1)))
case("backslash_in_plugin", identity(plugin="p\\") + values((DERIVE, 1)))
case("newline_in_host", identity(host="a\nb") + values((DERIVE, 1)) + OTHER)
case("utf8_names", identity(host="höst", plugin="plügin", type_instance="ü") + values((DERIVE, 1)))
case("datagram_1452_bytes", padded(1452, identity(host=None) + values((DERIVE, 1))))
case("datagram_1453_bytes_cut", padded(1453, identity(host=None) + values((DERIVE, 1))))
first = padded(1452, identity(host=None) + values((DERIVE, 1)))
case("datagram_cut_at_part_boundary", first + OTHER)

# --- security -------------------------------------------------------------------------------
case("none_accepts_signed", S(BODY))
case("none_accepts_encrypted", E(BODY))
case("none_rejects_bad_signature", S(BODY, password="wrong"))
case("none_rejects_bad_encryption", E(BODY, password="wrong"))
case("none_identity_before_signature", string(HOST, "outer") + S(identity(host=None) + values((DERIVE, 9))))
case("sign_drops_unsigned", BODY, security="sign")
case("sign_accepts_signed", S(BODY), security="sign")
case("sign_accepts_encrypted", E(BODY), security="sign")
case("sign_keeps_only_signed_part", OTHER + S(BODY), security="sign")
case("sign_unknown_user_rejects", S(BODY, user="nobody"), security="sign")
case("sign_commented_user_rejects", S(BODY, user="#dave", password="hidden"), security="sign")
case("sign_last_line_without_newline_rejects", S(BODY, user="last", password="noeol"), security="sign")
case("sign_trimmed_password", S(BODY, user="carol", password="spaced pass"), security="sign")
case("sign_password_with_colon", S(BODY, user="eve", password="colon:inside"), security="sign")
case("sign_empty_user_rejects", S(BODY, user="", password="x"), security="sign")
case("sign_bad_body_rejects", S(BODY + b"\x00"), security="sign")
case("encrypt_drops_signed", S(BODY), security="encrypt")
case("encrypt_accepts_encrypted", E(BODY + OTHER), security="encrypt")
case("encrypt_wrong_password_rejects", E(BODY, password="wrong"), security="encrypt")
case("encrypt_keeps_only_encrypted_part", E(BODY) + OTHER, security="encrypt")
case("encrypt_inside_signature", S(E(BODY)), security="encrypt")
case("encrypt_signature_inside_downgrades", E(S(BODY)), security="encrypt")
case("encrypt_user_length_too_big_rejects",
     part(ENCRYPT_AES256, struct.pack(">H", 200) + b"alice" + bytes(40)), security="encrypt")
case("encrypt_bob", E(BODY, user="bob", password="bu1|der"), security="encrypt")
case("sign_join", S(identity(type_="if_octets") + values((DERIVE, 1), (DERIVE, 2))),
     security="sign", multivalue="join")

# --- join -----------------------------------------------------------------------------------
case("join_if_octets", identity(plugin="interface", plugin_instance="eth0", type_="if_octets",
                                type_instance="") + values((DERIVE, 1000), (DERIVE, 2000)), multivalue="join")
case("join_load", identity(plugin="load", plugin_instance="", type_="load", type_instance="")
     + values((GAUGE, 0.5), (GAUGE, 0.25), (GAUGE, 0.125)), multivalue="join")
case("join_nan_drops_point", identity(plugin="load", type_="load") + values((GAUGE, 0.5), (GAUGE, NAN), (GAUGE, 1))
     + OTHER, multivalue="join")
case("join_single_value", identity(plugin="memory", plugin_instance="", type_="memory",
                                   type_instance="free") + values((GAUGE, 42.5)), multivalue="join")
case("join_empty_plugin", identity(plugin="") + values((DERIVE, 1)) + OTHER, multivalue="join")
case("join_escaped", identity(host="a b", plugin="x,y") + values((DERIVE, 1)), multivalue="join")

# --- custom types.db ------------------------------------------------------------------------
for multivalue in ("split", "join"):
    def c(name, datagram):
        case(f"custom_{multivalue}_{name}", datagram, multivalue=multivalue, typesdb="custom")
    c("mytype", identity(type_="mytype") + values((GAUGE, 1.5), (COUNTER, 2), (DERIVE, -3)))
    c("load_overridden", identity(plugin="load", type_="load") + values((GAUGE, 0.75)))
    c("glued_sources_unknown", identity(type_="weird") + values((GAUGE, 1), (GAUGE, 2)) + identity(type_="mytype") + values((GAUGE, 1), (GAUGE, 2), (GAUGE, 3)))
    c("no_sources", identity(type_="empty") + part(VALUES, b"\x00\x00") + identity(type_="trail") + values((DERIVE, 1)))
    c("time_source", identity(type_="timey") + values((GAUGE, 1), (GAUGE, 2)))
    c("duplicate_sources", identity(type_="dup") + values((GAUGE, 1), (GAUGE, 2), (GAUGE, 3)))
    c("bounds", identity(type_="infmin") + values((GAUGE, 1)) + identity(type_="bigmin") + values((GAUGE, 2))
      + identity(type_="lower") + values((GAUGE, 3)) + identity(type_="spacey") + values((GAUGE, 4), (GAUGE, 5)))
    c("bounds_go_float_syntax", identity(type_="hexmin") + values((GAUGE, 1)) + identity(type_="undermin")
      + values((GAUGE, 2)) + identity(type_="signednan") + values((GAUGE, 3)))
    c("standard_type_missing", identity(type_="cpu") + values((DERIVE, 1)) + identity(type_="bad") + values((GAUGE, 1)))

# --- datagrams captured from a real collectd 5.12 daemon (daemon_capture/) -------------------
CAPTURE_RUNS = {
    "plain": [("none", "split"), ("none", "join"), ("sign", "split")],
    "sign": [("sign", "split"), ("sign", "join"), ("none", "split"), ("encrypt", "split")],
    "encrypt": [("encrypt", "split"), ("none", "split"), ("sign", "join")],
}
for run, configs in CAPTURE_RUNS.items():
    with open(f"daemon_capture/{run}.json") as capture:
        datagrams = [bytes.fromhex(h) for h in json.load(capture)]
    for index, datagram in enumerate(datagrams):
        for security, multivalue in configs:
            case(f"daemon_{run}_{index}_{security}_{multivalue}", datagram, security=security,
                 multivalue=multivalue)


def main():
    only = set(sys.argv[1:])
    with open("cases.jsonl", "w") as out:
        for name, datagram, security, multivalue, typesdb in CASES:
            if only and name not in only:
                continue
            port, db = PORTS[(security, multivalue, typesdb)]
            points = send_and_read(port, db, datagram, settle_s=0.12)
            record = {"name": name, "security": security, "multivalue": multivalue,
                      "typesdb": typesdb, "datagram_hex": datagram.hex(), "points": points}
            out.write(json.dumps(record, sort_keys=True) + "\n")
            print(name, len(points))


if __name__ == "__main__":
    main()
