#!/bin/sh
# Measures `tally import-legacy` end to end: a throwaway PostgreSQL on a free loopback port holds a
# generated old-bot database (legacy-schema.sql), and the import reads it into a new data directory.
#
#   scripts/bench-import-legacy.sh [TALLY_BINARY] [GUILDS] [CHATTERS_PER_GUILD] [LEDGER_ROWS_PER_CHATTER]
#
# Prints the database size, the rows per table and the import's own summary (rows/s end to end).
# Everything (cluster, data directory) lives in one temporary directory, removed at the end.
set -eu
TALLY=${1:-.build/release/tally}
GUILDS=${2:-20}
CHATTERS=${3:-25000}
LEDGER=${4:-8}
SCHEMA=$(dirname "$0")/../Tests/LegacyTests/Fixtures/legacy-schema.sql

. "$(dirname "$0")/scratch-postgres.sh"
DIR=$(mktemp -d /tmp/tally-bench-pg.XXXXXX)
cleanup() {
    scratch_postgres_stop "$DIR"
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
scratch_postgres "$DIR" 'fsync = off\n'
BIN=$PG_BIN
PORT=$PG_PORT
PSQL="$BIN/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PORT -U postgres"
$PSQL -c "CREATE DATABASE old" postgres
$PSQL -f "$SCHEMA" old

echo "generating $GUILDS guilds x $CHATTERS chatters ($LEDGER ledger rows each)..."
$PSQL old <<SQL
INSERT INTO watchtime (username, minutes, last_active, discord_server_id)
  SELECT 'user' || c, (c * 7919) % 20000, now(), 1000 + g FROM generate_series(1, $GUILDS) g, generate_series(1, $CHATTERS) c;
INSERT INTO links (discord_id, kick_name, discord_server_id)
  SELECT 100000000 + c, 'user' || c, 1000 + g FROM generate_series(1, $GUILDS) g, generate_series(1, $CHATTERS, 5) c;
INSERT INTO user_points (kick_username, discord_id, points, total_earned, total_spent, discord_server_id)
  SELECT 'user' || c, NULL, (c * 7919) % 20000 / 5, (c * 7919) % 20000 / 5, 0, 1000 + g
  FROM generate_series(1, $GUILDS) g, generate_series(1, $CHATTERS) c;
INSERT INTO points_watchtime_converted (kick_username, minutes_converted, points_awarded, discord_server_id)
  SELECT 'user' || c, 5, 1, 1000 + g FROM generate_series(1, $GUILDS) g, generate_series(1, $CHATTERS) c,
  generate_series(1, $LEDGER) k;
INSERT INTO watchtime_roles (role_name, minutes_required, display_order, discord_server_id)
  SELECT 'Tier ' || t, t * 600, t, 1000 + g FROM generate_series(1, $GUILDS) g, generate_series(1, 3) t;
INSERT INTO point_settings (key, value, discord_server_id) SELECT 'points_per_5min', '1', 1000 + g FROM generate_series(1, $GUILDS) g;
INSERT INTO point_shop_items (name, price, discord_server_id) SELECT 'item ' || i, 100, 1000 + g FROM generate_series(1, $GUILDS) g, generate_series(1, 5) i;
INSERT INTO point_sales (item_id, kick_username, price_paid, status, discord_server_id)
  SELECT (SELECT min(id) FROM point_shop_items WHERE discord_server_id = 1000 + g), 'user' || c, 100, 'completed', 1000 + g
  FROM generate_series(1, $GUILDS) g, generate_series(1, $CHATTERS, 10) c;
INSERT INTO raffle_periods (discord_server_id, start_date, end_date, status, server_seed, server_seed_commitment)
  SELECT 1000 + g, now() - interval '5 days', now() + interval '25 days', 'active', 's', encode(sha256('s'), 'hex') FROM generate_series(1, $GUILDS) g;
INSERT INTO raffle_tickets (period_id, discord_server_id, discord_id, kick_name, watchtime_tickets, total_tickets)
  SELECT p.id, p.discord_server_id, 100000000 + c, 'user' || c, 10, 10
  FROM raffle_periods p, generate_series(1, $CHATTERS, 5) c;
INSERT INTO raffle_ticket_log (period_id, discord_id, kick_name, ticket_change, source)
  SELECT period_id, discord_id, kick_name, 10, 'watchtime' FROM raffle_tickets;
ANALYZE;
SQL
echo "database size: $($PSQL -t -A -c "SELECT pg_size_pretty(pg_database_size('old'))" old)"
$PSQL -t -A -F ' ' old -c "SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY 1"

echo "importing..."
START=$(date +%s.%N)
TIMER=""
[ -x /usr/bin/time ] && TIMER="/usr/bin/time -f tally-cpu:%U-user-%S-sys-%M-KB"
$TIMER "$TALLY" import-legacy --dsn "postgresql://postgres@127.0.0.1:$PORT/old?sslmode=disable" --data "$DIR/data" \
    --report "$DIR/report.json" --no-project 2>"$DIR/stderr" | tail -n 3
grep -h "rows/s\|tally-cpu" "$DIR/stderr" || true
END=$(date +%s.%N)
echo "wall clock (process start to exit): $(echo "$END - $START" | bc) s"
python3 - "$DIR/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
rows = sum(r["rows"].values())
ledgers = r["rows"].get("points_watchtime_converted", 0) + r["rows"].get("raffle_ticket_log", 0) + r["rows"].get("raffle_watchtime_converted", 0)
print(f"rows {rows:,} ({rows - ledgers:,} read row by row, {ledgers:,} ledger rows summed by PostgreSQL)")
print(f"read {r['readSeconds']:.2f} s, total {r['totalSeconds']:.2f} s: {rows / r['totalSeconds']:,.0f} rows/s, "
      f"{(rows - ledgers) / r['totalSeconds']:,.0f} row-by-row rows/s")
print("events appended:", sum(g["events"] for g in r["guilds"]), "statuses:", sorted({g["status"] for g in r["guilds"]}))
PY
