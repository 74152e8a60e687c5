#!/usr/bin/env bash
# The lab's `systemctl` for the fault-injection boots (lab/lib/faults-boot.sh). The lab has no
# systemd as PID 1, so this does what systemd would do with the units our user data writes, for
# the few verbs our installer and nodeadm use (our model, `nodeadm-sim init`, or a current nodeadm-labsd):
#   start|restart|stop UNIT..., is-active [--quiet] UNIT, is-enabled UNIT,
#   enable|disable [--now] UNIT..., daemon-reload (no-op).
# Units it knows, each started the way its unit file says:
#   soci-snapshotter.socket     bookkeeping only (SOCI runs without socket activation in the lab)
#   soci-snapshotter.service    the unit file's ExecStart, in the background; "started" once its socket exists
#   containerd.service          first the Requires=/Wants= of containerd.service.d/*.conf drop-ins (in
#                               /etc/systemd/system and the runtime /run/systemd/system), then
#                               containerd --config /etc/containerd/config.toml; "started" once ctr answers
#   other *.service (Type=oneshot, e.g. soci-eks-install.service)  the unit file's ExecStart (RemainAfterExit)
#   *.timer                     bookkeeping only, when its unit file exists (the lab runs no timers)
#   kubelet.service             first every enabled unit with RequiredBy=kubelet.service, then every
#                               ExecStartPre= of kubelet.service.d/*.conf drop-ins (/etc and /run); no kubelet binary runs:
#                               the lab plays kubelet's CRI calls with crictl afterwards
# A start that fails exits 1 ("Job for X failed"), as systemctl does. Units a failing Requires= pulls
# in fail their dependant. soci-snapshotter.service's Restart=always/RestartSec= is emulated by a
# background supervisor (restarts the daemon when its start fails or it dies; gives up after 12 failed starts). Not emulated: socket activation, ordering beyond the above.
# State: /run/lab-systemd (gone at "reboot": /run is a fresh tmpfs per boot); enablement:
# /etc/systemd/system/.lab-enabled (persists with /etc). Logs: $LAB_SD_LOGS (default /run/lab-systemd/logs).
set -euo pipefail

STATE=/run/lab-systemd
UNITS=/etc/systemd/system
ENABLED=$UNITS/.lab-enabled
LOGS=${LAB_SD_LOGS:-$STATE/logs}
mkdir -p "$STATE" "$ENABLED" "$LOGS"
echo "systemctl $*" >>"$LOGS/systemctl.log"

SOCI_SOCK=/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock
CTR_SOCK=/run/containerd/containerd.sock

say() { echo "$*" >&2; echo "  $*" >>"$LOGS/systemctl.log"; }
pid_alive() { [[ -f $STATE/$1.pid ]] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }
is_active() {
  case $1 in
    soci-snapshotter.service | containerd.service) pid_alive "$1" ;;
    *) [[ -f $STATE/$1.active ]] ;;
  esac
}
unit_exec() { sed -n "s/^$2=//p" "$UNITS/$1" 2>/dev/null | head -n 1; }
wait_until() { # SECONDS CMD...
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    if "${@:2}" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}
failed() { say "Job for $1 failed: $2. See $LOGS/$1.log"; return 1; }

# Restart=always: systemd starts the daemon again RestartSec after it failed to start or died. A
# supervisor per start watches the daemon (every 0.5 s) and starts it again; it gives up after 12
# failed starts in a row, and `stop` ends it.
restarter() {
  local u=soci-snapshotter.service sec n=0
  grep -q '^Restart=always' "$UNITS/$u" || return 0
  [[ -f $STATE/$u.restarter ]] && kill -0 "$(cat "$STATE/$u.restarter")" 2>/dev/null && return 0
  sec=$(unit_exec "$u" RestartSec)
  (
    while ((n < 12)); do
      if pid_alive "$u"; then
        n=0
        sleep 0.5
        continue
      fi
      echo "Restart=always: $u is not running; starting it again in ${sec:-5}s" >>"$LOGS/$u.log"
      sleep "${sec:-5}"
      if start_soci_once; then echo "Restart=always: $u started again" >>"$LOGS/$u.log"; else n=$((n + 1)); fi
    done
    rm -f "$STATE/$u.restarter"
  ) >/dev/null 2>&1 </dev/null &
  echo "$!" >"$STATE/$u.restarter"
}

start_soci() {
  local rc=0
  start_soci_once || rc=1
  restarter
  return "$rc"
}

start_soci_once() {
  local u=soci-snapshotter.service cmd pid
  cmd=$(unit_exec "$u" ExecStart)
  [[ -n $cmd ]] || { failed "$u" "no ExecStart in $UNITS/$u"; return 1; }
  # shellcheck disable=SC2086 # the unit's ExecStart, word-split like systemd does
  setsid $cmd --log-level debug >>"$LOGS/$u.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE/$u.pid"
  if ! wait_until 30 up_or_dead "$pid" test -S "$SOCI_SOCK" || ! kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    rm -f "$STATE/$u.pid"
    failed "$u" "no socket $SOCI_SOCK (process $(kill -0 "$pid" 2>/dev/null && echo running || echo exited))"
    return 1
  fi
  # Type=notify: ready when its gRPC socket answers; it must also still run.
  pid_alive "$u" || { failed "$u" "exited"; return 1; }
}

