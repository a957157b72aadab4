#!/usr/bin/env bash
# .ci/deps.sh, the set-up step of both README commands and .ci/run, on a simulated machine:
# fake dpkg-query (two packages missing), id, sudo and apt-get in a PATH holding nothing else.
#  - a user without sudo gets the one `apt-get install` line naming exactly the missing
#    packages, and exit 1, and apt-get is never run;
#  - a user with password-less sudo gets them installed (update, then install of exactly them);
#  - everything installed: exit 0, no output;
#  - every package of the list is named in README.md (the dependency table).
# usage: test_deps.sh REPO_ROOT
set -euo pipefail
ROOT=$1
DEPS=$ROOT/.ci/deps.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "test_deps: FAIL: $*" >&2; exit 1; }

mkdir "$T/bin"
for tool in bash grep cat; do ln -s "$(command -v $tool)" "$T/bin/$tool"; done
cat > "$T/bin/dpkg-query" << 'EOF'
#!/bin/bash
# "installed" unless the package is listed in $FAKE_MISSING
for m in $FAKE_MISSING; do [ "${!#}" = "$m" ] && exit 1; done
printf 'install ok installed'
EOF
printf '#!/bin/bash\necho 1000\n' > "$T/bin/id"
printf '#!/bin/bash\necho "apt-get $*" >> "$FAKE_LOG"\n' > "$T/bin/apt-get"
chmod +x "$T/bin/"*
run() { env -i PATH="$T/bin" FAKE_LOG="$T/apt.log" FAKE_MISSING="$1" bash "$DEPS" > "$T/out" 2>&1; }

# No sudo: the one line, exit 1, nothing installed.
rc=0; run "libcairo2-dev doctest-dev" || rc=$?
[ $rc -eq 1 ] || fail "missing packages, no sudo: exit $rc, not 1: $(cat "$T/out")"
[ "$(grep -c 'apt-get install' "$T/out")" -eq 1 ] || fail "not one apt-get line: $(cat "$T/out")"
grep -Eq '^  apt-get update && apt-get install -y doctest-dev libcairo2-dev$' "$T/out" ||
  fail "the apt-get line does not name exactly the missing packages: $(cat "$T/out")"
grep -q 'as root' "$T/out" || fail "without sudo the line is not said to be for root: $(cat "$T/out")"
[ ! -e "$T/apt.log" ] || fail "apt-get ran for a user without sudo"

# A sudo that asks for a password (sudo -n fails): still the line, now with sudo, exit 1.
printf '#!/bin/bash\nexit 1\n' > "$T/bin/sudo"; chmod +x "$T/bin/sudo"
rc=0; run "zlib1g-dev" || rc=$?
[ $rc -eq 1 ] || fail "sudo with a password: exit $rc, not 1"
grep -Eq '^  sudo apt-get update && sudo apt-get install -y zlib1g-dev$' "$T/out" ||
  fail "sudo line wrong: $(cat "$T/out")"
[ ! -e "$T/apt.log" ] || fail "apt-get ran though sudo needs a password"

# Password-less sudo: installs exactly the missing packages.
printf '#!/bin/bash\n[ "$1" = -n ] && shift\n"$@"\n' > "$T/bin/sudo"
run "libfmt-dev ccache" || fail "password-less sudo: exit != 0: $(cat "$T/out")"
grep -q '^apt-get update' "$T/apt.log" || fail "no apt-get update before the install"
grep -Eq '^apt-get install -y -qq ccache libfmt-dev$' "$T/apt.log" ||
  fail "sudo install not of exactly the missing packages: $(cat "$T/apt.log")"
rm "$T/apt.log"

# Nothing missing: silent success, no apt-get.
run "" || fail "nothing missing: exit != 0"
[ ! -s "$T/out" ] || fail "nothing missing but output: $(cat "$T/out")"
[ ! -e "$T/apt.log" ] || fail "apt-get ran though nothing is missing"

# The list and the README's dependency table agree.
for p in $(bash "$DEPS" --list); do
  grep -q -- "$p" "$ROOT/README.md" || fail "package $p of .ci/deps.sh is not in README.md"
done
echo "test_deps: ok"
