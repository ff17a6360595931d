#!/bin/bash
# totpcheck.sh JAR CODE : answer the portal's /totp2fcheck form left in /tmp/login-resp.html
JAR=$1 CODE=$2
token=$(grep -o 'name="token" value="[^"]*"' /tmp/login-resp.html | head -1 | sed 's/.*value="//;s/"$//')
curl -sS --cacert /etc/ldap/tls/ca.crt -b $JAR -c $JAR -o /tmp/totp-resp.html -D /tmp/totp-hdr.txt -w '%{http_code}\n' \
  --data-urlencode "token=$token" --data-urlencode "code=$CODE" --data-urlencode skin=bootstrap \
  https://auth.vallee-ours.example.fr/totp2fcheck
grep -i '^location:\|^set-cookie:' /tmp/totp-hdr.txt | cut -c1-120
grep -o 'trmsg="[0-9]*"' /tmp/totp-resp.html | head -2
