# Prometheus from Debian's package, scraping whatever targets files appear in its targets directory
# (file-based service discovery: the local pod runtime and tests write JSON files there).
# Sourced by e2e/testbed.

PROMETHEUS_DIR="$STATE_DIR/prometheus"
PROMETHEUS_TARGETS_DIR="$PROMETHEUS_DIR/targets"
PROMETHEUS_LOG="$LOG_DIR/prometheus.log"

prometheus_ready() { curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"; }

# The scrape configuration. Targets come from file_sd documents (the local pod runtime writes one
# per Deployment, with each pod's labels as __meta_kubernetes_pod_label_* like Kubernetes service
# discovery); the relabelling is what the chart's PodMonitor does in a cluster. honor_labels keeps
# the operator's own `namespace` label on its autoscaler series (the pipeline's namespace).
write_prometheus_config() {
  mkdir -p "$PROMETHEUS_TARGETS_DIR" "$PROMETHEUS_DIR/data"
  cat > "$PROMETHEUS_DIR/prometheus.yml" <<YAML
# Written by e2e/testbed. Short intervals: tests wait for scraped values.
global:
  scrape_interval: 2s
  evaluation_interval: 2s
scrape_configs:
  - job_name: testbed
    honor_labels: true
    file_sd_configs:
      - files: ['$PROMETHEUS_TARGETS_DIR/*.json']
        refresh_interval: 5s
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_managed_by, __meta_kubernetes_pod_label_app_kubernetes_io_instance]
        regex: coffee-operator;(.+)
        target_label: pipeline
      - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_managed_by, __meta_kubernetes_pod_label_app_kubernetes_io_component]
        regex: coffee-operator;(.+)
        target_label: component
YAML
}

prometheus_up() {
  write_prometheus_config
  if is_running prometheus; then
    say "prometheus already running (pid $(pid_of prometheus)) on 127.0.0.1:$PROMETHEUS_PORT"
    wait_ready prometheus "$PROMETHEUS_LOG" prometheus_ready
    # A configuration written by an older checkout is replaced in place.
    curl -fsS -X POST "http://127.0.0.1:$PROMETHEUS_PORT/-/reload" > /dev/null ||
      fail prometheus "reloading its configuration failed" "$PROMETHEUS_LOG"
    return 0
  fi
  require_free_port prometheus "$PROMETHEUS_PORT"
  start_server prometheus "$PROMETHEUS_LOG" prometheus \
    --config.file="$PROMETHEUS_DIR/prometheus.yml" --storage.tsdb.path="$PROMETHEUS_DIR/data" \
    --storage.tsdb.retention.time=1d --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --web.enable-lifecycle
  wait_ready prometheus "$PROMETHEUS_LOG" prometheus_ready
  say "prometheus $(prometheus --version 2>&1 | awk 'NR == 1 { print $3 }') ready on 127.0.0.1:$PROMETHEUS_PORT"
}
