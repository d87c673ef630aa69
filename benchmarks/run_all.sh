#!/bin/sh
# Run every benchmark of benchmarks/README.md in turn; each prints its own tables (Markdown).
# Peers: `python benchmarks/startup.py --install` once (venvs under /tmp/prov-bench-venvs), and
# `apt-get install -y git-annex eatmydata` for DataLad and the fsync-free rows.
set -e
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-$here/../.venv/bin/python}
date -u +"%Y-%m-%d %H:%M UTC"
"$python" "$here/startup.py" --rounds "${ROUNDS:-20}"
"$python" "$here/hashing.py" --rounds 5
"$python" "$here/hashcache.py" --rounds 10
"$python" "$here/scale.py" --rounds 10 --keep "${PROV_BENCH_SCALE:-/tmp/prov-bench-scale}"
