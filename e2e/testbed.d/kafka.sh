# Apache Kafka, single node in KRaft combined mode (broker and controller in one JVM), on loopback.
# Sourced by e2e/testbed.

KAFKA_DIR="$STATE_DIR/kafka"
KAFKA_LOG="$LOG_DIR/kafka.log"

kafka_java() { java -cp "$KAFKA_LIBS/*" "$@"; }

write_kafka_config() {
  mkdir -p "$KAFKA_DIR/data"
  sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@LISTENER@|PLAINTEXT|g" -e "s|@LOG_DIRS@|$KAFKA_DIR/data|g" \
    "$testbed_root/testbed.d/kafka/server.properties" > "$KAFKA_DIR/server.properties"
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
