# etcd for kube-apiserver, single member on loopback. Sourced by e2e/testbed.

ETCD_DIR="$STATE_DIR/etcd"
ETCD_LOG="$LOG_DIR/etcd.log"

etcd_healthy() { curl -fsS "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }

etcd_up() {
  if is_running etcd; then
    say "etcd already running (pid $(pid_of etcd)) on 127.0.0.1:$ETCD_PORT"
    wait_ready etcd "$ETCD_LOG" etcd_healthy
    return 0
  fi
  require_free_port etcd "$ETCD_PORT"
  require_free_port etcd "$ETCD_PEER_PORT"
  mkdir -p "$ETCD_DIR"
  # --unsafe-no-fsync: test data is disposable, and fsync on a shared disk dominates API latency.
  start_server etcd "$ETCD_LOG" "$ETCD_BIN/etcd" --name testbed --data-dir "$ETCD_DIR/data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "testbed=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
  wait_ready etcd "$ETCD_LOG" etcd_healthy
  say "etcd $ETCD_VERSION ready on 127.0.0.1:$ETCD_PORT"
}
