#!/bin/bash
# verify.sh — the checks of the recipe, on the host after setup.sh. Prints one line per check.
set -u
CA=/etc/ldap/tls/ca.crt; C="curl -sS --cacert $CA"
ok() { echo "PASS $*"; }; ko() { echo "FAIL $*"; }
chk() { local want=$1 got=$2; shift 2; [ "$got" = "$want" ] && ok "$* ($got)" || ko "$* (got $got, want $want)"; }
rm -f /tmp/v-*.jar
chk 302 "$($C -o /dev/null -w '%{http_code}' https://docs.ours-les-bains.example.fr/)" "anonymous -> redirect to portal"
$C https://auth.vallee-ours.example.fr/psgi.js | grep -q 'availableLanguages="fr, en"' && ok "portal languages fr first" || ko "languages"
chk 302 "$(login.sh /tmp/v-a.jar alice alice-initial-pw1 | head -1)" "alice login"
J="-b /tmp/v-a.jar -c /tmp/v-a.jar"
chk 200 "$($C $J -L -o /tmp/v.out -w '%{http_code}' 'https://docs.ours-les-bains.example.fr/p?x=1')" "alice -> own commune via CDA, no password"
grep -q '^Auth-User: alice$' /tmp/v.out && grep -q '^secret-ok$' /tmp/v.out && grep -q '^Auth-Groups: ours-les-bains$' /tmp/v.out && ok "headers Auth-User/Auth-Groups + secret reach backend" || ko "headers"
chk 403 "$($C $J -L -o /dev/null -w '%{http_code}' https://docs.anse-aux-ours.example.fr/)" "alice -> other commune"
$C $J -H 'Auth-User: admin' -H 'X-Bastide-Secret: x' https://docs.ours-les-bains.example.fr/ | grep -q '^Auth-User: alice$' && ok "forged Auth-User through nginx replaced" || ko "forged header"
chk 403 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Auth-User: admin' http://127.0.0.1:8081/)" "direct to backend without secret"
# pwdReset
chk 200 "$(login.sh /tmp/v-c.jar carol carol-initial-pw1 | head -1)" "carol (pwdReset) login answers a page"
grep -q 'trmsg="25"' /tmp/login-resp.html && grep -q 'name="newpassword"' /tmp/login-resp.html && ok "carol gets must-change form (PE25)" || ko "PE25"
chpw.sh /tmp/v-c.jar carol carol-initial-pw1 carol-new-pw-0001 >/dev/null; grep -q 'trmsg="35"' /tmp/chpw-resp.html && ok "password changed (PE35)" || ko "PE35"
n=$(ldapsearch -LLL -Q -Y EXTERNAL -H ldapi:/// -b uid=carol,ou=people,ou=ours-les-bains,ou=communes,dc=vallee-ours,dc=example,dc=fr -s base pwdReset | grep -c '^pwdReset'); chk 0 "$n" "pwdReset gone"
chk 302 "$(login.sh /tmp/v-c2.jar carol carol-new-pw-0001 | head -1)" "carol logs in with new password"
# AuthBasic
for u in https://dav.ours-les-bains.example.fr/x https://docs.ours-les-bains.example.fr/dav/x; do
  h=$($C -D - -o /dev/null $u | tr -d '\r' | grep -i '^www-authenticate'); [ -n "$h" ] && ok "$u no creds: $h" || ko "$u no WWW-Authenticate"
  chk 200 "$($C -u alice:alice-initial-pw1 -o /dev/null -w '%{http_code}' $u)" "$u alice basic"
  chk 403 "$($C -u bob:bob-initial-pw12 -o /dev/null -w '%{http_code}' $u)" "$u bob basic (other commune)"
  chk 401 "$($C -u dave:wrong -o /dev/null -w '%{http_code}' $u)" "$u wrong password"
done
# TOTP for anse-aux-ours (sfRequired)
chk 302 "$(login.sh /tmp/v-b.jar bob bob-initial-pw12 https://docs.anse-aux-ours.example.fr/ | head -1)" "bob password login -> 302"
grep -qi '^location: https://auth.vallee-ours.example.fr/2fregisters/' /tmp/login-hdr.txt && ok "bob forced to register a TOTP" || ko "no 2fregisters redirect"
J="-b /tmp/v-b.jar -c /tmp/v-b.jar"
$C $J -X POST -H 'X-CSRF-Check: 1' -H 'Accept: application/json' https://auth.vallee-ours.example.fr/2fregisters/totp/getkey > /tmp/v-key.json
S=$(python3 -c 'import json;print(json.load(open("/tmp/v-key.json"))["secret"])'); T=$(python3 -c 'import json;print(json.load(open("/tmp/v-key.json"))["token"])')
r=$($C $J -X POST -H 'X-CSRF-Check: 1' -H 'Accept: application/json' --data-urlencode "token=$T" --data-urlencode "code=$(totp.py $S)" --data-urlencode TOTPName=phone https://auth.vallee-ours.example.fr/2fregisters/totp/verify); chk '{"result":1}' "$r" "TOTP registered"
rm -f /tmp/v-b2.jar; login.sh /tmp/v-b2.jar bob bob-initial-pw12 https://docs.anse-aux-ours.example.fr/ >/dev/null
grep -q 'action="/totp2fcheck"' /tmp/login-resp.html && ok "password alone -> TOTP form" || ko "no TOTP form"
cp /tmp/login-resp.html /tmp/v-totpform.html
totpcheck.sh /tmp/v-b2.jar 000000 >/dev/null; grep -q 'trmsg="96"' /tmp/totp-resp.html && ok "wrong code refused (PE96)" || ko "wrong code"
rm -f /tmp/v-b2.jar; login.sh /tmp/v-b2.jar bob bob-initial-pw12 https://docs.anse-aux-ours.example.fr/ >/dev/null
chk 302 "$(totpcheck.sh /tmp/v-b2.jar $(totp.py $S) | head -1)" "right code -> logged in"
chk 200 "$($C -b /tmp/v-b2.jar -c /tmp/v-b2.jar -L -o /dev/null -w '%{http_code}' https://docs.anse-aux-ours.example.fr/)" "bob -> own commune"
# idempotence
llng-apply.py /etc/bastide/llng-conf.json --own locationRules --own exportedHeaders --own vhostOptions >/dev/null; chk 0 $? "llng-apply.py second run unchanged"
# failed logins -> journal -> fail2ban
login.sh /tmp/v-x.jar dave not-his-password >/dev/null; login.sh /tmp/v-x.jar nobody-here whatever >/dev/null; sleep 1
journalctl -u llng-portal-fastcgi -u lemonldap-ng-fastcgi-server --since -10s --no-pager | grep -E 'Bad password|not found in LDAP'
m=$(fail2ban-regex systemd-journal /etc/fail2ban/filter.d/lemonldap-ng.conf 2>&1 | awk '/^Lines:/{print $(NF-3)}'); [ "${m:-0}" -gt 0 ] && ok "fail2ban-regex matched $m journal lines" || ko "fail2ban-regex matched nothing"
# memory at idle
sleep 3
for u in lemonldap-ng-fastcgi-server llng-portal-fastcgi nginx; do m=$(systemctl show -p MainPID --value $u); for p in $m $(pgrep -P $m); do printf 'MEM %-28s %-16s ' $u "$(cat /proc/$p/comm)"; awk '/^Rss:/{r=$2} /^Pss:/{s=$2} END{print "RSS " r " kB PSS " s " kB"}' /proc/$p/smaps_rollup; done; done
