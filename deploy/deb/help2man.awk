# Turns `actoragent --help` into the top of actoragent(8): NAME and SYNOPSIS from its first two
# lines, OPTIONS from the option table ("-x, --long[=ARG]" then its text, continued on lines
# indented by 20 columns), so the man page and --help cannot disagree. Variables: version, date.
function roff(s) {
  gsub(/\\/, "\\e", s)
  gsub(/-/, "\\-", s)
  sub(/^[.']/, "\\\\&&", s)
  return s
}
function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
NR == 1 {
  sub(/^Usage: [^ ]+ */, "")
  synopsis = $0
  next
}
NR == 2 {
  summary = $0
  sub(/ [0-9.]+$/, "", summary)
  sub(/^ActorAgent, a /, "", summary)
  print ".TH ACTORAGENT 8 \"" date "\" \"actoragent " version "\" \"System Administration\""
  print ".SH NAME"
  print "actoragent \\- " roff(summary)
  print ".SH SYNOPSIS"
  print ".B actoragent"
  print roff(synopsis)
  print ".SH DESCRIPTION"
  print roff($0) "."
  print "It answers the host on a virtio\\-serial port (by default"
  print ".IR /dev/virtio\\-ports/org.qemu.guest_agent.0 )"
  print "with the QEMU Guest Agent protocol and takes the same options as"
  print ".BR qemu\\-ga (8)."
  print "systemd starts it as"
  print ".B actoragent.service"
  print "when the host adds the port."
  print ".SH OPTIONS"
  next
}
match($0, /^  -[A-Za-z], --[a-z-]+(=[A-Z]+)?/) {
  print ".TP"
  print ".B " roff(trim(substr($0, 3, RLENGTH - 2)))
  text = trim(substr($0, RLENGTH + 1))
  if (text != "") print roff(text)
  next
}
/^                    / { print roff(trim($0)); next }
/^ *$/ { next }
{ print roff(trim($0)) }
