#!/usr/bin/env bash
# Builds fuzz/corpus/<target>/ from the repository: raw HTTP requests (each spec operation
# with its documented example body and each provider's credentials, every scenario file's
# example request, sandbox admin calls), the scenario files, and the specs (whole and cut to
# one path each). Idempotent: files are named by a hash of their content.
set -euo pipefail
cd "$(dirname "$0")/.."
python=python3
# The seeder reads YAML; a machine without PyYAML gets it in a venv of its own.
if ! python3 -c 'import yaml' 2>/dev/null; then
  venv=fuzz/target/seed-venv
  [ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q 'PyYAML==6.0.2'; }
  python="$venv/bin/python"
fi
exec "$python" fuzz/seed_corpus.py "$@"
