#!/bin/bash
# login.sh JAR USER PASSWORD [URL-to-return-to] : POST the portal form, print status/Location/cookies
set -u
JAR=$1 U=$2 P=$3 RET=${4:-}
C="curl -sS --cacert /etc/ldap/tls/ca.crt -b $JAR -c $JAR"
PORTAL=https://auth.vallee-ours.example.fr/
args=()
if [ -n "$RET" ]; then args+=(--data-urlencode "url=$(printf %s "$RET" | base64 -w0)"); fi
# fetch the form (token field)
page=$($C "$PORTAL")
token=$(printf %s "$page" | grep -o 'name="token" value="[^"]*"' | sed 's/.*value="//;s/"$//')
$C -o /tmp/login-resp.html -D /tmp/login-hdr.txt -w '%{http_code}\n' \
   --data-urlencode "user=$U" --data-urlencode "password=$P" --data-urlencode "token=$token" "${args[@]}" "$PORTAL"
grep -i '^location:\|^set-cookie:' /tmp/login-hdr.txt | cut -c1-160
