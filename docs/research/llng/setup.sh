#!/bin/bash
# setup.sh — whole recipe on a fresh Debian 12 lab host, run as root from this directory.
set -euxo pipefail
cd "$(dirname "$0")"
IP=$(hostname -I | awk '{print $1}')
grep -q auth.vallee-ours /etc/hosts || echo "$IP ldap.vallee-ours.example.fr auth.vallee-ours.example.fr docs.ours-les-bains.example.fr docs.anse-aux-ours.example.fr dav.ours-les-bains.example.fr" >> /etc/hosts
export DEBIAN_FRONTEND=noninteractive

# --- slapd (as in /tmp/slapd-recipe.md) ---
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get install -y -q slapd ldap-utils python3-ldap
sh mktls.sh
mkdir -p /etc/ldap/slapd.d && slapadd -n0 -F /etc/ldap/slapd.d -l config.ldif
chown -R openldap:openldap /etc/ldap/slapd.d
sed -i 's|^SLAPD_SERVICES=.*|SLAPD_SERVICES="ldaps:/// ldapi:///"|' /etc/default/slapd
systemctl restart slapd
ldapadd -Q -Y EXTERNAL -H ldapi:/// -f data.ldif >/dev/null
printf 'dn: uid=carol,ou=people,ou=ours-les-bains,ou=communes,dc=vallee-ours,dc=example,dc=fr\nchangetype: modify\nreplace: pwdReset\npwdReset: TRUE\n' | ldapmodify -Q -Y EXTERNAL -H ldapi:///

# --- LemonLDAP::NG + nginx, no recommends, exactly the Perl modules needed ---
apt-get install -y -q --no-install-recommends lemonldap-ng lemonldap-ng-fastcgi-server nginx \
  libnet-ldap-perl libio-socket-timeout-perl libunicode-string-perl \
  libemail-sender-perl libmime-tools-perl \
  libconvert-base32-perl libdigest-hmac-perl \
  libgd-securityimage-perl libimage-magick-perl
sh mkwebtls.sh

# local (non-lmConf) settings: French first, handler pool of 2 workers
sed -i '/^\[portal\]/,/^\[/ s/^languages *=.*/languages    = fr, en/' /etc/lemonldap-ng/lemonldap-ng.ini
grep -q '^NPROC=' /etc/default/lemonldap-ng-fastcgi-server || echo 'NPROC=2' >> /etc/default/lemonldap-ng-fastcgi-server

# lmConf through the CLI (fragment readable by www-data: the CLI drops to www-data)
install -d -m 0750 -o root -g www-data /etc/bastide
install -m 0640 -o root -g www-data llng-conf.json /etc/bastide/llng-conf.json
install -m 0755 llng-apply.py /usr/local/bin/llng-apply.py
rc=0; llng-apply.py /etc/bastide/llng-conf.json --own locationRules --own exportedHeaders --own vhostOptions || rc=$?
[ $rc = 0 ] || [ $rc = 2 ]

# backend secret + echo backends on loopback
[ -s /etc/bastide/backend-secret ] || (umask 077; head -c 32 /dev/urandom | base64 | tr -d '=+/' > /etc/bastide/backend-secret)
chown root:www-data /etc/bastide/backend-secret; chmod 0640 /etc/bastide/backend-secret
printf 'proxy_set_header X-Bastide-Secret "%s";\n' "$(cat /etc/bastide/backend-secret)" > /etc/nginx/snippets/bastide-backend-secret.conf
chmod 0640 /etc/nginx/snippets/bastide-backend-secret.conf
install -m 0755 echo-backend.py /usr/local/bin/echo-backend
for p in 8081 8082; do systemctl is-active -q echo-$p || systemd-run --unit=echo-$p -p User=www-data /usr/local/bin/echo-backend $p; done

# nginx + separate portal FastCGI pool
cp nginx/llng-lmauth.conf nginx/llng-headers.conf /etc/nginx/snippets/
cp nginx/bastide-sso.conf /etc/nginx/sites-available/
sed -i "s/10\.77\.7\.11/$IP/" /etc/nginx/sites-available/bastide-sso.conf
rm -f /etc/nginx/sites-enabled/default
ln -sf ../sites-available/bastide-sso.conf /etc/nginx/sites-enabled/bastide-sso.conf
cp systemd/llng-portal-fastcgi.service /etc/systemd/system/
systemctl daemon-reload
systemctl enable -q llng-portal-fastcgi
systemctl restart lemonldap-ng-fastcgi-server llng-portal-fastcgi
nginx -t
systemctl restart nginx

# test helpers
install -m 0755 login.sh chpw.sh totpcheck.sh totp.py /usr/local/bin/

# fail2ban filter (jail left disabled in the lab)
apt-get install -y -q --no-install-recommends fail2ban python3-systemd
cp fail2ban-lemonldap-ng.conf /etc/fail2ban/filter.d/lemonldap-ng.conf
systemctl stop fail2ban || true
