#!/usr/bin/env bash
# `make fresh-check`: proves that the README's `make test` works on a fresh
# Debian 12 machine that has only what the README says a newcomer needs
# (`make` and `git`). Builds a minimal Debian 12 root with debootstrap in a
# temporary directory, from the same Debian mirror (and apt proxy settings)
# as this machine's apt, installs `make git` there, clones this repository's
# HEAD with that git and runs `make test` inside under chroot, so that a
# package missing from scripts/install-deps.sh, or a tool the Makefile calls
# before installing it, fails here instead of on a newcomer's machine.
# Nothing of this machine is visible inside except /proc, /sys and /dev
# (bind-mounted; no /usr/local, so no CUDA). Everything is unmounted and
# removed on exit, also on failure or Ctrl-C.
# Needs root (re-runs itself with sudo otherwise). If Debian's package
# archive cannot be reached it prints
# `fresh-check: skipped (package archive unreachable)` and exits 0.
# Env: FRESH_CHECK_WORKTREE=1 checks the work tree as it is (tracked and
# untracked files that git does not ignore, as one commit on top of HEAD made
# with a temporary index: git's index, HEAD and refs are left alone) instead
# of HEAD; FRESH_CHECK_KEEP=1 keeps the root (unmounted) for a post-mortem.
set -euo pipefail

suite=bookworm
say() { echo "fresh-check: $*"; }
die() {
  [ -z "${phase_name:-}" ] || say "$phase_name: failed after $(($(date +%s) - phase_start)) s" >&2
  say "FAILED: $*" >&2
  exit 1
}
skip_unreachable() { say "skipped (package archive unreachable)"; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null || die "needs root (debootstrap, mount, chroot) and there is no sudo"
  exec sudo --preserve-env=FRESH_CHECK_WORKTREE,FRESH_CHECK_KEEP,TMPDIR -- bash "$0" "$@"
fi

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
head=$(git -C "$repo" rev-parse HEAD)
if [ "${FRESH_CHECK_WORKTREE:-0}" = 1 ]; then
  index=$(mktemp)
  cp "$(git -C "$repo" rev-parse --path-format=absolute --git-path index)" "$index" 2> /dev/null || true
  GIT_INDEX_FILE=$index git -C "$repo" add -A
  tree=$(GIT_INDEX_FILE=$index git -C "$repo" write-tree)
  head=$(GIT_AUTHOR_NAME=fresh-check GIT_AUTHOR_EMAIL=fresh-check@localhost \
    GIT_COMMITTER_NAME=fresh-check GIT_COMMITTER_EMAIL=fresh-check@localhost \
    git -C "$repo" commit-tree -p HEAD -m "fresh-check: work tree" "$tree")
  rm -f "$index"
fi
t_start=$(date +%s)
timings=()
phase_start=$t_start
phase_name=""
phase() {  # phase NAME: ends the running phase (prints its time), starts NAME
  local now
  now=$(date +%s)
  if [ -n "$phase_name" ]; then
    timings+=("$(printf '%-40s %5d s' "$phase_name" $((now - phase_start)))")
    say "$phase_name: $((now - phase_start)) s"
  fi
  phase_name=$1
  phase_start=$now
  [ -z "$phase_name" ] || say "== $phase_name"
}

# --- The mirror: the one this machine's apt uses for Debian 12 (apt parses
# both sources formats for us); deb.debian.org only if none is configured.
# Entries are kept only for bookworm's own suites, so no third-party
# repository (with a key the new root lacks) is carried over.
phase "find the Debian mirror"
declare -A comps=()
order=()
# shellcheck disable=SC2016 # apt's own $(FIELD) placeholders
fields='$(TARGET_OF) $(REPO_URI) $(RELEASE) $(COMPONENT)'
while read -r target uri rel comp; do
  [ "$target" = deb ] || continue
  case "$rel" in "$suite" | "$suite-updates" | "$suite-security" | "$suite/updates") ;; *) continue ;; esac
  case "$uri" in http://* | https://*) ;; *) continue ;; esac
  key="$uri $rel"
  [ -n "${comps[$key]+x}" ] || order+=("$key")
  case " ${comps[$key]:-} " in *" $comp "*) ;; *) comps[$key]="${comps[$key]:-} $comp" ;; esac
