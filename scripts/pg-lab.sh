#!/usr/bin/env bash
# A real PostgreSQL fleet on loopback, with fleetdeck serving it.
#
#   eval "$(scripts/pg-lab.sh up DIR)"   # then: fleetdeck
#   scripts/pg-lab.sh down DIR
#
# `up` builds, from the installed server binaries, two primaries (pg-lab-a with a
# streaming replica pg-lab-a-replica, and pg-lab-b), data checksums on, WAL archived
# into a pgBackRest repository with a full backup of each, some data; writes a fleet
# config for the postgres executor (its patch and rollback commands restart the server
# on the installed binaries) and a token; starts `fleetdeck serve` in the background
# (pid and log in DIR); and prints, as its last two lines on stdout, the exports that
# point the fleetdeck console at it. Everything else goes to stderr.
# `down` stops every process `up` started (and any drill copy below DIR) and removes DIR.
#
# The servers run as the `postgres` user when this runs as root (PostgreSQL refuses
# root). Environment: FLEETDECK_BIN (the fleetdeck binary; else target/release or
# target/debug of this checkout), FLEETDECK_PG_BIN (the server binaries; else
# /usr/lib/postgresql/15/bin).
set -Eeuo pipefail

PG_BIN=${FLEETDECK_PG_BIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MARK=.fleetdeck-pg-lab

say() { echo "pg-lab: $*" >&2; }
die() { say "$*"; exit 1; }

# Runs a server-side command as postgres when we are root.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- env HOME=/tmp "$@"
    else
        "$@"
    fi
}

# A loopback port nothing listens on.
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free loopback port found"
}

fleetdeck_bin() {
    if [ -n "${FLEETDECK_BIN:-}" ]; then
        [ -x "$FLEETDECK_BIN" ] || die "FLEETDECK_BIN=$FLEETDECK_BIN is not an executable"
        echo "$FLEETDECK_BIN"
        return
    fi
    for b in "$HERE/target/release/fleetdeck" "$HERE/target/debug/fleetdeck"; do
        if [ -x "$b" ]; then
            echo "$b"
            return
        fi
    done
    die "no fleetdeck binary: build it (cargo build --release) or set FLEETDECK_BIN"
}

