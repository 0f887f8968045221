#!/usr/bin/env bash
# Make sure the local PostgreSQL, Redis and RabbitMQ answer, starting any that are down.
#
# Idempotent: a service that already answers is left alone. Starting needs root (it uses
# the machine's own start commands); waiting is bounded by SERVICE_TIMEOUT seconds each.
# Exit status: 0 when every requested service answers, 1 otherwise.
#
# Usage: scripts/ensure_services.sh [postgres] [redis] [rabbitmq]   (default: all three)
set -euo pipefail

PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
RABBITMQ_HOST=${RABBITMQ_HOST:-127.0.0.1}
RABBITMQ_PORT=${RABBITMQ_PORT:-5672}
SERVICE_TIMEOUT=${SERVICE_TIMEOUT:-90}

log() { printf '[ensure_services] %s\n' "$*"; }

port_open() {
    # bash's /dev/tcp needs no extra tool; the subshell keeps the descriptor local.
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

postgres_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
redis_up() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
rabbitmq_up() {
    # The AMQP port opens only once the broker has booted its listeners, so it is both a
    # faster and a stricter check than `rabbitmqctl status` (which answers while booting).
    port_open "$RABBITMQ_HOST" "$RABBITMQ_PORT"
}

postgres_start() {
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
}
redis_start() {
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}
rabbitmq_start() { rabbitmq-server -detached; }

wait_for() {
    local name=$1 check=$2 deadline=$((SECONDS + SERVICE_TIMEOUT))
    until "$check"; do
        if ((SECONDS >= deadline)); then
            log "$name did not become ready within ${SERVICE_TIMEOUT}s"
            return 1
        fi
        sleep 0.5
    done
}

ensure() {
    local name=$1
    if "${name}_up"; then
        log "$name: up"
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        log "$name: down, and starting it needs root"
        return 1
    fi
    log "$name: down, starting it"
    # A start command that fails (e.g. "already running" while still booting) is not fatal:
    # the readiness wait below decides.
    "${name}_start" || log "$name: start command exited $?"
    wait_for "$name" "${name}_up"
    log "$name: up"
}

services=("$@")
if [ ${#services[@]} -eq 0 ]; then
    services=(postgres redis rabbitmq)
fi

status=0
for service in "${services[@]}"; do
    case $service in
        postgres | redis | rabbitmq) ensure "$service" || status=1 ;;
        *)
            log "unknown service: $service"
            status=1
            ;;
    esac
done
exit "$status"