done < <(apt-get indextargets --format "$fields" 'Identifier: Packages' 2> /dev/null | sort -u)
mirror=""
sources=()
for key in "${order[@]}"; do
  read -r uri rel <<< "$key"
  sources+=("deb ${uri%/} $rel${comps[$key]}")
  [ "$rel" = "$suite" ] && [ -z "$mirror" ] && mirror=${uri%/}
done
if [ -z "$mirror" ]; then
  mirror=http://deb.debian.org/debian
  sources=("deb $mirror $suite main" "deb $mirror $suite-updates main"
    "deb http://deb.debian.org/debian-security $suite-security main")
fi
# apt's proxy and Release-date settings go along (a caching proxy or a
# frozen snapshot mirror needs them inside as well).
mapfile -t apt_opts < <(apt-config dump 2> /dev/null |
  grep -E '^Acquire::((http|https|ftp)::Proxy|Check-Valid-Until|Check-Date) ' || true)
proxy_env=()
for line in "${apt_opts[@]}"; do
  case "$line" in
    Acquire::http::Proxy\ *) proxy_env+=("http_proxy=$(sed -E 's/^[^"]*"(.*)";$/\1/' <<< "$line")") ;;
    Acquire::https::Proxy\ *) proxy_env+=("https_proxy=$(sed -E 's/^[^"]*"(.*)";$/\1/' <<< "$line")") ;;
  esac
done
say "mirror $mirror (suite $suite), HEAD $head"

# --- Reachable? One small download with apt's own client and settings,
# before any work. Only this (and debootstrap failing to fetch the Release
# file) counts as "unreachable"; every later failure is a real one.
probe=$(mktemp)
if ! /usr/lib/apt/apt-helper -o Acquire::Retries=0 -o Acquire::http::Timeout=30 \
  -o Acquire::https::Timeout=30 download-file "$mirror/dists/$suite/Release" "$probe" > /dev/null 2>&1 ||
  ! grep -q '^Suite:' "$probe"; then
  rm -f "$probe"
  skip_unreachable
fi
rm -f "$probe"

phase "install debootstrap (host)"
if ! command -v debootstrap > /dev/null; then
  # (an unrelated repository failing its update must not stop this; the
  # install below fails if Debian's lists are really missing)
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap > /dev/null
fi

# --- The temporary root and its cleanup. The directory is bind-mounted on
# itself and made private, so no mount below it propagates to the host.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mec-fresh-check.XXXXXX")
root=$tmp/root
mounts_under() {  # mount points at or below $tmp, deepest first
  awk -v d="$tmp" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
    awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}
