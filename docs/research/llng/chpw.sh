#!/bin/bash
# chpw.sh JAR USER OLD NEW : answer the portal's "must change password" form
JAR=$1 U=$2 O=$3 N=$4
C="curl -sS --cacert /etc/ldap/tls/ca.crt -b $JAR -c $JAR"
token=$(grep -o 'name="token" value="[^"]*"' /tmp/login-resp.html | head -1 | sed 's/.*value="//;s/"$//')
$C -o /tmp/chpw-resp.html -D /tmp/chpw-hdr.txt -w '%{http_code}\n' --data-urlencode "user=$U" \
  --data-urlencode "oldpassword=$O" --data-urlencode "newpassword=$N" --data-urlencode "confirmpassword=$N" \
  --data-urlencode "token=$token" --data-urlencode "skin=bootstrap" https://auth.vallee-ours.example.fr/
grep -i '^location:\|^set-cookie:' /tmp/chpw-hdr.txt | cut -c1-120
grep -o 'trmsg="[0-9]*"' /tmp/chpw-resp.html | head -2
