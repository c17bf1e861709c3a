# Versions, ports and directories of the test bed. Sourced by e2e/testbed.
#
# Versions are read from the files that pin them (the Go wrapper modules and the Maven pom), so each
# is written down exactly once. Every port can be overridden through the environment.

tools_dir="$testbed_root/tools"

KUBE_VERSION=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$tools_dir/kube/go.mod")
ETCD_VERSION=$(sed -n 's/^require go.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' "$tools_dir/etcd/go.mod")
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$tools_dir/kafka/pom.xml")
# helm v3.21 is built against client-go v0.36, the skew that matches KUBE_VERSION.
HELM_VERSION=v3.21.4
# The commit the release tag names. The module proxy's copy carries no VCS data, and helm's own
# release build stamps it into `helm version`.
HELM_COMMIT=813176c51bb5c181dbbd7901298ddcc104cd3417
# The prometheus-operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule), taken from its
# published Go module, so that the chart's monitoring objects are validated by their real schemas.
PROMETHEUS_OPERATOR_VERSION=v0.85.0

CACHE_DIR=${COFFEE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/coffee-pipeline}
STATE_DIR=${TESTBED_STATE_DIR:-$CACHE_DIR/testbed}
LOG_DIR="$STATE_DIR/logs"
PID_DIR="$STATE_DIR/pids"
ENV_FILE="$STATE_DIR/env.sh"

KUBE_BIN="$CACHE_DIR/kube-$KUBE_VERSION/bin"
ETCD_BIN="$CACHE_DIR/etcd-$ETCD_VERSION/bin"
HELM_BIN="$CACHE_DIR/helm-$HELM_VERSION/bin"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
PROMETHEUS_OPERATOR_CRDS="$CACHE_DIR/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/crds"

KAFKA_PORT=${TESTBED_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${TESTBED_KAFKA_CONTROLLER_PORT:-19093}
KAFKA_SASL_SSL_PORT=${TESTBED_KAFKA_SASL_SSL_PORT:-19094}
KAFKA_SSL_PORT=${TESTBED_KAFKA_SSL_PORT:-19095}
# Kafka nodes; each further node's ports are the first's plus 100 (e2e/testbed.d/kafka.sh).
KAFKA_NODES=${TESTBED_KAFKA_NODES:-3}
ETCD_PORT=${TESTBED_ETCD_PORT:-12379}
ETCD_PEER_PORT=${TESTBED_ETCD_PEER_PORT:-12380}
APISERVER_PORT=${TESTBED_APISERVER_PORT:-16443}
CONTROLLER_MANAGER_PORT=${TESTBED_CONTROLLER_MANAGER_PORT:-20257}
PROMETHEUS_PORT=${TESTBED_PROMETHEUS_PORT:-19090}

# How long a server may take to become ready before `up` gives up on it.
READY_TIMEOUT=${TESTBED_READY_TIMEOUT:-120}