RUNTIME_UNITS=/run/systemd/system
# dropins UNIT: the unit's drop-in files, from /etc/systemd/system and the runtime /run/systemd/system
dropins() {
  local f
  for f in "$UNITS/$1.d"/*.conf "$RUNTIME_UNITS/$1.d"/*.conf; do [[ -f $f ]] && echo "$f"; done
  return 0
}

deps_of_containerd() { # KEY (Requires|Wants): units from the drop-ins
  local f
  for f in $(dropins containerd.service); do sed -n "s/^$1=//p" "$f"; done | tr ' ' '\n' | sed '/^$/d' || true
}

start_containerd() {
  local u=containerd.service d pid
  for d in $(deps_of_containerd Requires); do start_unit "$d" || { failed "$u" "dependency $d failed"; return 1; }; done
  for d in $(deps_of_containerd Wants); do start_unit "$d" || say "wanted unit $d failed; going on"; done
  setsid containerd --config /etc/containerd/config.toml --log-level debug >>"$LOGS/$u.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE/$u.pid"
  if ! wait_until 30 up_or_dead "$pid" ctr --address "$CTR_SOCK" version || ! kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    rm -f "$STATE/$u.pid"
    failed "$u" "containerd did not answer"
    return 1
  fi
}
# shellcheck disable=SC2317 # called through wait_until
up_or_dead() { # PID CMD...: true when CMD succeeds or PID has exited (ends the wait either way)
  ! kill -0 "$1" 2>/dev/null || "${@:2}"
}

start_oneshot() { # UNIT
  local cmd
  cmd=$(unit_exec "$1" ExecStart)
  [[ -n $cmd ]] || { failed "$1" "no ExecStart in $UNITS/$1"; return 1; }
  # Requires=containerd.service (our pause-import unit)
  if grep -q '^Requires=.*containerd.service' "$UNITS/$1"; then start_unit containerd.service || { failed "$1" "dependency containerd.service failed"; return 1; }; fi
  # shellcheck disable=SC2086 # the unit's ExecStart, word-split like systemd does
  if $cmd >>"$LOGS/$1.log" 2>&1 </dev/null; then touch "$STATE/$1.active"; else failed "$1" "ExecStart exited $?"; fi
}

start_kubelet() {
  local u=kubelet.service e pre
  for e in "$ENABLED"/*; do
    [[ -f $e ]] || continue
    e=${e##*/}
    grep -q '^RequiredBy=.*kubelet.service' "$UNITS/$e" 2>/dev/null || continue
    start_unit "$e" || { failed "$u" "dependency $e failed"; return 1; }
  done
  for pre in $(dropins kubelet.service); do
    while IFS= read -r line; do
      echo "ExecStartPre: $line" >>"$LOGS/$u.log"
      # systemd's quoting of simple command lines matches the shell's
      bash -c "$line" >>"$LOGS/$u.log" 2>&1 </dev/null || { failed "$u" "ExecStartPre ($pre) exited $?"; return 1; }
    done < <(sed -n 's/^ExecStartPre=//p' "$pre")
  done
  echo "kubelet would start now (the lab plays its CRI calls with crictl)" >>"$LOGS/$u.log"
  touch "$STATE/$u.active"
}

start_unit() {
  is_active "$1" && return 0
  case $1 in
    soci-snapshotter.socket) touch "$STATE/$1.active" ;;
    soci-snapshotter.service) start_soci ;;
    containerd.service) start_containerd ;;
    kubelet.service) start_kubelet ;;
    *.timer) if [[ -f $UNITS/$1 ]]; then touch "$STATE/$1.active"; else say "Unit $1 not found."; return 5; fi ;;
    *.service) if grep -q '^Type=oneshot' "$UNITS/$1" 2>/dev/null; then start_oneshot "$1"; else say "Unit $1 not found."; return 5; fi ;;
    *) say "Unit $1 not found."; return 5 ;;
  esac
}

stop_unit() {
  local pid
  if [[ -f $STATE/$1.restarter ]]; then kill -TERM "$(cat "$STATE/$1.restarter")" 2>/dev/null || true; rm -f "$STATE/$1.restarter"; fi
  if [[ -f $STATE/$1.pid ]]; then
    pid=$(cat "$STATE/$1.pid")
    kill -TERM "$pid" 2>/dev/null || true
    wait_until 15 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
    rm -f "$STATE/$1.pid"
  fi
  rm -f "$STATE/$1.active"
}

verb=${1:-}
shift || true
rc=0
case $verb in
  daemon-reload) ;;
  start) for u in "$@"; do start_unit "$u" || rc=1; done ;;
  restart) for u in "$@"; do stop_unit "$u"; start_unit "$u" || rc=1; done ;;
  stop) for u in "$@"; do stop_unit "$u"; done ;;
  is-active)
    [[ ${1:-} == --quiet ]] && shift
    is_active "$1" || rc=3
    ;;
  is-enabled) [[ -f $ENABLED/$1 ]] || rc=1 ;;
  enable | disable)
    now=0
    if [[ ${1:-} == --now ]]; then now=1; shift; fi
    for u in "$@"; do
      if [[ $verb == enable ]]; then
        touch "$ENABLED/$u"
        if ((now)); then start_unit "$u" || rc=1; fi
      else
        rm -f "$ENABLED/$u"
        if ((now)); then stop_unit "$u"; fi
      fi
    done
    ;;
  *) say "lab systemctl: verb '$verb' is not emulated"; rc=1 ;;
esac
exit "$rc"
