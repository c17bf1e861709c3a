# Apache Kafka as a platform team runs it, on loopback: KAFKA_NODES KRaft nodes (three by
# default), each broker and controller in one JVM with the three as the controller quorum;
# replication factor 3 with min.insync.replicas=2 and no unclean leader election; ACLs enforced by
# the StandardAuthorizer, nothing allowed without one. Every node listens on
#   PLAINTEXT  the test bed's own admin (anonymous, a super user) and the brokers between them,
#   SASL_SSL   SCRAM-SHA-512 users, over TLS with a CA made at the first `up`,
#   SSL        client certificates (principal User:CN=<common name>).
# TESTBED_KAFKA_NODES=1 gives a single node for a quick look; the tests expect three.
# Sourced by e2e/testbed.

KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_TLS_DIR="$KAFKA_DIR/tls"
KAFKA_USERS_FILE="$KAFKA_DIR/users"
# Principals the test bed creates: its SCRAM admin (a super user like the PLAINTEXT listener's
# anonymous one) and a tenant, who gets only the ACLs a test grants it — as SCRAM user and as the
# subject of the client certificate.
KAFKA_ADMIN_USER=coffee-admin
KAFKA_TENANT_USER=coffee-tenant

kafka_java() { java -cp "$KAFKA_LIBS/*" "$@"; }

kafka_nodes() { seq 1 "$KAFKA_NODES"; }
kafka_server() { echo "kafka-$1"; }
kafka_log() { echo "$LOG_DIR/kafka-$1.log"; }
# kafka_port LISTENER NODE: each node's ports are the first node's plus 100 per node.
kafka_port() {
  local base
  case $1 in
    PLAINTEXT) base=$KAFKA_PORT ;;
    CONTROLLER) base=$KAFKA_CONTROLLER_PORT ;;
    SASL_SSL) base=$KAFKA_SASL_SSL_PORT ;;
    SSL) base=$KAFKA_SSL_PORT ;;
  esac
  echo $((base + 100 * ($2 - 1)))
}
# kafka_servers LISTENER: the bootstrap list of every node's LISTENER.
kafka_servers() {
  local node list=()
  for node in $(kafka_nodes); do list+=("127.0.0.1:$(kafka_port "$1" "$node")"); done
  (IFS=,; echo "${list[*]}")
}

# The CA, one broker certificate for 127.0.0.1 (every node listens there) and the tenant's client
# certificate, valid 30 days and made again when less than a day is left.
make_kafka_certificates() {
  local dir=$KAFKA_TLS_DIR
  if [ -f "$dir/client.crt" ] && openssl x509 -checkend 86400 -noout -in "$dir/client.crt" > /dev/null 2>&1; then
    return 0
  fi
  rm -rf "$dir" && mkdir -p "$dir" && chmod 700 "$dir"
  local log="$LOG_DIR/kafka-certificates.log" key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
  (
    cd "$dir"
    openssl req -x509 -nodes -days 30 -subj /CN=coffee-testbed-ca "${key[@]}" -keyout ca.key -out ca.pem
    for pair in broker:serverAuth:127.0.0.1 client:clientAuth:$KAFKA_TENANT_USER; do
      IFS=: read -r name usage cn <<< "$pair"
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=%s\n' "$usage" > "$name.ext"
      openssl req -nodes -subj "/CN=$cn" "${key[@]}" -keyout "$name.key" -out "$name.csr"
      openssl x509 -req -days 30 -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -extfile "$name.ext" -out "$name.crt"
    done
    cat broker.key broker.crt > broker.pem
  ) > "$log" 2>&1 || fail kafka "making the test CA and certificates failed" "$log"
}

# The SCRAM users' passwords, made once per formatted cluster; the file is readable by root only.
kafka_password() { sed -n "s/^$1=//p" "$KAFKA_USERS_FILE"; }
make_kafka_users() {
  [ -f "$KAFKA_USERS_FILE" ] && return 0
  (
    umask 077
    for user in "$KAFKA_ADMIN_USER" "$KAFKA_TENANT_USER"; do
      echo "$user=$(openssl rand -hex 16)"
    done > "$KAFKA_USERS_FILE"
  )
}

