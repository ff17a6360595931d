import ldap
ldap.set_option(ldap.OPT_X_TLS_CACERTFILE, "/etc/ldap/tls/ca.crt")
ldap.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
for uri in ("ldapi:///", "ldaps://ldap.vallee-ours.example.fr"):
    for base, scope in (("dc=vallee-ours,dc=example,dc=fr", ldap.SCOPE_SUBTREE), ("", ldap.SCOPE_BASE)):
        c = ldap.initialize(uri)
        try:  # no bind at all: an anonymous session
            r = c.search_s(base, scope, "(objectClass=*)", ["cn", "namingContexts"])
            print(uri, repr(base), "RESULT", r[:2])
        except ldap.LDAPError as e:
            print(uri, repr(base), type(e).__name__, e.args[0].get("info"))
