# Installing and building what the servers need, cached outside the repo keyed by version.
# Sourced by e2e/testbed. A build that succeeded leaves a `.complete` marker next to its output;
# anything without the marker is rebuilt. Each build's log ends with GNU time's report (peak memory).

BUILD_LOG_DIR="$CACHE_DIR/build-logs"

# ensure_packages: installs the Debian packages the test bed and the Rust build need that are
# missing (as root), or says which to install.
ensure_packages() {
  local missing=() pair command package
  # promtool checks the chart's alert rules; buildah builds the images.
  for pair in prometheus:prometheus promtool:prometheus kcat:kcat jq:jq ss:iproute2 curl:curl \
    openssl:openssl setsid:util-linux cmake:cmake buildah:buildah; do
    command=${pair%%:*} package=${pair#*:}
    command -v "$command" > /dev/null 2>&1 || missing+=("$package")
  done
  [ -x /usr/bin/time ] || missing+=(time)
  # librdkafka 2.12 includes curl/curl.h even when built without curl (rdkafka's cmake-build),
  # and links OpenSSL for TLS and SASL/SCRAM.
  [ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -e /usr/include/curl/curl.h ] ||
    missing+=(libcurl4-openssl-dev)
  [ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
  command -v pkg-config > /dev/null 2>&1 || missing+=(pkg-config)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    fail packages "missing Debian packages: ${missing[*]} (install them with apt-get as root)"
  fi
  say "installing Debian packages: ${missing[*]}"
  local log="$BUILD_LOG_DIR/apt.log"
  mkdir -p "$BUILD_LOG_DIR"
  with_progress "apt-get install ${missing[*]}" 90 "$log" install_packages "${missing[@]}" ||
    fail packages "apt-get install ${missing[*]} failed" "$log"
}

install_packages() {
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

require_command() {
  command -v "$1" > /dev/null 2>&1 || fail "$2" "needs '$1' on PATH, which is missing"
}

# timed_build NAME LOG USUAL_SECONDS COMMAND...: runs a build under GNU time with a progress
# bar against its usual cold time on 2 cores (docs/testbed.md), failing with the log tail.
timed_build() {
  local name=$1 log=$2 usual=$3
  shift 3
  mkdir -p "$(dirname "$log")"
  say "building $name, usually about $((usual / 60)) min $((usual % 60)) s on 2 cores (log: $log)"
  local start=$SECONDS
  with_progress "building $name" "$usual" "$log" /usr/bin/time -v "$@" ||
    fail "$name" "build failed" "$log"
  say "built $name in $((SECONDS - start))s, peak RSS $(awk -F': ' '/Maximum resident/ { printf "%d MiB", $2 / 1024 }' "$log")"
}

ensure_kube_binaries() {
  [ -f "$KUBE_BIN/.complete" ] && return 0
  require_command go kube-apiserver
  local ldflags="-s -w" pkg minor=${KUBE_VERSION#v1.}
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  mkdir -p "$KUBE_BIN"
  (cd "$tools_dir/kube" && CGO_ENABLED=0 timed_build "kube-apiserver, kube-controller-manager and kubectl $KUBE_VERSION" \
    "$BUILD_LOG_DIR/kube-$KUBE_VERSION.log" 340 \
    go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$KUBE_BIN/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  touch "$KUBE_BIN/.complete"
}

ensure_etcd() {
  [ -f "$ETCD_BIN/.complete" ] && return 0
  require_command go etcd
  mkdir -p "$ETCD_BIN"
  (cd "$tools_dir/etcd" && CGO_ENABLED=0 timed_build "etcd $ETCD_VERSION" "$BUILD_LOG_DIR/etcd-$ETCD_VERSION.log" 60 \
    go build -mod=readonly -trimpath -ldflags "-s -w" -o "$ETCD_BIN/etcd" .)
  touch "$ETCD_BIN/.complete"
}

# helm_ldflags MODULE_DIR: the flags helm's own Makefile stamps into a release: version, commit and
# tree state for `helm version`, and the Kubernetes version of the client-go it was built against,
# which `helm template` and `helm lint` assume without a cluster (unset, they assume v1.20 and
# refuse a chart asking for `kubeVersion: >=1.27`).
helm_ldflags() {
  local minor pkg=helm.sh/helm/v3 part
  minor=$(sed -n 's/^\t*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$1/go.mod")
  [ -n "$minor" ] || return 1
  printf '%s' "-s -w -X $pkg/internal/version.version=$HELM_VERSION -X $pkg/internal/version.gitCommit=$HELM_COMMIT"
  printf '%s' " -X $pkg/internal/version.gitTreeState=clean -X $pkg/internal/version.metadata="
  for part in pkg/chartutil pkg/lint/rules; do
    printf '%s' " -X $pkg/$part.k8sVersionMajor=1 -X $pkg/$part.k8sVersionMinor=$minor"
  done
}

# The marker names how the cached binary was built, so a cache made before a change of recipe is
# rebuilt; a cached helm needs neither go nor the module proxy.
ensure_helm() {
  local recipe="release ldflags, $HELM_VERSION at $HELM_COMMIT"
  [ "$(cat "$HELM_BIN/.complete" 2> /dev/null)" = "$recipe" ] && return 0
  require_command go helm
  local module="helm.sh/helm/v3@$HELM_VERSION" dir ldflags log="$BUILD_LOG_DIR/helm-$HELM_VERSION.log"
  mkdir -p "$BUILD_LOG_DIR" "$HELM_BIN"
  dir=$(cd "$tools_dir" && go mod download -json "$module" 2> "$log" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') || true
  [ -n "$dir" ] || fail helm "go mod download $module failed" "$log"
  ldflags=$(helm_ldflags "$dir") || fail helm "no k8s.io/client-go in $dir/go.mod"
  CGO_ENABLED=0 GOBIN="$HELM_BIN" timed_build "helm $HELM_VERSION" "$log" 85 \
    go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  printf '%s' "$recipe" > "$HELM_BIN/.complete"
}

ensure_kafka_jars() {
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  require_command mvn kafka
  require_command java kafka
  mkdir -p "$KAFKA_LIBS"
  timed_build "kafka $KAFKA_VERSION jars" "$BUILD_LOG_DIR/kafka-$KAFKA_VERSION.log" 15 \
    mvn -B -f "$tools_dir/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
  touch "$KAFKA_LIBS/.complete"
}

ensure_prometheus_operator_crds() {
  [ -f "$PROMETHEUS_OPERATOR_CRDS/.complete" ] && return 0
  require_command go prometheus-operator-crds
  local module=github.com/prometheus-operator/prometheus-operator dir kind
  local log="$BUILD_LOG_DIR/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION.log"
  mkdir -p "$BUILD_LOG_DIR" "$PROMETHEUS_OPERATOR_CRDS"
  say "downloading the prometheus-operator $PROMETHEUS_OPERATOR_VERSION module for its CRDs"
  dir=$(cd "$tools_dir" && GOFLAGS=-mod=mod go mod download -json "$module@$PROMETHEUS_OPERATOR_VERSION" 2> "$log" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') || true
  [ -n "$dir" ] || fail prometheus-operator-crds "go mod download $module@$PROMETHEUS_OPERATOR_VERSION failed" "$log"
  for kind in servicemonitors podmonitors prometheusrules; do
    cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$PROMETHEUS_OPERATOR_CRDS/"
  done
  touch "$PROMETHEUS_OPERATOR_CRDS/.complete"
}

ensure_all() {
  ensure_packages
  ensure_kafka_jars
  # The Kubernetes build keeps little more than one core busy (downloads, three links): etcd, helm
  # and the CRDs are built beside it, which takes about 3 of a fresh machine's 12 minutes off.
  # Their notes come every 30 s instead of a second progress bar on the same line.
  local others
  (ensure_etcd && ensure_helm && ensure_prometheus_operator_crds) 2> >(cat >&2) &
  others=$!
  ensure_kube_binaries
  wait "$others" || exit 1
}
