# While a guest agent holds the filesystems frozen (its marker <statedir>/qga.state.isfrozen exists),
# stopping or restarting it would leave them frozen with nobody to thaw (the agent ignores SIGTERM
# while frozen and systemd would end up killing it). Wait for the thaw, then give up with an error.
actoragent_wait_thawed() {
  wait_seconds=${ACTORAGENT_FROZEN_WAIT:-}
  if [ -z "$wait_seconds" ] && [ -r /etc/default/actoragent ]; then
    wait_seconds=$(sed -n 's/^ACTORAGENT_FROZEN_WAIT=\([0-9][0-9]*\)$/\1/p' /etc/default/actoragent)
  fi
  wait_seconds=${wait_seconds:-60}
  statedirs="/run /var/run"
  if command -v actoragent >/dev/null 2>&1; then
    configured=$(actoragent -D 2>/dev/null | sed -n 's/^statedir=//p') || configured=
    [ -n "$configured" ] && statedirs="$configured $statedirs"
  fi
  waited=0
  while :; do
    marker=
    for dir in $statedirs; do
      if [ -e "$dir/qga.state.isfrozen" ]; then marker="$dir/qga.state.isfrozen"; break; fi
    done
    [ -z "$marker" ] && return 0
    if [ "$waited" -ge "$wait_seconds" ]; then
      echo "actoragent: the guest's filesystems are frozen ($marker exists); refusing to $1 while frozen." >&2
      echo "actoragent: thaw them (guest-fsfreeze-thaw from the host) and run the command again." >&2
      return 1
    fi
    [ "$waited" -eq 0 ] && echo "actoragent: the guest's filesystems are frozen ($marker); waiting up to ${wait_seconds}s for the thaw" >&2
    sleep 1
    waited=$((waited + 1))
  done
}
