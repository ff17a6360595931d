#!/usr/bin/env bash
# The README's first command: install, start the lab, deploy the demo syndicat onto it, prove
# it, and print how to log in: the portal, a demo agent's login and one-time password, and how
# a browser reaches the lab's sites. `bastide lab down` stops the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bastide=.venv/bin/bastide
# The demo keyring is opened by a lab-only age identity kept out of git (.bastide/ is ignored);
# a real syndicat uses operators' passphrases or identities (docs/keys.md).
export BASTIDE_IDENTITY="${BASTIDE_IDENTITY:-$PWD/.bastide/lab-operator.age}"
mkdir -p "$(dirname "$BASTIDE_IDENTITY")"
"$bastide" lab up --hosts "${BASTIDE_DEMO_HOSTS:-2}" --from inventories/demo --out inventories/lab
"$bastide" validate inventories/lab
if [[ ! -f inventories/lab/keyring/keyring.json ]]; then
  "$bastide" keys init inventories/lab --operator lab --identity "$BASTIDE_IDENTITY"
fi
# Each commune's backup bucket under Object Lock and its keys, on the lab's S3 (docs/backups.md).
"$bastide" backup init inventories/lab
"$bastide" deploy inventories/lab
"$bastide" verify inventories/lab
echo
"$bastide" lab browse inventories/lab
echo
# A new one-time password at each run: the agent chooses their own at the first login.
"$bastide" agent password inventories/lab ours-les-bains marie.dupont
echo
echo "Marie Dupont's commune drive: https://documents.ours-les-bains.example.fr/ (log in on the"
echo "portal with the one-time password above); as a network drive: .../dav/ with her password;"
echo "its share links: $bastide drive shares inventories/lab ours-les-bains; a device to sync:"
echo "$bastide sync enroll inventories/lab ours-les-bains marie.dupont DEVICE_ID (docs/drive.md, docs/sync.md)."
echo "Her agenda and the Secrétariat's: https://agenda.ours-les-bains.example.fr/ (the portal), or"
echo ".../dav/ in Thunderbird, DAVx5 or Apple Calendar with her password (docs/calendars.md)."
echo "Citizens book at https://rdv.ours-les-bains.example.fr/ (no account); she sees the appointments"
echo "at .../agents/ and in her agenda; the HTML for the town hall's website:"
echo "$bastide rdv embed inventories/lab ours-les-bains (docs/rdv.md)."
echo "Backups (every night, locked in the lab's S3): $bastide backup status inventories/lab; one"
echo "now: $bastide backup run inventories/lab ours-les-bains; a lost file back:"
echo "$bastide restore inventories/lab ours-les-bains --service drive --path services/...; proof that"
echo "everything restores, timed: $bastide backup drill inventories/lab ours-les-bains; the mayor's"
echo "page: $bastide backup report inventories/lab --output reports/ (docs/backups.md)."
echo "The people of the communes and their logins: $bastide agent list inventories/lab"
echo "The lab runs until: $bastide lab down"
