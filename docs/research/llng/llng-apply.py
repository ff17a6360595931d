#!/usr/bin/python3
"""llng-apply.py FRAGMENT.json [--own KEY ...] : idempotent LemonLDAP::NG configuration change.

Reads the current configuration with `lemonldap-ng-cli save`, and runs
`lemonldap-ng-cli -yes 1 -safe 1 merge FRAGMENT` only if some key of the fragment
differs (a JSON null in the fragment means "this key must be absent", as merge deletes it).
--own KEY (e.g. locationRules): each sub-hash of KEY given in the fragment (one per vhost)
is owned exactly: sub-keys found in the configuration but not in the fragment are deleted.
Exit 0 = unchanged, 2 = changed, 1 = error. The fragment must be readable by www-data.
"""
import json, subprocess, sys, os

CLI = "/usr/share/lemonldap-ng/bin/lemonldap-ng-cli"
LOCK = "/var/lib/lemonldap-ng/conf/lmConf.lock"

def norm(v):
    # the CLI/manager may store numbers as strings: compare "1" and 1 as equal
    if isinstance(v, bool): return str(int(v))
    if isinstance(v, (int, float)): return str(v)
    return v

def diff(want, have, path=""):
    out = []
    for k, w in want.items():
        p = path + "/" + k
        if w is None:
            if isinstance(have, dict) and k in have: out.append(p + " (must be absent)")
        elif isinstance(w, dict):
            h = have.get(k) if isinstance(have, dict) else None
            out += diff(w, h if isinstance(h, dict) else {}, p) if isinstance(h, dict) else [p]
        else:
            h = have.get(k) if isinstance(have, dict) else None
            if norm(w) != norm(h): out.append("%s: %r -> %r" % (p, h, w))
    return out

import tempfile, shutil, grp
args = sys.argv[1:]
frag = args.pop(0)
own = [args[i + 1] for i in range(len(args)) if args[i] == "--own"]
want = json.load(open(frag))
cur = subprocess.run([CLI, "save"], capture_output=True, text=True)
if cur.returncode != 0:
    sys.exit("save failed: " + cur.stderr[-500:])
have = json.loads(cur.stdout)
for top in own:                      # extra sub-keys of owned sub-hashes -> null
    for sub, w in (want.get(top) or {}).items():
        h = (have.get(top) or {}).get(sub)
        if isinstance(w, dict) and isinstance(h, dict):
            for extra in set(h) - set(w):
                w[extra] = None
changes = diff(want, have)
if not changes:
    print("unchanged (cfgNum %s)" % have.get("cfgNum")); sys.exit(0)
print("changes:\n  " + "\n  ".join(changes))
if os.path.exists(LOCK):
    sys.exit("stale %s present (a CLI run was killed?): refusing" % LOCK)
tmp = tempfile.NamedTemporaryFile("w", suffix=".json", dir="/run", delete=False)
json.dump(want, tmp); tmp.close()
os.chown(tmp.name, 0, grp.getgrnam("www-data").gr_gid); os.chmod(tmp.name, 0o640)
try:
    r = subprocess.run([CLI, "-yes", "1", "-safe", "1", "merge", tmp.name], capture_output=True, text=True)
finally:
    os.unlink(tmp.name)
out = r.stdout + r.stderr
# the CLI exits 0 even when the save is refused: look for its success line
if r.returncode != 0 or "Saved under number" not in out:
    print(out[-2000:]); sys.exit(1)
print([l for l in out.splitlines() if "Saved under number" in l][0])
sys.exit(2)
