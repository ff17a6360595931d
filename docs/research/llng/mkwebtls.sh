#!/bin/sh
# Throwaway web certificate (lab only), signed by the same throwaway CA as slapd's.
set -eu
d=/etc/ssl/bastide; mkdir -p $d; cd $d
openssl req -newkey rsa:2048 -nodes -subj "/CN=auth.vallee-ours.example.fr" -keyout web.key -out web.csr 2>/dev/null
printf 'subjectAltName=DNS:auth.vallee-ours.example.fr,DNS:docs.ours-les-bains.example.fr,DNS:docs.anse-aux-ours.example.fr,DNS:dav.ours-les-bains.example.fr\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > ext.cnf
openssl x509 -req -in web.csr -CA /etc/ldap/tls/ca.crt -CAkey /etc/ldap/tls/ca.key -CAcreateserial -days 30 -extfile ext.cnf -out web.crt 2>/dev/null
chmod 0600 web.key
# the handler's LWP (AuthBasic -> portal REST) must trust it: system store
cp /etc/ldap/tls/ca.crt /usr/local/share/ca-certificates/bastide-lab-ca.crt
update-ca-certificates >/dev/null
