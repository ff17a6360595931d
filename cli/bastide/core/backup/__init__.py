"""Backups that survive ransomware (docs/backups.md): per commune, an S3 bucket under Object Lock
with two keys (a writer the servers hold, a maintainer kept in the keyring), a restic repository
in it, backups made on the hosts by a systemd timer, checked and pruned from the controller."""
