#!/usr/bin/env bash
# Cheap checks of the Debian package (the test.sh stage): builds it with deploy/deb/build.sh (from
# BINARY if given, else reusing out/aot), then checks its file list, control fields, conffiles, man
# page, maintainer scripts, lintian, the unit's argument wrapper and the maintainer scripts' wait for
# the thaw. Never installs it.
# Prints one PASS/FAIL line per check; last line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
passed=0 failed=0
check() {   # name ok detail
  if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "PASS $1: $3"; else failed=$((failed + 1)); echo "FAIL $1: $3"; fi
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

began=$(date +%s)
if deb=$(deploy/deb/build.sh "$@" 2>"$work/build.log" | tail -n 1) && [ -f "$deb" ]; then
  check deb-build 0 "$deb ($(stat -c %s "$deb") bytes) in $(( $(date +%s) - began ))s"
else
  tail -20 "$work/build.log"
  check deb-build 1 "deploy/deb/build.sh failed"
  echo "$passed passed, $failed failed"; exit 1
fi

# The file list, exactly: a file added or lost shows up here.
expected='./etc/actoragent/agent.conf
./etc/actoragent/fsfreeze-hook
./etc/actoragent/hook.d/
./etc/default/actoragent
./lib/systemd/system/actoragent.service
./lib/udev/rules.d/61-actoragent.rules
./usr/libexec/actoragent/actoragent-start
./usr/sbin/actoragent
./usr/share/doc/actoragent/changelog.Debian.gz
./usr/share/doc/actoragent/copyright
./usr/share/doc/actoragent/reference.conf
./usr/share/lintian/overrides/actoragent
./usr/share/man/man8/actoragent.8.gz'
actual=$(dpkg-deb -c "$deb" | awk '{print $6}' | grep -vE '/$' ; dpkg-deb -c "$deb" | awk '{print $6}' | grep -x './etc/actoragent/hook.d/')
actual=$(LC_ALL=C sort <<<"$actual")
modes=$(dpkg-deb -c "$deb" | awk '$6 ~ /(sbin\/actoragent|actoragent-start|fsfreeze-hook)$/ {print $1}' | sort -u)
owners=$(dpkg-deb -c "$deb" | awk '{print $2}' | sort -u)
[ "$actual" = "$(LC_ALL=C sort <<<"$expected")" ] && [ "$modes" = "-rwxr-xr-x" ] && [ "$owners" = root/root ]
check deb-contents $? "$(wc -l <<<"$actual") entries as expected, executables 0755, all root/root$( [ "$actual" = "$(LC_ALL=C sort <<<"$expected")" ] || echo "; DIFF: $(diff <(LC_ALL=C sort <<<"$expected") <(echo "$actual") | grep '^[<>]' | tr '\n' ' ')")"

field() { dpkg-deb -f "$deb" "$1"; }
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)
[ "$(field Package)" = actoragent ] && [ "$(field Architecture)" = "$(dpkg --print-architecture)" ] \
  && [ "$(field Version)" = "$(dpkg-parsechangelog -l deploy/deb/changelog -S Version)" ] \
  && [ "$(field Conflicts)" = qemu-guest-agent ] && [ "$(field Replaces)" = qemu-guest-agent ] \
  && [ "$(field Provides)" = qemu-guest-agent ] && [[ "$(field Depends)" =~ ^libc6\ \(\>=\ [0-9.]+\)$ ]] \
  && [ "$conffiles" = $'/etc/actoragent/agent.conf\n/etc/actoragent/fsfreeze-hook\n/etc/default/actoragent' ]
check deb-control $? "Version $(field Version), Depends: $(field Depends); Conflicts/Replaces/Provides: $(field Conflicts)/$(field Replaces)/$(field Provides); conffiles: $(tr '\n' ' ' <<<"$conffiles")"

# The man page's options are --help's options, and man renders it without warnings.
dpkg-deb -x "$deb" "$work/root"
man_options=$(zcat "$work/root/usr/share/man/man8/actoragent.8.gz" | awk '/^\.SH OPTIONS/{o=1;next} /^\.SH/{o=0} o && /^\.B /{sub(/^\.B /,""); gsub(/\\-/,"-"); print}')
help_options=$("$work/root/usr/sbin/actoragent" --help | grep -oE '^  -[A-Za-z], --[a-z-]+(=[A-Z]+)?')
help_options=$(sed 's/^  //' <<<"$help_options")
warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$work/root/usr/share/man/man8/actoragent.8.gz" 2>&1 >/dev/null)
[ -n "$man_options" ] && [ "$man_options" = "$help_options" ] && [ -z "$warnings" ]
check deb-manpage $? "$(wc -l <<<"$man_options") options, the same as --help's$( [ "$man_options" = "$help_options" ] || echo ' NOT: '"$(diff <(echo "$help_options") <(echo "$man_options") | tr '\n' ' ')"); man --warnings: ${warnings:-none}"

