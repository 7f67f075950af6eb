#!/bin/bash
# Prosody instance helper for `bench --compare`; adapted from shared/anchors/im/prosody/prosodyctl.sh (state under $W1_RUN, not next to the script).
#   prosodyctl.sh init     -> fresh data dir, start prosody, register user1..user$NUSERS via IBR, stop, save template
#   prosodyctl.sh reset    -> restore data dir from template (xmpp-load.mjs calls this before every run)
#   prosodyctl.sh ctl ...  -> prosodyctl with our config (e.g. "ctl register user9999 localhost pass")
# Env: W1_RUN (required) = work dir; NODE = node binary for the registration step (default: node).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
W1_RUN=${W1_RUN:?set W1_RUN to the compare work dir}
RUN=$W1_RUN/prosody
TPL=$RUN/data.template
CFG=$RUN/prosody.cfg.lua
NUSERS=${NUSERS:-2000}
mkcfg() { mkdir -p "$RUN"; sed "s#@RUN@#$RUN#g" "$HERE/prosody/prosody.cfg.lua.in" > "$CFG"; }
case "${1:-}" in
  init)
    mkcfg; rm -rf "$RUN/data" "$TPL"; mkdir -p "$RUN/data"
    prosodyctl --config "$CFG" check config >/dev/null 2>&1 || true
    taskset -c 0 prosody --config "$CFG" -F & PID=$!
    trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
    for i in $(seq 1 150); do (exec 3<>/dev/tcp/127.0.0.1/5222) 2>/dev/null && break; kill -0 $PID 2>/dev/null || { echo "prosody exited during init; log: $RUN/prosody.err" >&2; exit 1; }; sleep 0.2; done
    # 2 accounts via prosodyctl (the official path), the rest via in-band registration (fast)
    prosodyctl --config "$CFG" register user1 localhost pass; prosodyctl --config "$CFG" register user2 localhost pass
    taskset -c 1 "${NODE:-node}" "$HERE/xmpp-load.mjs" register --n $((NUSERS-2)) --from 3 --concurrency 10
    kill $PID; wait $PID || true; trap - EXIT
    cp -a "$RUN/data" "$TPL"
    n=$(sqlite3 "$TPL/prosody.sqlite" "select count(*) from prosody where store='accounts' and key='stored_key';")
    [ "$n" = "$NUSERS" ] || { echo "prosody template has $n accounts, expected $NUSERS" >&2; rm -rf "$TPL"; exit 1; }
    echo "prosody template: $n accounts"
    ;;
  reset)
    mkcfg; [ -d "$TPL" ] || { echo "run '$0 init' first" >&2; exit 1; }
    rm -rf "$RUN/data"; cp -a "$TPL" "$RUN/data"
    mkdir -p "$W1_RUN/logs/server"; for f in prosody.log prosody.err; do [ -f "$RUN/$f" ] && mv "$RUN/$f" "$W1_RUN/logs/server/$(date +%H%M%S)-$f"; done; true
    ;;
  ctl) shift; mkcfg; prosodyctl --config "$CFG" "$@" ;;
  *) echo "usage: $0 init|reset|ctl ..." >&2; exit 2 ;;
esac
