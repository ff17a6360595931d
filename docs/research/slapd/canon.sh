#!/bin/sh
# Canonical form of a cn=config: slapcat -n0 without the operational attributes.
# usage: canon.sh DIR   (a slapd.d directory)   |   canon.sh -l FILE (an LDIF to build in a scratch dir)
set -eu
if [ "$1" = -l ]; then
  t=$(mktemp -d); slapadd -n0 -F "$t" -l "$2" >/dev/null; set -- "$t"
fi
slapcat -n0 -F "$1" -o ldif-wrap=no |
  grep -vE '^(structuralObjectClass|entryUUID|creatorsName|createTimestamp|entryCSN|modifiersName|modifyTimestamp|contextCSN):'
[ -n "${t:-}" ] && rm -rf "$t"; true
