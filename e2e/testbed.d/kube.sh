# kube-apiserver (RBAC on) and kube-controller-manager on loopback, with certificates made by
# openssl and an admin kubeconfig. Sourced by e2e/testbed.

KUBE_DIR="$STATE_DIR/kube"
PKI_DIR="$KUBE_DIR/pki"
ADMIN_KUBECONFIG="$KUBE_DIR/admin.kubeconfig"
APISERVER_LOG="$LOG_DIR/kube-apiserver.log"
CONTROLLER_MANAGER_LOG="$LOG_DIR/kube-controller-manager.log"
# What service accounts ask the API server for (metadata only): the RBAC test compares the
# operator's requests with the chart's rules.
AUDIT_POLICY="$KUBE_DIR/audit-policy.yaml"
AUDIT_LOG="$LOG_DIR/kube-apiserver-audit.log"

# Controllers that would create Pods or ReplicaSets: the local pod runtime plays their part.
DISABLED_CONTROLLERS=deployment-controller,replicaset-controller,replicationcontroller-controller,statefulset-controller,daemonset-controller,job-controller,cronjob-controller

# client_cert NAME CN [O]: a client certificate signed by the test bed's CA.
client_cert() {
  local name=$1 cn=$2 org=${3:-} subject
  subject="/CN=$cn"
  [ -n "$org" ] && subject="/O=$org/CN=$cn"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI_DIR/$name.key" -subj "$subject" \
    -out "$PKI_DIR/$name.csr" 2> /dev/null
  openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" \
    -CAcreateserial -days 3650 -out "$PKI_DIR/$name.crt" \
    -extfile <(printf 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n') 2> /dev/null
}

ensure_pki() {
  [ -f "$PKI_DIR/.complete" ] && return 0
  mkdir -p "$PKI_DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=coffee-testbed-ca" \
    -keyout "$PKI_DIR/ca.key" -out "$PKI_DIR/ca.crt" 2> /dev/null
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI_DIR/apiserver.key" -subj "/CN=kube-apiserver" \
    -out "$PKI_DIR/apiserver.csr" 2> /dev/null
  openssl x509 -req -in "$PKI_DIR/apiserver.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" \
    -CAcreateserial -days 3650 -out "$PKI_DIR/apiserver.crt" -extfile <(printf '%s\n' \
      'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local' \
      'extendedKeyUsage=serverAuth' 'keyUsage=digitalSignature,keyEncipherment') 2> /dev/null
  client_cert admin admin system:masters
  client_cert controller-manager system:kube-controller-manager
  openssl genrsa -out "$PKI_DIR/sa.key" 2048 2> /dev/null
  openssl rsa -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2> /dev/null
  touch "$PKI_DIR/.complete"
}

# write_kubeconfig FILE CERT_NAME: a kubeconfig with embedded certificates for one identity.
write_kubeconfig() {
  local file=$1 cert=$2 kubectl="$KUBE_BIN/kubectl"
  rm -f "$file"
  "$kubectl" --kubeconfig "$file" config set-cluster testbed --server "https://127.0.0.1:$APISERVER_PORT" \
    --certificate-authority "$PKI_DIR/ca.crt" --embed-certs > /dev/null
  "$kubectl" --kubeconfig "$file" config set-credentials "$cert" --client-certificate "$PKI_DIR/$cert.crt" \
    --client-key "$PKI_DIR/$cert.key" --embed-certs > /dev/null
  "$kubectl" --kubeconfig "$file" config set-context testbed --cluster testbed --user "$cert" > /dev/null
  "$kubectl" --kubeconfig "$file" config use-context testbed > /dev/null
}

apiserver_ready() {
  curl -fsS --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" | grep -qx ok
}

# Requests of service accounts at Metadata level (who, verb, resource, name; never a body), once
# each when complete; nothing else.
write_audit_policy() {
  mkdir -p "$KUBE_DIR"
  cat > "$AUDIT_POLICY" << 'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
POLICY
}

apiserver_up() {
  if is_running kube-apiserver; then
    say "kube-apiserver already running (pid $(pid_of kube-apiserver)) on https://127.0.0.1:$APISERVER_PORT"
    wait_ready kube-apiserver "$APISERVER_LOG" apiserver_ready
    return 0
  fi
  require_free_port kube-apiserver "$APISERVER_PORT"
  ensure_pki
  write_audit_policy
  start_server kube-apiserver "$APISERVER_LOG" "$KUBE_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$PKI_DIR/apiserver.crt" --tls-private-key-file "$PKI_DIR/apiserver.key" \
    --client-ca-file "$PKI_DIR/ca.crt" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI_DIR/sa.pub" --service-account-signing-key-file "$PKI_DIR/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 --allow-privileged=true --profiling=false \
    --audit-policy-file "$AUDIT_POLICY" --audit-log-path "$AUDIT_LOG" --audit-log-format json \
    --audit-log-maxsize 100 --audit-log-maxbackup 2
  wait_ready kube-apiserver "$APISERVER_LOG" apiserver_ready
  if grep -q 'RequestWatchProgress' "$APISERVER_LOG"; then
    fail kube-apiserver "etcd does not support RequestWatchProgress; etcd $ETCD_VERSION is too old" "$APISERVER_LOG"
  fi
  write_kubeconfig "$ADMIN_KUBECONFIG" admin
  say "kube-apiserver $KUBE_VERSION ready on https://127.0.0.1:$APISERVER_PORT"
}

# The controller manager is ready when its health endpoint answers and its service-account
# controller has created the default ServiceAccount: proof that its controllers really run.
controller_manager_ready() {
  curl -fsSk "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz" | grep -qx ok &&
    "$KUBE_BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" get serviceaccount default -n default
}

controller_manager_up() {
  if is_running kube-controller-manager; then
    say "kube-controller-manager already running (pid $(pid_of kube-controller-manager))"
    wait_ready kube-controller-manager "$CONTROLLER_MANAGER_LOG" controller_manager_ready
    return 0
  fi
  require_free_port kube-controller-manager "$CONTROLLER_MANAGER_PORT"
  local kubeconfig="$KUBE_DIR/controller-manager.kubeconfig"
  write_kubeconfig "$kubeconfig" controller-manager
  start_server kube-controller-manager "$CONTROLLER_MANAGER_LOG" "$KUBE_BIN/kube-controller-manager" \
    --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" \
    --authorization-kubeconfig "$kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" \
    --root-ca-file "$PKI_DIR/ca.crt" --service-account-private-key-file "$PKI_DIR/sa.key" \
    --use-service-account-credentials=true --leader-elect=false \
    --controllers "*,-${DISABLED_CONTROLLERS//,/,-}"
  wait_ready kube-controller-manager "$CONTROLLER_MANAGER_LOG" controller_manager_ready
  say "kube-controller-manager $KUBE_VERSION ready (garbage collector, namespace and service-account controllers)"
}
