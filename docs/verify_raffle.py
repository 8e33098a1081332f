#!/usr/bin/env python3
"""Recompute a Tally raffle period's draws without Tally (standard library only).

Usage:
    verify_raffle.py PERIOD.json [--beacon HEX]

PERIOD.json is what GET /v1/guilds/{guild}/raffle/periods/{period} returned. --beacon is the
drand randomness of the period's round as you fetched it yourself, for example from
https://api.drand.sh/8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce/public/ROUND
(without it the value in the JSON is used). The algorithm is docs/raffle-verification.md.
Prints one line per check and exits 0 when everything matches, 1 when anything does not.
"""
import hashlib
import json
import sys

U64 = 1 << 64


def be64(value):
    return (value % U64).to_bytes(8, "big")


def person_bytes(person):
    kind, _, ident = person.partition(":")
    if kind not in ("discord", "kick") or not ident.isdigit():
        raise ValueError("bad person " + person)
    return bytes([0 if kind == "discord" else 1]) + be64(int(ident))


def table_digest(table):
    h = hashlib.sha256()
    for e in table:
        h.update(person_bytes(e["person"]))
        for source in ("watchtime", "gifted_sub", "shop", "admin"):
            h.update(be64(e[source]))
        h.update(bytes([1 if e["excluded"] else 0]))
    return h.hexdigest()


def first_round_after(ends_at_ms, genesis, period_seconds):
    if ends_at_ms < genesis * 1000:
        return 1
    return (ends_at_ms - genesis * 1000) // (period_seconds * 1000) + 2


def draw(guild, period, number, server_seed, beacon, table, earlier_winners):
    participants = [
        (e["person"], e["watchtime"] + e["gifted_sub"] + e["shop"] + e["admin"])
        for e in table
        if not e["excluded"] and e["person"] not in earlier_winners
    ]
    total = sum(t for _, t in participants)
    if total <= 0:
        return None
    seed = hashlib.sha256(server_seed + beacon).digest()
    prefix = seed + b"tally-raffle-v2" + be64(guild) + be64(period) + be64(number)
    limit = U64 - (U64 % total)  # values at or above it are redrawn: no modulo bias
    attempt = 0
    while True:
        value = int.from_bytes(hashlib.sha256(prefix + be64(attempt)).digest()[:8], "big")
        attempt += 1
        if value < limit:
            break
    ticket = value % total
    start = 0
    for person, tickets in participants:
        if ticket < start + tickets:
            return {"winner": person, "winning_ticket": ticket, "total_tickets": total,
                    "participants": len(participants)}
        start += tickets
    raise AssertionError("unreachable")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    with open(argv[1]) as f:
        record = json.load(f)
    beacon_hex = record["beacon"]["randomness"]
    if "--beacon" in argv:
        given = argv[argv.index("--beacon") + 1].lower()
        if beacon_hex is not None and beacon_hex != given:
            print("FAIL beacon: the period records %s, drand says %s" % (beacon_hex, given))
            return 1
        beacon_hex = given
    ok = True

    def check(name, good, detail=""):
        nonlocal ok
        ok = ok and good
        print(("ok   " if good else "FAIL ") + name + (": " + detail if detail else ""))

    if not record["closed"] or record["server_seed"] is None or record["table"] is None:
        print("FAIL the period is not closed: nothing to verify yet")
        return 1
    server_seed = bytes.fromhex(record["server_seed"])
    check("server seed matches the commitment published at open",
          hashlib.sha256(server_seed).hexdigest() == record["seed_commitment"])
    check("table digest", table_digest(record["table"]) == record["table_digest"])
    b = record["beacon"]
    expected_round = first_round_after(record["ends_at"], b["genesis"], b["period_seconds"])
    check("beacon round is the first after the period's end", b["round"] == expected_round,
          "round %d, expected %d" % (b["round"], expected_round))
    if beacon_hex is None:
        print("FAIL no beacon value: pass --beacon with drand's randomness for round %d" % b["round"])
        return 1
    beacon = bytes.fromhex(beacon_hex)
    guild, period = int(record["guild"]), int(record["period"])
    winners = set()
    for d in sorted(record["draws"], key=lambda d: d["number"]):
        if d["algorithm"] != "tally-raffle-v2":
            print("skip draw %d: logged before beacons (%s)" % (d["number"], d["algorithm"]))
            winners.add(d["winner"])
            continue
        again = draw(guild, period, d["number"], server_seed, beacon, record["table"], winners)
        announced = {k: d[k] for k in ("winner", "winning_ticket", "total_tickets", "participants")}
        label = "draw %d%s" % (d["number"], " (reroll of %d: %s)" % (d["replaces"], d["reason"])
                                if d["replaces"] else "")
        check(label, again == announced, "recomputed %s, announced %s" % (again, announced))
        winners.add(d["winner"])
    print("VERIFIED" if ok else "NOT VERIFIED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
