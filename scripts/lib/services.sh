# Shared by scripts/test and scripts/cluster: install (apt, when missing) and start the services
# Chatter uses — Redis, PostgreSQL, the Kafka mock cluster — in "$SERVICES_DIR" on free
# loopback ports, and stop them by PID. Source it, set SERVICES_DIR, and call `services_stop`
# from an EXIT trap.

REDIS_PID=""
KAFKA_PID=""
POSTGRES_PID=""
POSTGRES_RUNNER_PID=""

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

APT_UPDATED=""
# apt_install PACKAGE...: installs the packages (one `apt-get update` per run).
apt_install() {
    if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

services_stop() {
    if [ -n "$KAFKA_PID" ]; then kill "$KAFKA_PID" 2>/dev/null || true; wait "$KAFKA_PID" 2>/dev/null || true; fi
    if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
    # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, stop cleanly.
    if [ -n "$POSTGRES_PID" ]; then kill -INT "$POSTGRES_PID" 2>/dev/null || true; fi
    if [ -n "$POSTGRES_RUNNER_PID" ]; then wait "$POSTGRES_RUNNER_PID" 2>/dev/null || true; fi
    KAFKA_PID="" REDIS_PID="" POSTGRES_PID="" POSTGRES_RUNNER_PID=""
}

# start_redis: sets REDIS_PORT, REDIS_PID, REDIS_URL.
start_redis() {
    command -v redis-server >/dev/null || apt_install redis-server
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$SERVICES_DIR" \
        --daemonize no >"$SERVICES_DIR/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$REDIS_PORT" ping >/dev/null || { cat "$SERVICES_DIR/redis.log"; return 1; }
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
}

pg_bin() {
    # Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin, off the PATH.
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/$1" ]; then echo "$dir/$1"; else command -v "$1" || true; fi
}

# start_postgres: sets PG_PORT, PG_USER, PG_PASSWORD, POSTGRES_PID (fsync off unless PG_FSYNC=on:
# tests need no durability, benchmarks do); `pg_psql ARGS...` runs psql
# against it as that user.
start_postgres() {
    if [ -z "$(pg_bin initdb)" ] || [ -z "$(pg_bin postgres)" ]; then apt_install postgresql; fi
    local dir="$SERVICES_DIR/postgres"
    mkdir -p "$dir"
    # PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
    as_pg() { "$@"; }
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chmod 755 "$SERVICES_DIR"
        chown -R postgres "$dir"
        as_pg() { runuser -u postgres -- "$@"; }
    fi
    PG_USER=chatter
    PG_PASSWORD=chatter
    printf '%s\n' "$PG_PASSWORD" >"$dir/pwfile"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir/pwfile"; fi
    as_pg "$(pg_bin initdb)" -D "$dir/data" -U "$PG_USER" --pwfile="$dir/pwfile" --auth=scram-sha-256 \
        -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
    PG_PORT=$(free_port)
    as_pg "$(pg_bin postgres)" -D "$dir/data" -h 127.0.0.1 -p "$PG_PORT" -k "$dir" \
        -c fsync="${PG_FSYNC:-off}" -c max_connections=300 >"$dir/postgres.log" 2>&1 &
    POSTGRES_RUNNER_PID=$!
    for _ in $(seq 1 100); do
        "$(pg_bin pg_isready)" -q -h 127.0.0.1 -p "$PG_PORT" && break
        sleep 0.1
    done
    "$(pg_bin pg_isready)" -q -h 127.0.0.1 -p "$PG_PORT" || { cat "$dir/postgres.log"; return 1; }
    # The server's own PID (the first line of postmaster.pid), not runuser's: stop signals it.
    POSTGRES_PID=$(head -n 1 "$dir/data/postmaster.pid")
}

# restart_postgres: starts the PostgreSQL of start_postgres again on its data directory and port
# (after it stopped or was killed), as a supervisor would; updates POSTGRES_PID.
restart_postgres() {
    local dir="$SERVICES_DIR/postgres"
    as_pg() { "$@"; }
    if [ "$(id -u)" -eq 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; fi
    if [ -n "$POSTGRES_RUNNER_PID" ]; then wait "$POSTGRES_RUNNER_PID" 2>/dev/null || true; fi
    as_pg "$(pg_bin postgres)" -D "$dir/data" -h 127.0.0.1 -p "$PG_PORT" -k "$dir" \
        -c fsync="${PG_FSYNC:-off}" -c max_connections=300 >>"$dir/postgres.log" 2>&1 &
    POSTGRES_RUNNER_PID=$!
    for _ in $(seq 1 100); do
        "$(pg_bin pg_isready)" -q -h 127.0.0.1 -p "$PG_PORT" && break
        sleep 0.1
    done
    "$(pg_bin pg_isready)" -q -h 127.0.0.1 -p "$PG_PORT" || { tail -n 20 "$dir/postgres.log"; return 1; }
    POSTGRES_PID=$(head -n 1 "$dir/data/postmaster.pid")
}

pg_psql() {
    PGPASSWORD="$PG_PASSWORD" "$(pg_bin psql)" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -v ON_ERROR_STOP=1 "$@"
}

# start_kafka CHATTER_BIN: librdkafka's mock cluster (3 brokers) through `chatter dev-kafka`;
# sets KAFKA_BROKERS and KAFKA_PID.
start_kafka() {
    "$1" dev-kafka --brokers 3 >"$SERVICES_DIR/kafka.out" 2>"$SERVICES_DIR/kafka.log" &
    KAFKA_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$SERVICES_DIR/kafka.out" ] && break
        sleep 0.1
    done
    KAFKA_BROKERS=$(head -n 1 "$SERVICES_DIR/kafka.out")
    [ -n "$KAFKA_BROKERS" ] || { cat "$SERVICES_DIR/kafka.log"; return 1; }
}

# ensure_librdkafka: the headers and library the Kafka trait builds against.
ensure_librdkafka() {
    [ -f /usr/include/librdkafka/rdkafka_mock.h ] || apt_install librdkafka-dev
}
