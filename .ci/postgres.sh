#!/usr/bin/env bash
# Start a throwaway PostgreSQL for the test suite and print its URL on stdout.
#   url=$(bash .ci/postgres.sh start DIR)   ...   bash .ci/postgres.sh stop DIR
# PostgreSQL refuses to run as root, so the server runs as the `postgres` user.
set -euo pipefail

action=$1
dir=$2

find_bin() {
  command -v "$1" 2>/dev/null && return
  ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

start() {
  if [ -z "$(find_bin initdb)" ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
  fi
  local initdb pg_ctl port
  initdb=$(find_bin initdb)
  pg_ctl=$(find_bin pg_ctl)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_postgres "'$initdb' -D '$dir/data' -A trust -U postgres -E UTF8 --no-locale" >&2
  as_postgres "'$pg_ctl' -D '$dir/data' -w -l '$dir/server.log' \
    -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off\" start" >&2
  as_postgres "'$(find_bin createdb)' -h 127.0.0.1 -p $port -U postgres portal_test" >&2
  echo "postgresql+asyncpg://postgres@127.0.0.1:$port/portal_test"
}

stop() {
  local pg_ctl
  pg_ctl=$(find_bin pg_ctl)
  [ -d "$dir/data" ] && as_postgres "'$pg_ctl' -D '$dir/data' -m fast -w stop" >&2 || true
}

"$action"
