#!/usr/bin/env bash
# The billing- and delinquency-run benchmarks on PostgreSQL: a throwaway server (as the tests use), seeded
# with the benchmark data, measured, then stopped.   bash bench/billing_postgres.sh
set -euo pipefail
dir=$(mktemp -d)
url=$(bash .ci/postgres.sh start "$dir")
trap 'bash .ci/postgres.sh stop "$dir" >/dev/null' EXIT
.venv/bin/python -m bench.billing_run --database-url "$url"
.venv/bin/python -m bench.delinquency_run --database-url "$url"
