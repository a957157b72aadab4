#!/usr/bin/env bash
# The README's promise checked for real: a fresh clone on a fresh Debian 12 machine runs
# ./examples/demo.sh and ./tests/run.sh to success with no other step (issue 15). Not run by CI:
# it needs root (debootstrap, chroot, mounts), the network (Debian mirror, PyPI) and ~20 CPU
# minutes. Results: bench/results/FRESH_MACHINE.md.
#
#   sudo bench/fresh_debian_check.sh [ROOT]      # ROOT default /work/fresh-root (outside the repo)
#
# Steps: debootstrap --variant=minbase bookworm into ROOT (the base is cached as ROOT.base.tar
# and reused: delete it to bootstrap again), mount proc/sys/dev, copy resolv.conf, install git
# (a user clones with git), clone this repository's HEAD into ROOT/root/echoflow from outside
# (the source may be a git worktree whose git directory the chroot cannot see; the clone is the
# same either way), then inside the chroot, with a bare environment (no LANG, PATH only):
#   1. as a non-root user without sudo: ./examples/demo.sh must stop (exit != 0) after printing
#      the one `apt-get install` line;
#   2. as root: ./examples/demo.sh, then ./tests/run.sh, each timed with /usr/bin/time;
#   3. as root: the README's Python section as written (venv, `pip install .`, the example).
# Mounts are undone on every exit. Env: MIRROR (default: deb.debian.org), KEEP=1 keeps ROOT,
# SKIP_DEMO=1 runs only the test command in step 2, RESUME=1 reuses a kept ROOT from step 2 on.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "fresh_debian_check: run as root (debootstrap, chroot)" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${1:-/work/fresh-root}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
case "$ROOT/" in "$REPO"/*) echo "fresh_debian_check: $ROOT is inside the repository" >&2; exit 2;; esac
LOG=$REPO/out/fresh_machine
mkdir -p "$LOG"
command -v debootstrap > /dev/null || apt-get install -y -qq debootstrap > /dev/null

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2> /dev/null || true; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$ROOT"
}
trap cleanup EXIT

# A fresh root every run; the debootstrap result itself is cached (it is the "fresh machine").
# RESUME=1 (with a ROOT kept by KEEP=1): reuse it as it is, from step 2 on.
RESUME=${RESUME:-0}
[ "$RESUME" = 1 ] && [ ! -d "$ROOT/root/echoflow" ] && { echo "fresh_debian_check: RESUME=1 but no $ROOT" >&2; exit 2; }
[ "$RESUME" = 1 ] || rm -rf "$ROOT"
if [ "$RESUME" = 1 ]; then
  :
elif [ ! -f "$ROOT.base.tar" ]; then
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" > "$LOG/debootstrap.log" 2>&1
  tar -C "$ROOT" -cf "$ROOT.base.tar" .
else
  mkdir -p "$ROOT" && tar -C "$ROOT" -xf "$ROOT.base.tar"
fi
for m in proc sys dev dev/pts; do
  mkdir -p "$ROOT/$m"
  case $m in
    proc) mount -t proc proc "$ROOT/proc" ;;
    sys) mount -t sysfs sys "$ROOT/sys" ;;
    *) mount --bind "/$m" "$ROOT/$m" ;;
  esac
  mounted+=("$ROOT/$m")
done
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# This machine's network, not the project's set-up: where outbound TLS goes through a proxy whose
# CA only the host trusts (the host's pip.conf names a CA bundle), the fresh machine gets the
# same bundle and pip.conf, as it would on this network. Without them pip fails here with
# CERTIFICATE_VERIFY_FAILED (seen 2026-11-29; apt uses http and needs nothing).
# The bundle is not put at /etc/ssl/certs/ca-certificates.crt: installing ca-certificates (a
# dependency the README's packages pull in) regenerates that file without the proxy's CA.
if [ -f /etc/pip.conf ]; then
  cp -L /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/pip-network-ca.crt"
  printf '[global]\ncert = /etc/pip-network-ca.crt\n' > "$ROOT/etc/pip.conf"
fi

IN=(chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
if [ "$RESUME" = 1 ]; then
  echo "fresh_debian_check: $(date -u +%FT%TZ) RESUME of $ROOT (commit $(git -C "$ROOT/root/echoflow" rev-parse --short HEAD)), load $(cut -d' ' -f1-3 /proc/loadavg)"
else
"${IN[@]}" HOME=/root bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git > /dev/null'
git clone -q --no-local "$REPO" "$ROOT/root/echoflow"
commit=$(git -C "$ROOT/root/echoflow" rev-parse --short HEAD)
echo "fresh_debian_check: $(date -u +%FT%TZ) commit $commit, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Non-root user without sudo: the one apt-get line, then a non-zero exit before any build.
"${IN[@]}" HOME=/root useradd -m newuser
cp -r "$ROOT/root/echoflow" "$ROOT/home/newuser/echoflow"
"${IN[@]}" HOME=/root chown -R newuser: /home/newuser/echoflow
set +e
"${IN[@]}" HOME=/home/newuser setpriv --reuid=newuser --regid=newuser --init-groups \
  bash -c 'cd ~/echoflow && ./examples/demo.sh' > "$LOG/nonroot.out" 2>&1
rc=$?
set -e
lines=$(grep -c 'apt-get install -y' "$LOG/nonroot.out" || true)
if [ "$rc" -eq 0 ] || [ "$lines" -ne 1 ] || [ -e "$ROOT/home/newuser/echoflow/build" ]; then
  echo "FAIL non-root: exit $rc, $lines apt-get lines, build/ $( [ -e "$ROOT/home/newuser/echoflow/build" ] && echo made || echo absent)" >&2
  cat "$LOG/nonroot.out" >&2
  exit 1
fi
echo "non-root without sudo: exit $rc, one apt-get line:"
sed 's/^/  | /' "$LOG/nonroot.out"

fi

# 2. Root: the two README commands, nothing else. /usr/bin/time comes from the host (the fresh
# machine has no `time` package; the README does not need one).
cp /usr/bin/time "$ROOT/usr/local/bin/time"
# SKIP_DEMO=1: the test command only (a rerun after a demo that passed; saves its compile).
cmds=(./examples/demo.sh ./tests/run.sh)
[ "${SKIP_DEMO:-0}" = 1 ] && cmds=(./tests/run.sh)
for cmd in "${cmds[@]}"; do
  name=$(basename "$cmd" .sh)
  set +e
  "${IN[@]}" HOME=/root nice /usr/local/bin/time -f '%e s wall, %U s user, %S s system' -o "/root/$name.time" \
    bash -c "cd /root/echoflow && $cmd" > "$LOG/$name.out" 2>&1
  rc=$?
  set -e
  echo "$cmd: exit $rc, $(cat "$ROOT/root/$name.time" | tail -1) (loaded: see the load above)"
  [ "$rc" -eq 0 ] || { tail -40 "$LOG/$name.out" >&2; exit 1; }
done
grep -E 'tests passed|tests failed' "$LOG/run.out" || true

# 3. The README's Python section as written: its ```sh block (make a venv, `pip install .`),
# then its ```python block, in the same shell, from the clone's root.
python3 - "$REPO/README.md" > "$ROOT/root/readme_python.sh" << 'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("\n## Python\n"):]
sh = re.search(r"^```sh\n(.*?)^```", section, re.M | re.S).group(1)
py = re.search(r"^```python\n(.*?)^```", section, re.M | re.S).group(1)
print("set -e\n" + sh + "python - << 'EOF'\n" + py + "print('README python example: ok', len(synthetic), len(logp))\nEOF")
PY
set +e
"${IN[@]}" HOME=/root nice /usr/local/bin/time -f '%e s wall, %U s user, %S s system' -o /root/python.time \
  bash -c "cd /root/echoflow && bash /root/readme_python.sh" > "$LOG/python.out" 2>&1
rc=$?
set -e
echo "README Python section (venv, pip install ., example): exit $rc, $(tail -1 "$ROOT/root/python.time")"
[ "$rc" -eq 0 ] || { tail -40 "$LOG/python.out" >&2; exit 1; }
grep 'README python example: ok' "$LOG/python.out"
if [ "${SKIP_DEMO:-0}" != 1 ]; then
  cp "$ROOT"/root/echoflow/out/demo/spiral.png "$ROOT"/root/echoflow/out/demo/spiral.svg "$LOG/"
  cp "$ROOT"/root/echoflow/out/demo/layers/layers.png "$LOG/"
fi
echo "PASS: both README commands on a fresh Debian 12 (logs and plots in out/fresh_machine/)"