# Maintainer scripts: valid sh, the wait-for-thaw where the agent is stopped or restarted.
dpkg-deb -e "$deb" "$work/ctrl"
bad=
for s in preinst prerm postinst postrm; do
  sh -n "$work/ctrl/$s" || bad="$bad $s(syntax)"
  case $s in postrm) ;; *) grep -q '^actoragent_wait_thawed()' "$work/ctrl/$s" || bad="$bad $s(no guard)";; esac
done
grep -q 'rm -rf /etc/actoragent' "$work/ctrl/postrm" || bad="$bad postrm(purge)"
[ -z "$bad" ]
check deb-maintainer-scripts $? "preinst/prerm/postinst wait for the thaw, postrm purges /etc/actoragent${bad:+; BAD:$bad}"

if command -v lintian >/dev/null; then
  lintian --show-overrides "$deb" >"$work/lintian.log" 2>&1
  tags=$(grep -E '^[EW]: ' "$work/lintian.log" || true)
  overridden=$(grep -cE '^O: ' "$work/lintian.log" || true)
  [ -z "$tags" ]
  check deb-lintian $? "no errors or warnings; $overridden overridden tags, each explained in deploy/README.md${tags:+; TAGS: $(tr '\n' ' ' <<<"$tags")}"
else
  check deb-lintian 1 "lintian is not installed (apt-get install lintian)"
fi

# actoragent-start turns the environment files' variables into options (a fake agent prints its argv).
printf '#!/bin/sh\nfor a in "$@"; do printf "[%%s]" "$a"; done\n' >"$work/fake-agent"
chmod +x "$work/fake-agent"
start=deploy/actoragent-start
got1=$(env -i ACTORAGENT_BIN="$work/fake-agent" BLACKLIST_RPC=guest-exec,guest-file-open BLOCK_RPCS=guest-shutdown \
  FILTER_RPC_ARGS='--allow-rpcs=guest-ping,guest-info' FSFREEZE_HOOK_PATHNAME=/etc/actoragent/fsfreeze-hook \
  ACTORAGENT_ARGS='-v  -t /tmp/*' sh "$start")
got2=$(env -i ACTORAGENT_BIN="$work/fake-agent" FSFREEZE_HOOK_PATHNAME= sh "$start")
got3=$(env -i ACTORAGENT_BIN="$work/fake-agent" FSFREEZE_HOOK_PATHNAME=/dev/null sh "$start")
got4=$(env -i ACTORAGENT_BIN="$work/fake-agent" sh "$start")
want1='[--allow-rpcs=guest-ping,guest-info][-v][-t][/tmp/*][-b][guest-exec,guest-file-open][-b][guest-shutdown][-F/etc/actoragent/fsfreeze-hook]'
[ "$got1" = "$want1" ] && [ "$got2" = '[-F]' ] && [ "$got3" = '' ] && [ "$got4" = '' ]
check deb-unit-arguments $? "all variables → $got1; FSFREEZE_HOOK_PATHNAME empty → $got2, /dev/null → '${got3}', none → '${got4}'"

# The maintainer scripts' wait: a fake actoragent whose -D names a temp state directory.
mkdir -p "$work/bin" "$work/state"
printf '#!/bin/sh\n[ "$1" = -D ] && echo "statedir=%s"\n' "$work/state" >"$work/bin/actoragent"
chmod +x "$work/bin/actoragent"
guard() { PATH="$work/bin:$PATH" ACTORAGENT_FROZEN_WAIT=$1 sh -c ". '$work/guard.sh'; actoragent_wait_thawed upgrade" 2>&1; }
sed -n '/^actoragent_wait_thawed()/,/^}/p' "$work/ctrl/preinst" >"$work/guard.sh"
thawed_out=$(guard 0); thawed_rc=$?
touch "$work/state/qga.state.isfrozen"
t0=$(date +%s); frozen_out=$(guard 2); frozen_rc=$?; frozen_s=$(( $(date +%s) - t0 ))
( sleep 1; rm -f "$work/state/qga.state.isfrozen" ) &
waited_out=$(guard 10); waited_rc=$?
wait
[ "$thawed_rc" = 0 ] && [ -z "$thawed_out" ] && [ "$frozen_rc" = 1 ] && [ "$frozen_s" -ge 2 ] \
  && grep -q 'refusing to upgrade while frozen' <<<"$frozen_out" && [ "$waited_rc" = 0 ] && grep -q 'waiting up to 10s' <<<"$waited_out"
check deb-frozen-guard $? "thawed: rc $thawed_rc at once; frozen with a 2s wait: rc $frozen_rc after ${frozen_s}s; thawed after 1s of a 10s wait: rc $waited_rc"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