check_tools() {
    [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
        die "PostgreSQL server binaries not found in $PG_BIN: install the postgresql package (Debian/Ubuntu: apt-get install postgresql), or set FLEETDECK_PG_BIN"
    command -v pgbackrest >/dev/null ||
        die "pgbackrest not found: install the pgbackrest package (Debian/Ubuntu: apt-get install pgbackrest)"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 ||
            die "running as root and there is no postgres user to run the servers as (the postgresql package creates it)"
    fi
}

# The lines appended to a server's postgresql.conf.
server_conf() { # id port stanza
    # cluster_name is the name a replica's WAL receiver gives its primary, which the
    # executor looks for in pg_stat_replication (the database id by default).
    cat <<EOF

# fleetdeck pg-lab
cluster_name = '$1'
port = $2
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR/s'
max_connections = 40
shared_buffers = 16MB
logging_collector = off
archive_mode = on
archive_command = 'pgbackrest --config=$DIR/backrest/pgbackrest.conf --stanza=$3 archive-push %p'
EOF
}

start_server() { # id
    as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/$1" -l "$DIR/log/$1.log" -w -t 60 start >&2
}

psql_on() { # port sql...
    local port=$1
    shift
    as_pg "$PG_BIN/psql" -h "$DIR/s" -p "$port" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@" >&2
}

database_toml() { # id role primary ring tier port
    local primary=""
    [ -n "$3" ] && primary="primary_id = \"$3\""
    cat <<EOF

[[database]]
id = "$1"
engine = "postgres"
engine_version = "$VERSION"
environment = "dev"
tier = $5
region = "loopback"
owner_team = "lab"
role = "$2"
$primary
ring = $4
host = "127.0.0.1"
tags = ["pg-lab"]
backup = { schedule = "pgBackRest full at lab start, WAL archived", retention_days = 7 }
[database.connection]
port = $6
EOF
}

up() {
    check_tools
    local fleetdeck
    fleetdeck=$(fleetdeck_bin)
    if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
        die "$DIR exists and is not empty"
    fi
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    touch "$DIR/$MARK"
    # A failure half-way leaves nothing running.
    trap 'say "failed; cleaning up"; down_dir >&2 || true' ERR
    mkdir -p "$DIR/pg" "$DIR/s" "$DIR/log" "$DIR/backrest"/{repo,lock,log,spool} "$DIR/drills" "$DIR/bin" "$DIR/secrets"
    chmod 711 "$DIR"
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$DIR/pg" "$DIR/s" "$DIR/log" "$DIR/backrest"
        as_pg test -x "$DIR" || die "$DIR is not reachable by the postgres user: use a directory it can reach, e.g. under /tmp"
    fi
    # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)": the third word.
    VERSION=$("$PG_BIN/postgres" --version | awk '{print $3}')
    local pa pr pb serve_port
    pa=$(free_port); pr=$(free_port); pb=$(free_port); serve_port=$(free_port)

    # The database password: the executor reads it from this file; it never appears
    # in the config, a log, an event or the API.
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DIR/secrets/pg-password"
    chmod 600 "$DIR/secrets/pg-password"
    local pwfile="$DIR/pg/pwfile"
    cp "$DIR/secrets/pg-password" "$pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"

    cat >"$DIR/backrest/pgbackrest.conf" <<EOF
[global]
repo1-path=$DIR/backrest/repo
lock-path=$DIR/backrest/lock
log-path=$DIR/backrest/log
spool-path=$DIR/backrest/spool
log-level-file=off
log-level-console=warn
start-fast=y
repo1-retention-full=4

[pg-lab-a]
pg1-path=$DIR/pg/pg-lab-a
pg1-port=$pa
pg1-socket-path=$DIR/s

[pg-lab-b]
pg1-path=$DIR/pg/pg-lab-b
pg1-port=$pb
pg1-socket-path=$DIR/s
EOF
    [ "$(id -u)" = 0 ] && chown postgres: "$DIR/backrest/pgbackrest.conf"
    local id port
    for id in pg-lab-a pg-lab-b; do
        port=$pa
        [ "$id" = pg-lab-b ] && port=$pb
        say "initdb $id (data checksums on, port $port)"
        as_pg "$PG_BIN/initdb" -D "$DIR/pg/$id" -U postgres --data-checksums --encoding=UTF8 \
            -A trust --auth-host=scram-sha-256 --pwfile="$pwfile" >"$DIR/log/initdb-$id.log"
        server_conf "$id" "$port" "$id" | as_pg tee -a "$DIR/pg/$id/postgresql.conf" >/dev/null
        start_server "$id"
        psql_on "$port" -c "CREATE TABLE orders AS SELECT g AS id, now() - g * interval '1 minute' AS placed_at, md5(g::text) AS note FROM generate_series(1, 20000) g; CREATE INDEX orders_placed ON orders (placed_at); CHECKPOINT;"
        say "pgBackRest stanza $id: full backup"
        as_pg pgbackrest --config="$DIR/backrest/pgbackrest.conf" --stanza="$id" stanza-create >&2
        as_pg pgbackrest --config="$DIR/backrest/pgbackrest.conf" --stanza="$id" --type=full backup >&2
    done
    rm -f "$pwfile"
    say "pg-lab-a-replica: streaming replica of pg-lab-a (port $pr)"
    PGPASSWORD=$(cat "$DIR/secrets/pg-password") as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$pa" -U postgres \
        -D "$DIR/pg/pg-lab-a-replica" -X stream -R -c fast >&2
    server_conf pg-lab-a-replica "$pr" pg-lab-a | as_pg tee -a "$DIR/pg/pg-lab-a-replica/postgresql.conf" >/dev/null
    echo "archive_mode = off" | as_pg tee -a "$DIR/pg/pg-lab-a-replica/postgresql.conf" >/dev/null
    start_server pg-lab-a-replica

    # Patch and rollback restart the server on the installed binaries.
    cat >"$DIR/bin/restart" <<EOF
#!/bin/sh
# fleetdeck pg-lab: "patches" a database by restarting it on the installed binaries.
set -e
if [ "\$(id -u)" = 0 ]; then run() { runuser -u postgres -- env HOME=/tmp "\$@"; }; else run() { "\$@"; }; fi
run "$PG_BIN/pg_ctl" -D "$DIR/pg/\$1" -l "$DIR/log/\$1.log" -m fast -w -t 120 restart
EOF
    chmod 755 "$DIR/bin/restart"

    {
        cat <<EOF
# fleetdeck pg-lab: a real PostgreSQL fleet on loopback (scripts/pg-lab.sh).

[executor]
kind = "postgres"
[executor.patch]
command = "$DIR/bin/restart {id}"
timeout_seconds = 300
[executor.rollback]
command = "$DIR/bin/restart {id}"
timeout_seconds = 300

[executor.postgres]
connect_timeout_seconds = 5
restart_timeout_seconds = 120

[executor.postgres.connection]
user = "postgres"
database = "postgres"
sslmode = "disable"
password_file = "$DIR/secrets/pg-password"

[executor.postgres.drill]
source = "pgbackrest"
stanza = "{primary}"
pgbackrest_config = "$DIR/backrest/pgbackrest.conf"
scratch_dir = "$DIR/drills"
bin_dir = "$PG_BIN"
timeout_seconds = 1800

[[executor.postgres.drill.check]]
name = "orders"
database = "postgres"
sql = "SELECT count(*) FROM orders"
compare = "source"
tolerance = 0.05

[health]
interval_seconds = 5

[drills]
max_concurrent = 1
tier1_rto_minutes = 15
tier1_rpo_minutes = 5
tier2_rto_minutes = 30
tier2_rpo_minutes = 15
EOF
        database_toml pg-lab-a primary "" 1 1 "$pa"
        database_toml pg-lab-a-replica replica pg-lab-a 0 1 "$pr"
        database_toml pg-lab-b primary "" 0 2 "$pb"
    } >"$DIR/fleet.toml"

    local token
    token=$("$fleetdeck" token new --user lab --role operator,approver --tokens "$DIR/tokens")
    say "fleetdeck serve on 127.0.0.1:$serve_port (log: $DIR/serve.log)"
    setsid "$fleetdeck" serve --state "$DIR/state.db" --tokens "$DIR/tokens" --config "$DIR/fleet.toml" \
        --listen "127.0.0.1:$serve_port" </dev/null >"$DIR/serve.log" 2>&1 &
    echo $! >"$DIR/serve.pid"
    for _ in $(seq 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$serve_port") 2>/dev/null; then
            break
        fi
        kill -0 "$(cat "$DIR/serve.pid")" 2>/dev/null || {
            tail -n 20 "$DIR/serve.log" >&2
            die "fleetdeck serve stopped"
        }
        sleep 0.1
    done
    trap - ERR
    say "up: pg-lab-a :$pa (replica pg-lab-a-replica :$pr), pg-lab-b :$pb; config $DIR/fleet.toml"
    say "stop it with: scripts/pg-lab.sh down $DIR"
    echo "export FLEETDECK_SERVER=http://127.0.0.1:$serve_port"
    echo "export FLEETDECK_TOKEN=$token"
}

# Stops a process by pid: TERM (or the given signal), then KILL if it does not go.
stop_pid() { # pid [signal]
    local pid=$1 sig=${2:-TERM}
    kill -0 "$pid" 2>/dev/null || return 0
    kill -s "$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -s KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

down_dir() {
    # The control plane first: it stops a running drill's copy as it shuts down.
    if [ -f "$DIR/serve.pid" ]; then
        stop_pid "$(cat "$DIR/serve.pid")" TERM
    fi
    # Every postmaster below DIR: the lab's servers, and any drill copy left behind.
    local pidfile pid
    while IFS= read -r pidfile; do
        pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
        case "$pid" in '' | *[!0-9]*) continue ;; esac
        stop_pid "$pid" QUIT
    done < <(find "$DIR" -name postmaster.pid 2>/dev/null)
    rm -rf "$DIR"
}

down() {
    [ -d "$DIR" ] || die "$DIR does not exist"
    DIR=$(cd "$DIR" && pwd)
    [ -f "$DIR/$MARK" ] || die "$DIR is not a pg-lab directory (no $MARK): refusing to remove it"
    down_dir
    say "down: every process stopped, $DIR removed"
}

case "${1:-}" in
up | down)
    [ -n "${2:-}" ] || die "usage: $0 up|down DIR"
    DIR=$2
    "$1"
    ;;
*)
    echo "usage: $0 up DIR   # prints the exports for the fleetdeck console" >&2
    echo "       $0 down DIR" >&2
    exit 2
    ;;
esac
