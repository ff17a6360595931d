#!/usr/bin/python3
"""totp.py BASE32SECRET -> current 6-digit TOTP code (RFC 6238, SHA1, 30 s), stdlib only"""
import base64, hmac, hashlib, struct, sys, time
s = sys.argv[1].upper().replace(" ", ""); s += "=" * (-len(s) % 8)
key = base64.b32decode(s)
c = struct.pack(">Q", int(time.time()) // 30)
h = hmac.new(key, c, hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o+4])[0] & 0x7fffffff) % 1000000))
