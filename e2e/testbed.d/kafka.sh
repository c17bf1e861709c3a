# Apache Kafka, single node in KRaft combined mode (broker and controller in one JVM), on loopback.
# Sourced by e2e/testbed.

KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_LOG="$LOG_DIR/kafka.log"

kafka_java() { java -cp "$KAFKA_LIBS/*" "$@"; }

write_kafka_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat > "$KAFKA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DIR/data
# The product creates its topics explicitly; a typo must not silently create a new one.
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  # Kafka 4 logs through log4j2; its shipped YAML config would need another Jackson jar.
  cat > "$KAFKA_DIR/log4j2.properties" <<PROPS
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

kafka_serves_metadata() {
  kcat -b "127.0.0.1:$KAFKA_PORT" -L -J -m 2 2> /dev/null | grep -q '"brokers":\[{"id":1'
}

kafka_up() {
  if is_running kafka; then
    say "kafka already running (pid $(pid_of kafka)) on 127.0.0.1:$KAFKA_PORT"
    wait_ready kafka "$KAFKA_LOG" kafka_serves_metadata
    return 0
  fi
  require_free_port kafka "$KAFKA_PORT"
  require_free_port kafka "$KAFKA_CONTROLLER_PORT"
  mkdir -p "$LOG_DIR"
  write_kafka_config
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>> "$KAFKA_LOG") \
      || fail kafka "could not generate a cluster id" "$KAFKA_LOG"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" \
      >> "$KAFKA_LOG" 2>&1 || fail kafka "formatting the KRaft storage failed" "$KAFKA_LOG"
  fi
  # G1 settings of Kafka's own start script and a heap that may grow to its 1 GiB: after an hour
  # of tests a 512 MiB heap was 83 % full and collected every ten seconds or so, ~19 ms each.
  start_server kafka "$KAFKA_LOG" java -Xms512m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_DIR/server.properties"
  wait_ready kafka "$KAFKA_LOG" kafka_serves_metadata
  say "kafka $KAFKA_VERSION ready on 127.0.0.1:$KAFKA_PORT"
}
