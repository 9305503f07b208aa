#!/bin/sh
# `make demo`: the hook over examples/inventory.py in a throw-away git repository, so that its
# closing advice ("review the changes (git diff), then git add and commit again") can be
# followed there. Usage: examples/demo.sh DOCUCODE_COMMAND DIRECTORY
set -eu
docucode="$1"
demo="$2"
rm -rf "$demo"
mkdir -p "$demo"
cp "$(dirname "$0")/inventory.py" "$demo/"
cd "$demo"
git -c init.defaultBranch=main init -q .
git add inventory.py
git -c user.name=docucode-demo -c user.email=demo@docucode.invalid commit -q -m "inventory.py without docstrings"
status=0
$docucode inventory.py || status=$?
# 1 means "files changed", as in a commit the hook stops; anything above is an error.
[ "$status" -le 1 ] || exit "$status"
git --no-pager diff
echo "make demo: $demo is a git repository with the example committed: cd $demo, then git diff, git add and git commit work there"
