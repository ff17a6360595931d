#!/bin/sh
# ACL tests: run on the LDAP host as root.
export LDAPTLS_CACERT=/etc/ldap/tls/ca.crt
H=ldaps://ldap.vallee-ours.example.fr
B=dc=vallee-ours,dc=example,dc=fr
SM=ou=saint-martin,ou=communes,$B; BC=ou=belcastel,ou=communes,$B
q() { # label binddn pw base [attrs...]
  l=$1 d=$2 p=$3 b=$4; shift 4
  echo "## $l: base=$b attrs=$*"
  ldapsearch -LLL -o ldif-wrap=no -H $H -x -D "$d" -w "$p" -b "$b" "(objectClass=*)" "$@" 2>&1 | grep -E '^(dn|userPassword|pwdHistory|cn|member|No such|ldap_|result|	additional)' | sed 's/\(userPassword::\? \).*/\1<value>/;s/\(pwdHistory: \).*/\1<value>/'
  echo "   (rc=$?)"
}
q "reader saint-martin, own commune" cn=reader,$SM reader-sm-secret-01 $SM dn userPassword
q "reader saint-martin, other commune" cn=reader,$SM reader-sm-secret-01 $BC dn
q "reader saint-martin, whole suffix" cn=reader,$SM reader-sm-secret-01 $B dn
q "portal, all communes" cn=portal,ou=services,$B portal-secret-0123 ou=communes,$B dn userPassword member
q "portal, whole suffix" cn=portal,ou=services,$B portal-secret-0123 $B dn
q "alice, whole saint-martin" uid=alice,ou=people,$SM alice-initial-pw1 $SM dn userPassword
q "alice, belcastel" uid=alice,ou=people,$SM alice-initial-pw1 $BC dn
echo "## root (SASL EXTERNAL over ldapi), userPassword + pwdHistory of everyone:"
ldapsearch -LLL -o ldif-wrap=no -Q -Y EXTERNAL -H ldapi:/// -b $B "(userPassword=*)" userPassword pwdHistory | grep -E '^(dn|userPassword|pwdHistory)' | sed 's/\(userPassword::\? \).*/\1<value>/;s/\(pwdHistory: \).*/\1<value>/'
A=uid=alice,ou=people,$SM
q "alice, own entry" $A alice-initial-pw1 $A dn cn userPassword
q "alice, carol's entry" $A alice-initial-pw1 uid=carol,ou=people,$SM dn cn userPassword
q "reader saint-martin, alice's entry" cn=reader,$SM reader-sm-secret-01 $A dn cn mail userPassword
q "reader belcastel, alice's entry" cn=reader,$BC reader-bc-secret-01 $A dn cn
echo "## reader saint-martin: filter on userPassword (must not match)"
ldapsearch -LLL -H $H -x -D cn=reader,$SM -w reader-sm-secret-01 -b $SM "(userPassword=*)" dn 2>&1; echo "   (rc=$?)"
echo "## reader saint-martin tries a write"
printf 'dn: %s\nchangetype: modify\nreplace: mail\nmail: x@example.fr\n' "$A" | ldapmodify -H $H -x -D cn=reader,$SM -w reader-sm-secret-01 2>&1; echo "   (rc=$?)"
