#!/usr/bin/env bash
# The test command (README line 2; .ci/run calls it too).
# Installs what the tests need, runs the static checks (bin/lint.sh: layer
# contracts, mypy --strict, ruff), then the pytest suite twice: on SQLite,
# then on PostgreSQL + Redis, the PostgreSQL connections going through a
# PgBouncer in transaction mode that this script starts (tests/pgbouncer.py),
# as production may run. Transaction pooling is the stricter of the two (what
# passes through it passes directly), so that pass replaces the direct one
# rather than adding a third. Locally a missing server only skips the second
# run, and a missing pgbouncer makes it direct (both loudly); under CI=true
# the servers are started and pgbouncer installed, or the run fails.
# Extra arguments go to pytest, e.g. bin/test.sh -k ledger -x
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PG_URL=${WALLET_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
REDIS_URL=${WALLET_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium for the browser tests"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi
if [ "${CI:-}" = "true" ] && ! command -v pgbouncer >/dev/null 2>&1; then
  echo "== installing Debian's pgbouncer for the PostgreSQL pass"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq pgbouncer >/dev/null
fi
if [ "${CI:-}" = "true" ] && ! { command -v patroni && command -v etcd && command -v haproxy \
    && command -v redis-sentinel; } >/dev/null 2>&1; then
  # The failover drill (tests/system/test_failover_cluster.py): Patroni, etcd, HAProxy, Sentinel.
  # Debian starts none of them (no init here; the drill runs its own).
  echo "== installing Debian's patroni, etcd-server, haproxy and redis-sentinel for the failover drill"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq patroni etcd-server etcd-client \
    haproxy redis-sentinel >/dev/null
fi
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  echo "== installing Debian's DejaVu fonts (statement PDFs print ₹ with them)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq fonts-dejavu-core >/dev/null
fi
echo "== installing the project with its test extras"
"$PYTHON" -m pip install -q --disable-pip-version-check -e '.[test]'

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { "$PYTHON" -c "import redis,sys; redis.Redis.from_url('$REDIS_URL').ping()" 2>/dev/null; }

if [ "${CI:-}" = "true" ]; then
  postgres_up || { echo "== starting PostgreSQL"; as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true; sleep 2; }
  redis_up || { echo "== starting Redis"; as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true; sleep 1; }
  postgres_up || { echo "PostgreSQL is required in CI and could not be started"; exit 1; }
  redis_up || { echo "Redis is required in CI and could not be started"; exit 1; }
fi

# Layers (import-linter), mypy --strict and ruff: a broken contract fails the run.
bash bin/lint.sh

echo "== pytest on SQLite"
env -u WALLET_TEST_DATABASE_URL -u WALLET_TEST_REDIS_URL "$PYTHON" -m pytest "$@"

if postgres_up && redis_up; then
  if command -v pgbouncer >/dev/null 2>&1; then
    PGB_DIR=$(mktemp -d /tmp/wallet-test-pgbouncer.XXXXXX)
    trap '"$PYTHON" -m tests.pgbouncer stop "$PGB_DIR"; rm -rf "$PGB_DIR"' EXIT
    RUN_URL=$("$PYTHON" -m tests.pgbouncer start "$PGB_DIR" "$PG_URL")
    echo "== pytest on PostgreSQL ($PG_URL) through PgBouncer in transaction mode ($RUN_URL) and Redis ($REDIS_URL)"
    WALLET_TEST_PGBOUNCER=1 WALLET_TEST_DATABASE_URL=$RUN_URL WALLET_TEST_REDIS_URL=$REDIS_URL \
      "$PYTHON" -m pytest "$@"
  elif [ "${CI:-}" = "true" ]; then
    echo "pgbouncer is required in CI and is not installed"; exit 1
  else
    echo "!! pgbouncer not installed: the PostgreSQL run goes direct, NOT through PgBouncer"
    echo "== pytest on PostgreSQL ($PG_URL) and Redis ($REDIS_URL)"
    WALLET_TEST_DATABASE_URL=$PG_URL WALLET_TEST_REDIS_URL=$REDIS_URL "$PYTHON" -m pytest "$@"
  fi
else
  echo "!! PostgreSQL or Redis not reachable: the PostgreSQL/Redis run was NOT done"
fi
