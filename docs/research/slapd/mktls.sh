#!/bin/sh
# Throwaway CA + server certificate for ldap.vallee-ours.example.fr (lab only).
set -eu
d=/etc/ldap/tls
mkdir -p $d && cd $d
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=bastide lab LDAP CA" \
  -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=ldap.vallee-ours.example.fr" \
  -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:ldap.vallee-ours.example.fr\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
  -extfile ext.cnf -out server.crt 2>/dev/null
chmod 0600 ca.key server.key; chown root:root server.key
chmod 0644 ca.crt server.crt
openssl x509 -in server.crt -noout -subject -ext subjectAltName
ls -l $d
