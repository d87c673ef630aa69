#!/bin/sh
# Record two runs of a tiny training script in a throw-away repository and show what changed.
set -eu
demo=$(mktemp -d "${TMPDIR:-/tmp}/git-prov-demo.XXXXXX")
cd "$demo"
git init -q
git config user.name "Quickstart"
git config user.email "quickstart@example.invalid"
mkdir data
printf 'x,y\n1,2\n3,4\n' > data/train.csv
cat > train.py <<'PY'
import json, sys
lr = float(sys.argv[1])
rows = open("data/train.csv").read().splitlines()[1:]
open("model.txt", "w").write(f"lr={lr} rows={len(rows)}\n")
json.dump({"acc": round(0.8 + lr, 3)}, open("metrics.json", "w"))
print(f"trained on {len(rows)} rows with lr={lr}")
PY
git add . && git commit -q -m "first model"

echo "== run 1: lr=0.01"
git prov record -i data -i train.py -p lr=0.01 -o model.txt -m metrics.json -- python3 train.py 0.01
echo "== run 2: lr=0.05, one more data row, an uncommitted code edit"
printf '5,6\n' >> data/train.csv
sed -i 's/rows={len(rows)}/rows={len(rows)} v2/' train.py
git prov record -i data -i train.py -p lr=0.05 -o model.txt -m metrics.json -- python3 train.py 0.05
echo "== git prov log"
git prov log
echo "== git prov diff (run 1 -> run 2)"
git prov diff
echo "== plain git reads the same records:"
git ls-tree -r --name-only refs/prov/runs | head -n 4
echo "(demo repository left in $demo)"
