#!/usr/bin/env bash
# Makes sure the machine's PostgreSQL and Redis answer before tests run; starts them if they are
# installed but stopped. The broker and the S3 server are started by the test harness itself.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "[services] starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! redis_up && command -v redis-server >/dev/null 2>&1; then
  echo "[services] starting Redis" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
for _ in $(seq 1 50); do pg_up && redis_up && exit 0; sleep 0.2; done
pg_up || echo "[services] PostgreSQL is not answering on 127.0.0.1:5432; tests that need it will say how to start it" >&2
redis_up || echo "[services] Redis is not answering on 127.0.0.1:6379; tests that need it will say how to start it" >&2