# The long steps run in a session of their own (job): a signal to this script
# then interrupts its `wait` at once, and cleanup ends the whole session.
job=""
passed=0
run_job() {
  setsid "$@" &
  job=$!
  local rc=0
  wait "$job" || rc=$?
  job=""
  return "$rc"
}
cleanup() {
  local rc=$? pid link m sig found
  trap - EXIT INT TERM
  set +e
  [ -z "$job" ] || { kill -TERM -- "-$job" 2> /dev/null; sleep 1; kill -KILL -- "-$job" 2> /dev/null; }
  # Anything else still running inside the root (only ours can be there).
  for sig in TERM KILL; do
    found=0
    for pid in /proc/[0-9]*; do
      link=$(readlink "$pid/root" 2> /dev/null) || continue
      case "$link" in "$root" | "$root"/*) kill "-$sig" "${pid#/proc/}" 2> /dev/null && found=1 ;; esac
    done
    [ "$found" = 0 ] && break
    [ "$sig" = TERM ] && sleep 1
  done
  for m in $(mounts_under); do
    umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || say "cannot unmount $m" >&2
  done
  if [ -n "$(mounts_under)" ]; then
    say "still mounted below $tmp; not removing it:" >&2
    mounts_under >&2
    exit $((rc == 0 ? 1 : rc))
  fi
  if [ "${FRESH_CHECK_KEEP:-0}" = 1 ]; then
    say "kept $tmp (FRESH_CHECK_KEEP=1)"
  else
    rm -rf --one-file-system "$tmp"
  fi
  if [ "$rc" -eq 0 ] && [ "$passed" = 1 ]; then
    say "cleanup (unmount, remove the root): $(($(date +%s) - phase_start)) s"
    say "passed ($(($(date +%s) - t_start)) s)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted" >&2; exit 130' INT
trap 'say "terminated" >&2; exit 143' TERM
mount --bind "$tmp" "$tmp"
mount --make-private "$tmp"
mkdir "$root"

phase "debootstrap --variant=minbase $suite"
log=$tmp/debootstrap.log
if ! run_job env "${proxy_env[@]}" debootstrap --variant=minbase "$suite" "$root" "$mirror" > "$log" 2>&1; then
  if grep -q -E 'Failed getting release file|Couldn.t download .*Release' "$log"; then
    skip_unreachable
  fi
  tail -n 30 "$log" >&2
  die "debootstrap failed (log above)"
fi

phase "set up the root"
printf '%s\n' "${sources[@]}" > "$root/etc/apt/sources.list"
[ ${#apt_opts[@]} -eq 0 ] || printf '%s\n' "${apt_opts[@]}" > "$root/etc/apt/apt.conf.d/90fresh-check"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2> /dev/null || true
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"  # no services start in here
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
for d in sys dev; do
  mount --rbind "/$d" "$root/$d"
  mount --make-rslave "$root/$d"
done
# HEAD, as a bare repository to clone from inside (with the root's own git).
git init -q --bare "$root/srv/mec.git"
git -C "$repo" push -q "$root/srv/mec.git" "$head:refs/heads/main"
git -C "$root/srv/mec.git" symbolic-ref HEAD refs/heads/main
# A command line in the root, with a clean environment (nothing of ours leaks in).
in_root=(chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -euo pipefail -c)
[ ! -e "$root/usr/local/cuda" ] || die "/usr/local/cuda is visible in the root"

phase "apt-get install make git (README)"
# shellcheck disable=SC2016 # expanded inside the root
run_job "${in_root[@]}" 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq
  apt-get install -y -qq --no-install-recommends make git > /dev/null
  echo "packages installed: $(dpkg-query -W | wc -l)"' < /dev/null || die "apt-get install make git failed"

phase "git clone"
# shellcheck disable=SC2016 # expanded inside the root
"${in_root[@]}" 'git clone -q /srv/mec.git /root/mec && echo "cloned $(git -C /root/mec rev-parse HEAD)"' < /dev/null
[ "$("${in_root[@]}" 'git -C /root/mec rev-parse HEAD' < /dev/null)" = "$head" ] || die "the clone is not HEAD"

# make test's own output, passed on by clock, which notes when its build
# (cmake's first "[ n%]" line) and its ctest ("Test project") started.
phase "make test (README)"
clock() {
  local line build="" tests=""
  while IFS= read -r line; do
    printf '%s\n' "$line"
    if [ -z "$build" ] && [[ $line =~ ^\[\ *[0-9]+(%|/[0-9]+)\] ]]; then
      build=$(date +%s) && echo "build $build"
    elif [ -z "$tests" ] && [[ $line == "Test project"* ]]; then
      tests=$(date +%s) && echo "ctest $tests"
    fi >&3
  done
}
mkfifo "$tmp/out"
clock < "$tmp/out" 3> "$tmp/marks" &
clock_pid=$!
make_start=$(date +%s)
make_rc=0
run_job "${in_root[@]}" 'cd /root/mec && make test' < /dev/null > "$tmp/out" 2>&1 || make_rc=$?
wait "$clock_pid" || true
make_end=$(date +%s)
[ "$make_rc" -eq 0 ] || die "make test failed in the fresh root (exit $make_rc)"
build_at=$(awk '$1 == "build" { print $2 }' "$tmp/marks")
ctest_at=$(awk '$1 == "ctest" { print $2 }' "$tmp/marks")
phase ""
if [ -n "$build_at" ] && [ -n "$ctest_at" ]; then
  timings+=("$(printf '  %-38s %5d s' "install-deps + configure" $((build_at - make_start)))")
  timings+=("$(printf '  %-38s %5d s' "build" $((ctest_at - build_at)))")
  timings+=("$(printf '  %-38s %5d s' "ctest" $((make_end - ctest_at)))")
fi

say "times:"
printf '  %s\n' "${timings[@]}"
passed=1  # cleanup (on exit) prints the last line: passed, with the total time
phase_start=$(date +%s)