write_kafka_config() {
  local node=$1 dir="$KAFKA_DIR/node-$1" voters=() other replicas isr
  for other in $(kafka_nodes); do voters+=("$other@127.0.0.1:$(kafka_port CONTROLLER "$other")"); done
  replicas=$((KAFKA_NODES < 3 ? KAFKA_NODES : 3))
  isr=$((replicas < 2 ? 1 : 2))
  mkdir -p "$dir/data"
  local plain="PLAINTEXT://127.0.0.1:$(kafka_port PLAINTEXT "$node")"
  local sasl="SASL_SSL://127.0.0.1:$(kafka_port SASL_SSL "$node")"
  local ssl="SSL://127.0.0.1:$(kafka_port SSL "$node")"
  {
    sed -e "s|@PORT@|$(kafka_port PLAINTEXT "$node")|g" \
      -e "s|@CONTROLLER_PORT@|$(kafka_port CONTROLLER "$node")|g" \
      -e "s|@LISTENER@|PLAINTEXT|g" -e "s|@LOG_DIRS@|$dir/data|g" \
      "$testbed_root/testbed.d/kafka/server.properties"
    # A later key wins in a properties file: these replace the single node's settings above.
    cat <<PROPS
node.id=$node
controller.quorum.voters=$(IFS=,; echo "${voters[*]}")
listeners=$plain,$sasl,$ssl,CONTROLLER://127.0.0.1:$(kafka_port CONTROLLER "$node")
advertised.listeners=$plain,$sasl,$ssl
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
default.replication.factor=$replicas
min.insync.replicas=$isr
unclean.leader.election.enable=false
offsets.topic.replication.factor=$replicas
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$isr
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$KAFKA_TLS_DIR/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_TLS_DIR/ca.pem
listener.name.ssl.ssl.client.auth=required
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:ANONYMOUS;User:$KAFKA_ADMIN_USER
PROPS
  } > "$dir/server.properties"
  # Kafka 4 logs through log4j2; its shipped YAML config would need another Jackson jar.
  cat > "$dir/log4j2.properties" <<PROPS
rootLogger.level=INFO
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.apache.name=org.apache.kafka
logger.apache.level=INFO
logger.controller.name=kafka.controller
logger.controller.level=WARN
PROPS
}

# Data of a cluster with another number of nodes (or of the single-broker test bed of before)
# cannot be reused: it goes.
forget_other_kafka_shape() {
  [ "$(cat "$KAFKA_DIR/nodes" 2> /dev/null)" = "$KAFKA_NODES" ] && return 0
  [ -d "$KAFKA_DIR" ] && say "kafka: data of another cluster shape in $KAFKA_DIR; starting afresh"
  rm -rf "$KAFKA_DIR"
  mkdir -p "$KAFKA_DIR"
  echo "$KAFKA_NODES" > "$KAFKA_DIR/nodes"
}

# Every node formatted with one cluster id and the SCRAM users.
format_kafka() {
  local node log scram=()
  for user in "$KAFKA_ADMIN_USER" "$KAFKA_TENANT_USER"; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(kafka_password "$user")]")
  done
  if [ ! -s "$KAFKA_DIR/cluster-id" ]; then
    log=$(kafka_log 1)
    kafka_java kafka.tools.StorageTool random-uuid > "$KAFKA_DIR/cluster-id" 2>> "$log" \
      || fail kafka "could not generate a cluster id" "$log"
  fi
  for node in $(kafka_nodes); do
    [ -f "$KAFKA_DIR/node-$node/data/meta.properties" ] && continue
    log=$(kafka_log "$node")
    kafka_java kafka.tools.StorageTool format -t "$(cat "$KAFKA_DIR/cluster-id")" \
      -c "$KAFKA_DIR/node-$node/server.properties" "${scram[@]}" >> "$log" 2>&1 \
      || fail "$(kafka_server "$node")" "formatting the KRaft storage failed" "$log"
  done
}

# kafka_node_ready NODE: the node answers metadata listing every node of the cluster.
kafka_node_ready() {
  local listed
  listed=$(kcat -b "127.0.0.1:$(kafka_port PLAINTEXT "$1")" -L -J -m 2 2> /dev/null | grep -o '"id":[0-9]*' | sort -u | wc -l)
  [ "$listed" -ge "$KAFKA_NODES" ]
}

