#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into Fuzz/Seeds/<target>/ (committed; rerun after a format change).

- FuzzEventCodec: every golden payload (Tests/DomainTests/Golden/*.hex) behind its type tag and version.
- FuzzBatchDecoder, FuzzSegmentScanner: batches, segments and indexes of a `tally simulate` history.
- FuzzSnapshot: snapshots a `tally serve --demo` writes when it stops.
- FuzzCommandJSON: one command body per command type, and a few sequences.
Needs the debug `tally` (swift build).
"""
import hashlib, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tally = os.path.join(root, ".build", "debug", "tally")
seeds = os.path.join(root, "Fuzz", "Seeds")


def put(target, data, name=None):
    d = os.path.join(seeds, target)
    os.makedirs(d, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def event_codec():
    source = open(os.path.join(root, "Sources/Domain/Codec/EventCodec.swift")).read()
    tags = {name: int(tag) for tag, name in re.findall(r'^\s*(\d+): "([a-z_]+)",$', source, re.M)}
    golden = os.path.join(root, "Tests/DomainTests/Golden")
    for file in sorted(os.listdir(golden)):
        name, version, _ = file.rsplit(".", 2)
        payload = bytes.fromhex(open(os.path.join(golden, file)).read().strip())
        tag = tags[name]
        put("FuzzEventCodec", bytes([tag & 0xFF, tag >> 8, int(version[1:])]) + payload, file)


def batches(segment):
    out, pos = [], 0
    while pos + 64 <= len(segment):
        stored = int.from_bytes(segment[pos + 32:pos + 36], "little")
        out.append(segment[pos:pos + 64 + stored])
        pos += 64 + stored
    return out


def logs(work, name):
    """Batch, segment and index seeds from partition 0 of a data directory."""
    partition = os.path.join(work, "partitions", "p00000")
    segment = open(os.path.join(partition, "00000000000000000000.log"), "rb").read()
    index = open(os.path.join(partition, "00000000000000000000.index"), "rb").read()
    found = batches(segment)
    for b in found[:8] + found[-2:]:
        put("FuzzBatchDecoder", b"\x00" + b)
        put("FuzzBatchDecoder", b"\x01" + b)
    put("FuzzSegmentScanner", b"\x00" + b"".join(found[:6]), f"{name}-segment-head")
    put("FuzzSegmentScanner", b"\x00" + b"".join(found[:5]) + found[5 % len(found)][:40], f"{name}-segment-torn")
    put("FuzzSegmentScanner", b"\x02" + index[:16 + 6 * 80], f"{name}-index-head")


def simulated(work):
    subprocess.run([tally, "simulate", work, "--guilds", "4", "--commands", "600", "--partitions", "2",
                    "--no-project"], check=True, stdout=subprocess.DEVNULL)
    logs(work, "simulate")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def snapshots(work):
    env = dict(os.environ, TALLY_OPERATOR_TOKEN="seed")
    p = subprocess.Popen([tally, "serve", "--data", work, "--port", str(free_port()), "--partitions", "1", "--demo"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    directory = os.path.join(work, "partitions", "p00000", "snapshots")
    files = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
    if not files:
        sys.exit("tally serve --demo wrote no snapshot")
    for file in files[-2:]:
        data = open(os.path.join(directory, file), "rb").read()
        put("FuzzSnapshot", b"\x00" + data, file)
    logs(work, "serve")


COMMANDS = [
    {"type": "set_setting", "setting": "points_per_5min", "value": 3},
    {"type": "set_stream_status", "live": True},
    {"type": "override_tracking", "mode": "forced_on"},
    {"type": "record_chat_activity", "kick_user_id": 4242001, "username": "mizuro"},
    {"type": "tick"},
    {"type": "set_role_threshold", "role_id": "1100000000000000201", "name": "Regular", "minutes": 60},
    {"type": "remove_role_threshold", "role_id": "1100000000000000201"},
    {"type": "record_role_delivery", "user_id": "1100000000000000001", "role_id": "1100000000000000201",
     "granted": True, "outcome": "delivered"},
    {"type": "spend_points", "person": "kick:4242001", "amount": 5, "reason": "shoutout"},
    {"type": "adjust_points", "person": "1100000000000000001", "delta": 500, "reason": "bonus"},
    {"type": "record_subscription", "kick_user_id": 4242001, "expires_at": 1900000000000},
    {"type": "create_shop_item", "name": "VIP", "price": 10, "stock": 5, "per_person_limit": 1,
     "limit_window_seconds": 86400, "requirement_prompt": "Your name?"},
    {"type": "create_shop_item", "name": "Ticket", "price": 2, "raffle_tickets": 3},
    {"type": "edit_shop_item", "item_id": 1, "name": "VIP", "price": 12},
    {"type": "restock_shop_item", "item_id": 1, "stock": 9},
    {"type": "deactivate_shop_item", "item_id": 1},
    {"type": "purchase", "item_id": 1, "person": "1100000000000000001", "requirement": "Ann"},
    {"type": "fulfil_order", "order_id": 1},
    {"type": "cancel_order", "order_id": 1, "reason": "oops"},
    {"type": "reset_purchase_limit", "item_id": 1, "person": "1100000000000000001"},
    {"type": "open_raffle_period"},
    {"type": "open_raffle_period", "starts_at": 1764000000000, "ends_at": 1766000000000},
    {"type": "close_raffle_period"},
    {"type": "grant_tickets", "person": "1100000000000000001", "amount": 4, "reason": "event"},
    {"type": "remove_tickets", "person": "1100000000000000001", "amount": 1, "source": "admin", "reason": "x"},
    {"type": "set_raffle_exclusion", "person": "kick:4242001", "excluded": True},
    {"type": "draw_raffle", "winners": 2},
    {"type": "record_gifted_subs", "gifter_kick_user_id": 4242001, "username": "mizuro", "count": 5},
    {"type": "request_link", "user_id": "1100000000000000001"},
    {"type": "confirm_link", "user_id": "1100000000000000001", "kick_user_id": 4242001, "kick_username": "mizuro"},
    {"type": "reject_link", "user_id": "1100000000000000001", "kick_user_id": 4242001, "reason": "no"},
    {"type": "unlink", "user_id": "1100000000000000001"},
]

SEQUENCES = [
    ["set_stream_status", "record_chat_activity", "tick", "adjust_points", "create_shop_item", "purchase",
     "cancel_order"],
    ["adjust_points", "open_raffle_period", "grant_tickets", "create_shop_item", "purchase", "remove_tickets",
     "draw_raffle", "close_raffle_period"],
    ["record_chat_activity", "request_link", "confirm_link", "record_gifted_subs", "unlink"],
]


def command_json():
    for i, c in enumerate(COMMANDS):
        put("FuzzCommandJSON", json.dumps(dict(c, key=f"k{i}")).encode(), f"{i:02d}-{c['type']}")
    by_type = {}
    for c in COMMANDS:
        by_type.setdefault(c["type"], c)
    for n, seq in enumerate(SEQUENCES):
        lines = [json.dumps(dict(by_type[t], key=f"s{n}-{i}")) for i, t in enumerate(seq)]
        put("FuzzCommandJSON", "\n".join(lines).encode(), f"sequence-{n}")


if __name__ == "__main__":
    if not os.access(tally, os.X_OK):
        sys.exit(f"build tally first (swift build): {tally}")
    shutil.rmtree(seeds, ignore_errors=True)
    event_codec()
    command_json()
    with tempfile.TemporaryDirectory() as work:
        simulated(os.path.join(work, "sim"))
        snapshots(os.path.join(work, "serve"))
    for target in sorted(os.listdir(seeds)):
        print(target, len(os.listdir(os.path.join(seeds, target))), "seeds")
