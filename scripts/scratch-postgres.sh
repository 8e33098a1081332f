# Sourced by the benchmark scripts: a throwaway PostgreSQL cluster on a free loopback port.
#
#   . scripts/scratch-postgres.sh
#   scratch_postgres DIR [EXTRA_CONF_LINES]   # initdb into DIR/pg, start it; sets PG_BIN, PG_PORT, PG_AS
#   scratch_postgres_stop DIR                 # stop it (immediate)
#
# As root the server runs as the `postgres` user (PostgreSQL refuses root); trust authentication on
# loopback only.
scratch_postgres() {
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$PG_BIN" ] || PG_BIN=$(dirname "$(command -v initdb)")
    [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)"; exit 1; }
    PG_AS=""
    if [ "$(id -u)" = 0 ]; then PG_AS="runuser -u postgres --"; chown postgres "$1"; fi
    PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    $PG_AS "$PG_BIN/initdb" -D "$1/pg" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
    printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n%b" "$PG_PORT" "$1" "${2:-}" \
        | $PG_AS tee -a "$1/pg/postgresql.conf" >/dev/null
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | $PG_AS tee "$1/pg/pg_hba.conf" >/dev/null
    $PG_AS "$PG_BIN/pg_ctl" -D "$1/pg" -l "$1/pg.log" -w start >/dev/null
}

scratch_postgres_stop() {
    [ -n "${PG_BIN:-}" ] && $PG_AS "$PG_BIN/pg_ctl" -D "$1/pg" stop -m immediate >/dev/null 2>&1 || true
}