# kafka_in_sync: no partition of the cluster has a replica outside its in-sync set.
kafka_in_sync() {
  local behind
  behind=$(kcat -b "$(kafka_servers PLAINTEXT)" -L -J -m 5 2> /dev/null \
    | jq '[.topics[].partitions[] | select((.isrs | length) < (.replicas | length))] | length') || return 1
  [ "$behind" = 0 ]
}

# kafka_rolling_restart: each node in turn stopped (SIGTERM: a controlled shutdown hands its
# leaderships over), started, and waited for until every replica is in sync again — the way an
# operator upgrades a cluster without losing min.insync.replicas.
kafka_rolling_restart() {
  local node
  for node in $(kafka_nodes); do
    stop_server "$(kafka_server "$node")"
    kafka_up "$node"
    wait_ready "$(kafka_server "$node")" "$(kafka_log "$node")" kafka_in_sync
  done
}

# kafka_start NODE: starts one node (configured and formatted) in the background.
kafka_start() {
  local node=$1 dir="$KAFKA_DIR/node-$1" server
  server=$(kafka_server "$node")
  require_free_port "$server" "$(kafka_port PLAINTEXT "$node")"
  for listener in CONTROLLER SASL_SSL SSL; do
    require_free_port "$server" "$(kafka_port "$listener" "$node")"
  done
  # G1 settings of Kafka's own start script. A 512 MiB heap was 83 % full after an hour of tests
  # on one broker and collected every ten seconds or so, so it may grow to 1 GiB.
  start_server "$server" "$(kafka_log "$node")" java -Xms256m -Xmx1g -XX:+UseG1GC \
    -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    "-Dlog4j2.configurationFile=$dir/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties"
}

# kafka_up [NODE...]: starts the nodes not running (all by default) and waits until every node
# serves metadata naming the whole cluster. The quorum needs a majority, so all start at once.
kafka_up() {
  local node nodes=("$@")
  [ ${#nodes[@]} -gt 0 ] || mapfile -t nodes < <(kafka_nodes)
  # The single broker of earlier test beds holds the first node's ports.
  is_running kafka && stop_server kafka
  mkdir -p "$LOG_DIR"
  forget_other_kafka_shape
  make_kafka_certificates
  make_kafka_users
  for node in $(kafka_nodes); do write_kafka_config "$node"; done
  format_kafka
  for node in "${nodes[@]}"; do
    is_running "$(kafka_server "$node")" || kafka_start "$node"
  done
  for node in "${nodes[@]}"; do
    wait_ready "$(kafka_server "$node")" "$(kafka_log "$node")" kafka_node_ready "$node"
  done
  say "kafka $KAFKA_VERSION ready: node(s) ${nodes[*]} of $KAFKA_NODES; PLAINTEXT $(kafka_servers PLAINTEXT)"
}

# kafka_kill NODE: SIGKILL, as a broker whose machine dies; `kafka_up NODE` starts it again.
kafka_kill() {
  local server pid
  server=$(kafka_server "$1")
  pid=$(pid_of "$server") || fail "$server" "is not running"
  kill -KILL "$pid"
  while is_running "$server"; do sleep 0.1; done
  rm -f "$PID_DIR/$server.pid"
  say "$server killed (pid $pid)"
}

kafka_env() {
  cat <<ENV
export KAFKA_BOOTSTRAP_SERVERS="$(kafka_servers PLAINTEXT)"
export KAFKA_SASL_SSL_SERVERS="$(kafka_servers SASL_SSL)"
export KAFKA_SSL_SERVERS="$(kafka_servers SSL)"
export KAFKA_CA_FILE="$KAFKA_TLS_DIR/ca.pem"
export KAFKA_CLIENT_CERTIFICATE_FILE="$KAFKA_TLS_DIR/client.crt"
export KAFKA_CLIENT_KEY_FILE="$KAFKA_TLS_DIR/client.key"
export KAFKA_CLIENT_PRINCIPAL="User:CN=$KAFKA_TENANT_USER"
export KAFKA_ADMIN_USER="$KAFKA_ADMIN_USER"
export KAFKA_TENANT_USER="$KAFKA_TENANT_USER"
export KAFKA_USERS_FILE="$KAFKA_USERS_FILE"
export KAFKA_NODES="$KAFKA_NODES"
ENV
}
