#!/bin/sh
# Rebuild cn=config from one LDIF; the mdb data in /var/lib/ldap is not touched.
set -eu
SRC=${1:-/root/config.ldif}
NEW=/etc/ldap/slapd.d.new
rm -rf $NEW && mkdir -p $NEW
slapadd -n0 -F $NEW -l "$SRC"          # build aside first, while slapd still runs
chown -R openldap:openldap $NEW
systemctl stop slapd
rm -rf /etc/ldap/slapd.d.prev
mv /etc/ldap/slapd.d /etc/ldap/slapd.d.prev
mv $NEW /etc/ldap/slapd.d
if ! systemctl start slapd; then        # roll back to the previous config
  rm -rf /etc/ldap/slapd.d && mv /etc/ldap/slapd.d.prev /etc/ldap/slapd.d
  systemctl start slapd; exit 1
fi
install -m 0600 "$SRC" /etc/ldap/bastide-config.applied.ldif
