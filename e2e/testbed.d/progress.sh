# A long step must never look hung: with_progress runs a command in the background and, on a
# terminal, draws its elapsed time against the usual time as a bar; elsewhere (CI logs) it says
# how far along it is every 30 s. Sourced by e2e/testbed and e2e/demo/run.

# with_progress LABEL USUAL_SECONDS LOG COMMAND...: runs COMMAND with its output in LOG, returns
# its exit status.
with_progress() {
  local label=$1 usual=$2 log=$3
  shift 3
  "$@" > "$log" 2>&1 &
  local pid=$! start=$SECONDS elapsed rc=0 next_note=30
  while kill -0 "$pid" 2> /dev/null; do
    sleep 1
    elapsed=$((SECONDS - start))
    if [ -t 2 ]; then
      draw_progress "$label" "$elapsed" "$usual"
    elif [ "$elapsed" -ge "$next_note" ]; then
      # A busy machine skips seconds: a note is due once its time has passed, not on the second.
      printf '%s: %s — %ds so far, usually about %ds\n' "${PROGRESS_PREFIX:-progress}" \
        "$label" "$elapsed" "$usual" >&2
      next_note=$((next_note + 30))
    fi
  done
  wait "$pid" || rc=$?
  [ -t 2 ] && printf '\r\033[K' >&2
  return "$rc"
}

# draw_progress LABEL ELAPSED USUAL: one line, redrawn in place.
draw_progress() {
  local label=$1 elapsed=$2 usual=$3 width=30 filled bar note=""
  filled=$((elapsed * width / (usual > 0 ? usual : 1)))
  if [ "$filled" -ge "$width" ]; then
    filled=$((width - 1)) note=" (longer than usual)"
  fi
  bar=$(printf '%*s' "$filled" '' | tr ' ' '#')$(printf '%*s' $((width - filled)) '' | tr ' ' '.')
  printf '\r\033[K[%s] %d:%02d of ~%d:%02d %s%s' "$bar" $((elapsed / 60)) $((elapsed % 60)) \
    $((usual / 60)) $((usual % 60)) "$label" "$note" >&2
}
