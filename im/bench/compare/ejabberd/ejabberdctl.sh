#!/bin/bash
# ejabberd node helper for `bench --compare`; adapted from shared/anchors/im/ejabberd/ejabberdctl.sh (state under $W1_RUN).
#   ejabberdctl.sh init        -> fresh SQLite db (lite.sql schema) + spool, start, register user1..user$NUSERS, stop, save template
#   ejabberdctl.sh reset       -> restore db+spool from template (xmpp-load.mjs calls this before each run)
#   ejabberdctl.sh foreground  -> run the node attached (xmpp-load.mjs starts it this way, under taskset)
#   ejabberdctl.sh stop | ctl <ejabberdctl args>
# Env: W1_RUN (required) = work dir; NODE = node binary for the registration step (default: node).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
W1_RUN=${W1_RUN:?set W1_RUN to the compare work dir}
RUN=$W1_RUN/ejabberd
TPL=$RUN
NUSERS=${NUSERS:-2000}
mkcfg() {
  mkdir -p "$RUN"
  sed "s#@RUN@#$RUN#g" "$HERE/ejabberd/ejabberd.yml.in" > "$RUN/ejabberd.yml"
  sed "s#@RUN@#$RUN#g" "$HERE/ejabberd/ejabberdctl.cfg.in" > "$RUN/ejabberdctl.cfg"
  mkdir -p "$RUN/logs"; chown ejabberd:ejabberd "$RUN" "$RUN/logs"
}
# Run ejabberdctl directly as the ejabberd user via setpriv (no PAM): ejabberdctl's own "su" path goes through
# pam_limits, which drops RLIMIT_NOFILE to 1024 ("too many open files" at ~1000 clients). The Debian unit uses
# LimitNOFILE=65536; here we keep the caller's limit.
AS_EJ=(setpriv --reuid=ejabberd --regid=ejabberd --init-groups env HOME=/var/lib/ejabberd)
ctl() { "${AS_EJ[@]}" /usr/sbin/ejabberdctl -c "$RUN/ejabberdctl.cfg" -f "$RUN/ejabberd.yml" -s "$RUN/spool" -l "$RUN/logs" "$@"; }
case "${1:-}" in
  init)
    mkcfg; rm -rf "$RUN/database" "$RUN/spool" "$TPL"/*.template
    mkdir -p "$RUN/database" "$RUN/spool"
    sqlite3 "$RUN/database/ejabberd.db" < /usr/share/ejabberd/sql/lite.sql
    chown -R ejabberd:ejabberd "$RUN/database" "$RUN/spool"
    taskset -c 0 bash "$0" foreground >/dev/null 2>&1 & PID=$!
    trap 'bash "$0" stop >/dev/null 2>&1 || true; wait $PID 2>/dev/null || true' EXIT
    for i in $(seq 1 450); do (exec 3<>/dev/tcp/127.0.0.1/5222) 2>/dev/null && break; kill -0 $PID 2>/dev/null || { echo "ejabberd exited during init; log: $RUN/logs/ejabberd.log" >&2; exit 1; }; sleep 0.2; done
    ctl started || true
    ctl register user1 localhost pass; ctl register user2 localhost pass
    taskset -c 1 "${NODE:-node}" "$HERE/xmpp-load.mjs" register --n $((NUSERS-2)) --from 3 --concurrency 10
    bash "$0" stop >/dev/null 2>&1; trap - EXIT; wait $PID || true
    cp -a "$RUN/database" "$TPL/database.template"; cp -a "$RUN/spool" "$TPL/spool.template"
    n=$(sqlite3 "$TPL/database.template/ejabberd.db" "select count(*) from users;")
    [ "$n" = "$NUSERS" ] || { echo "ejabberd template has $n accounts, expected $NUSERS" >&2; rm -rf "$TPL"/*.template; exit 1; }
    echo "ejabberd template: $n accounts"
    ;;
  reset)
    mkcfg; [ -d "$TPL/database.template" ] || { echo "run '$0 init' first" >&2; exit 1; }
    rm -rf "$RUN/database" "$RUN/spool"; cp -a "$TPL/database.template" "$RUN/database"; cp -a "$TPL/spool.template" "$RUN/spool"
    mkdir -p "$W1_RUN/logs/server"; for f in "$RUN/logs/"*.log; do [ -f "$f" ] && mv "$f" "$W1_RUN/logs/server/$(date +%H%M%S)-ejabberd-$(basename "$f")"; done; true
    ;;
  foreground) mkcfg; cd "$RUN"; exec "${AS_EJ[@]}" /usr/sbin/ejabberdctl -c "$RUN/ejabberdctl.cfg" -f "$RUN/ejabberd.yml" -s "$RUN/spool" -l "$RUN/logs" foreground ;;
  stop) ctl stop || true; ctl stopped || true ;;
  ctl) shift; ctl "$@" ;;
  *) echo "usage: $0 init|reset|foreground|stop|ctl ..." >&2; exit 2 ;;
esac
