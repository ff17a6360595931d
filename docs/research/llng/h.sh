#!/bin/sh
exec ssh -i /tmp/lab7-state/lab/7/ssh/id_ed25519 -o UserKnownHostsFile=/tmp/lab7-state/lab/7/ssh/known_hosts -o BatchMode=yes root@10.77.7.11 "$@"
