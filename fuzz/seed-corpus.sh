#!/usr/bin/env bash
# Builds fuzz/corpus/<target>/ from the repository: raw HTTP requests (each spec operation
# with its documented example body and each provider's credentials, every scenario file's
# example request, sandbox admin calls), the scenario files, and the specs (whole and cut to
# one path each). Idempotent: files are named by a hash of their content.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 fuzz/seed_corpus.py "$@"
