# Starting, watching and stopping the test bed's servers. Sourced by e2e/testbed.
#
# Each server's pid file holds "<pid> <start time>" so that `down` stops exactly the process `up`
# started, even if the pid has since been reused by something else.

say() { printf 'testbed: %s\n' "$*" >&2; }

# fail SERVER MESSAGE [LOG]: report a failure naming the server, with the tail of its log.
fail() {
  local server=$1 message=$2 log=${3:-}
  printf 'testbed: %s: %s\n' "$server" "$message" >&2
  if [ -n "$log" ] && [ -s "$log" ]; then
    printf -- '--- last lines of %s ---\n' "$log" >&2
    tail -n 30 "$log" >&2
    printf -- '---\n' >&2
  fi
  exit 1
}

start_time_of() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null; }

# pid_of SERVER: prints the pid of the server this test bed started, if it still runs.
pid_of() {
  local file="$PID_DIR/$1.pid" pid started
  [ -f "$file" ] || return 1
  read -r pid started < "$file" || return 1
  [ -n "$pid" ] && [ "$(start_time_of "$pid")" = "$started" ] || return 1
  echo "$pid"
}

is_running() { pid_of "$1" > /dev/null; }

port_in_use() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# require_free_port SERVER PORT: a port held by anything else is an error, not a silent clash.
require_free_port() {
  local server=$1 port=$2
  if port_in_use "$port"; then
    fail "$server" "port $port on 127.0.0.1 is already taken ($(ss -Hltnp "sport = :$port" | awk '{ print $NF }' | head -1)); stop that process or set a different port (see e2e/testbed.d/config.sh)"
  fi
}

# start_server SERVER LOG COMMAND...: runs the command in its own session, detached from this shell.
start_server() {
  local server=$1 log=$2
  shift 2
  mkdir -p "$PID_DIR" "$(dirname "$log")"
  printf '\n=== %s started by testbed at %s ===\n' "$server" "$(date -Is)" >> "$log"
  setsid "$@" >> "$log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid $(start_time_of "$pid")" > "$PID_DIR/$server.pid"
}

# wait_ready SERVER LOG CHECK...: polls CHECK until it succeeds, the server dies, or READY_TIMEOUT passes.
wait_ready() {
  local server=$1 log=$2
  shift 2
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@" > /dev/null 2>&1; do
    is_running "$server" || fail "$server" "exited before it became ready" "$log"
    [ "$SECONDS" -lt "$deadline" ] || fail "$server" "not ready after ${READY_TIMEOUT}s (check: $*)" "$log"
    sleep 0.2
  done
}

# stop_server SERVER: SIGTERM, then SIGKILL if it has not exited within 20 seconds.
stop_server() {
  local server=$1 pid
  if ! pid=$(pid_of "$server"); then
    rm -f "$PID_DIR/$server.pid"
    return 0
  fi
  kill -TERM "$pid" 2> /dev/null || true
  local deadline=$((SECONDS + 20))
  while is_running "$server" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if is_running "$server"; then
    say "$server (pid $pid) ignored SIGTERM for 20s; sending SIGKILL"
    kill -KILL "$pid" 2> /dev/null || true
  fi
  rm -f "$PID_DIR/$server.pid"
  say "$server stopped (pid $pid)"
}
