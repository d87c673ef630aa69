#!/bin/sh
# Record the training step of this pipeline once as a baseline, then once per single-cause change,
# and print `git prov diff` between each run and the one before it. Runs offline in a throw-away
# repository; needs git, python3 (with the venv module) and git-prov on PATH.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
demo=$(mktemp -d "${TMPDIR:-/tmp}/git-prov-pipeline.XXXXXX")
ids="$demo/ids"          # run ids, outside the repository
repo="$demo/repo"
mkdir "$ids" "$repo"

# A private interpreter for the pipeline, so a package "upgrade" (case 5) needs no network: an
# installed distribution is what git prov reads, the *.dist-info folder in site-packages.
python3 -m venv --without-pip "$demo/venv"
site=$(cd "$demo/venv" && ls -d lib/python3*/site-packages)
site="$demo/venv/$site"
install_fakelib() {  # $1: version; what pip leaves behind for a pure-Python package
    rm -rf "$site"/fakelib "$site"/fakelib-*.dist-info
    mkdir "$site/fakelib" "$site/fakelib-$1.dist-info"
    printf '__version__ = "%s"\n' "$1" > "$site/fakelib/__init__.py"
    printf 'Metadata-Version: 2.1\nName: fakelib\nVersion: %s\n' "$1" > "$site/fakelib-$1.dist-info/METADATA"
    printf 'demo\n' > "$site/fakelib-$1.dist-info/INSTALLER"
    : > "$site/fakelib-$1.dist-info/RECORD"
}
install_fakelib 1.0
VIRTUAL_ENV="$demo/venv"
PATH="$demo/venv/bin:$PATH"
export VIRTUAL_ENV PATH

cd "$repo"
git init -q
git config user.name "Pipeline demo"
git config user.email "pipeline@example.invalid"
cp "$here/prepare.py" "$here/train.py" "$here/report.py" "$here/helper.py" "$here/run.sh" \
   "$here/.gitignore" .
mkdir data
printf 'x,y\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n' > data/raw.csv
git add prepare.py train.py report.py run.sh .gitignore   # helper.py stays untracked
git commit -q -m "pipeline"

n=0
record() {  # $1: lr, $2: epochs; records train.py, the pipeline's second stage
    n=$((n + 1))
    git prov record -q --id-file "$ids/$n" --name "run$n" \
        -i out/clean.csv -p lr="$1" -p epochs="$2" -o out/model.txt -m results/summary.json \
        -- python3 train.py --lr "$1" --epochs "$2"
    python3 report.py
}
show() {  # $1: the case
    echo "== $1: git prov diff run$((n - 1)) run$n"
    git prov diff --no-pager --no-color "$(cat "$ids/$((n - 1))")" "$(cat "$ids/$n")"
    echo
}

echo "== baseline"
python3 prepare.py
record 0.05 20
git add results/summary.json && git commit -q -m "results: the baseline summary"   # the committed result
echo

echo "-- case 1: a param (--lr 0.05 -> 0.02)"
record 0.02 20
show "case 1 param"

echo "-- case 2: an edit of the untracked helper.py"
sed 's/value \* 1.0/value * 2.0/' helper.py > helper.tmp && mv helper.tmp helper.py
record 0.02 20
show "case 2 untracked helper"

echo "-- case 3: a committed code change in train.py"
sed 's/round(loss, 6)/round(loss, 4)/' train.py > train.tmp && mv train.tmp train.py
git commit -q -am "train: round the loss to 4 places"
record 0.02 20
show "case 3 committed code"

echo "-- case 4: the input data (one more raw row, prepare.py rerun)"
printf '5,10.1\n' >> data/raw.csv
python3 prepare.py
record 0.02 20
show "case 4 data"

echo "-- case 5: a package version (fakelib 1.0 -> 1.1 in the pipeline's venv)"
install_fakelib 1.1
record 0.02 20
show "case 5 package"

echo "-- case 6: nothing"
record 0.02 20
show "case 6 nothing"

echo "(demo repository left in $repo; run ids in $ids)"
