import ldap, ldap.sasl, ldap.modlist
B = "dc=vallee-ours,dc=example,dc=fr"
# 1) as in the brief
conn = ldap.initialize("ldapi:///")
conn.sasl_non_interactive_bind_s("EXTERNAL")
print("whoami:", conn.whoami_s())
# 2) as community.general.ldap_* modules do when no bind_dn is given (sasl_class=external)
c2 = ldap.initialize("ldapi:///")
c2.sasl_interactive_bind_s("", ldap.sasl.external())
print("whoami (sasl.external):", c2.whoami_s())
dn = "cn=pytest,ou=groups,ou=belcastel,ou=communes," + B
entry = {"objectClass": [b"groupOfNames"], "cn": [b"pytest"],
         "member": [b"uid=bob,ou=people,ou=belcastel,ou=communes," + B.encode()]}
c2.add_s(dn, ldap.modlist.addModlist(entry))
c2.modify_s(dn, [(ldap.MOD_REPLACE, "description", [b"made by python-ldap over ldapi"])])
print(c2.search_s(dn, ldap.SCOPE_BASE, attrlist=["description"]))
c2.delete_s(dn)
print("python-ldap", ldap.__version__, "add/modify/delete OK")
