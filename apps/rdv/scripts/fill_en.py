# ruff: noqa: E501  (a translation table reads best one message a line)
"""Fill the English catalogue (rdv/locale/en/LC_MESSAGES/django.po) from the table below,
then compile it: `python scripts/fill_en.py` after `makemessages -l en`."""

import re
import subprocess
import sys
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "rdv/locale/en/LC_MESSAGES/django.po"

EN = {
    "Rendez-vous marqué comme honoré.": "Appointment marked as honoured.",
    "Rendez-vous marqué comme non honoré.": "Appointment marked as missed.",
    "Rendez-vous annulé ; la personne a été prévenue.": "Appointment cancelled; the person has been notified.",
    "Impossible de bloquer": "Cannot block: an appointment or another block already occupies this counter.",
    "Créneau bloqué.": "Slot blocked.",
    "Blocage supprimé.": "Block removed.",
    "Nom et prénom": "First and last name",
    "Adresse électronique": "Email address",
    "La confirmation et le lien": "The confirmation and the link to cancel or move the appointment are sent there.",
    "Téléphone (facultatif)": "Phone (optional)",
    "Saisissez un numéro de téléphone valide.": "Enter a valid phone number.",
    "Guichet": "Counter",
    "Jour": "Day",
    "Début": "Start",
    "Fin": "End",
    "Toute la journée": "Whole day",
    "Motif du blocage": "Reason for the block",
    "Indiquez une heure de début": "Give a start and an end time, or the whole day.",
    "Erreur :": "Error:",
    "Semaines": "Weeks",
    "Semaine précédente": "Previous week",
    "Semaine suivante": "Next week",
    "Rendez-vous – espace des agents – %(commune_name)s": "Appointments – staff area – %(commune_name)s",
    "Espace des agents": "Staff area",
    "Connecté(e) : %(name)s": "Signed in: %(name)s",
    "semaine": "week",
    "Vous ne faites partie d'aucun service": "You are not a member of any service that takes appointments.",
    "Mes services": "My services",
    "semaine du %(first)s au %(last)s": "week of %(first)s to %(last)s",
    "Période": "Period",
    "Précédent": "Previous",
    "Suivant": "Next",
    "Vue du jour": "Day view",
    "Vue de la semaine": "Week view",
    "Rendez-vous et blocages – %(name)s": "Appointments and blocks – %(name)s",
    "Horaire": "Time",
    "Motif": "Reason",
    "Personne": "Person",
    "État": "Status",
    "Actions": "Actions",
    "prévu": "booked",
    "annulé": "cancelled",
    "honoré": "honoured",
    "non honoré": "missed",
    "Honoré": "Honoured",
    "Absent": "Missed",
    "Annuler": "Cancel",
    "Bloqué": "Blocked",
    "Débloquer": "Unblock",
    "Aucun rendez-vous.": "No appointment.",
    "Bloquer un créneau ou une journée": "Block a slot or a whole day",
    "Bloquer": "Block",
    "Rendez-vous": "Appointments",
    "Aller au contenu": "Skip to content",
    "Rendez-vous en mairie – %(commune_name)s": "Town hall appointments – %(commune_name)s",
    "Langue": "Language",
    "Service de prise de rendez-vous": "Appointment booking service of %(commune_name)s. Your data is only used to organise your appointment and is erased after it.",
    "Erreur": "Error",
    "Vos coordonnées": "Your details",
    "Choisir un autre horaire": "Choose another time",
    "Les champs marqués": "Fields marked with an asterisk (*) are required.",
    "Confirmer le rendez-vous": "Confirm the appointment",
    "Prendre rendez-vous": "Book an appointment",
    "Choisissez le motif de votre rendez-vous.": "Choose the reason for your appointment.",
    "Aucun service ne propose": "No service offers appointments at the moment.",
    "Date": "Date",
    "Lieu": "Place",
    "Rendez-vous annulé – %(commune)s": "Appointment cancelled – %(commune)s",
    "Bonjour %(name)s,": "Hello %(name)s,",
    "Votre rendez-vous est annulé :": "Your appointment is cancelled:",
    "Pour prendre un nouveau rendez-vous : %(base_url)s": "To book a new appointment: %(base_url)s",
    "Rendez-vous confirmé – %(commune)s": "Appointment confirmed – %(commune)s",
    "Votre rendez-vous est confirmé :": "Your appointment is confirmed:",
    "Pour l'annuler ou le déplacer": "To cancel or move it, use this personal link (do not share it):",
    "Le rendez-vous est joint": "The appointment is attached (.ics file) for your calendar.",
    "Rendez-vous déplacé – %(commune)s": "Appointment moved – %(commune)s",
    "Votre rendez-vous a été déplacé. Nouvel horaire :": "Your appointment has been moved. New time:",
    "Rappel de votre rendez-vous – %(commune)s": "Reminder of your appointment – %(commune)s",
    "Nous vous rappelons votre rendez-vous :": "This is a reminder of your appointment:",
    "Si vous ne pouvez pas venir": "If you cannot come, cancel it with the link in the confirmation email: the slot will go to someone else.",
    "Rendez-vous confirmé": "Appointment confirmed",
    "Votre rendez-vous": "Your appointment",
    "Un courriel de confirmation": "A confirmation email has been sent to you, with the link to this page to cancel or move the appointment.",
    "Votre rendez-vous est annulé.": "Your appointment is cancelled.",
    "Votre rendez-vous a été déplacé. Un courriel vous le confirme.": "Your appointment has been moved. An email confirms it.",
    "Service": "Service",
    "confirmé": "confirmed",
    "passé": "past",
    "Déplacer le rendez-vous": "Move the appointment",
    "Annuler le rendez-vous": "Cancel the appointment",
    "Retour au rendez-vous": "Back to the appointment",
    "actuellement le": "currently on",
    "Déplacer à cet horaire": "Move to this time",
    "Aucun autre créneau": "No other slot is available at the moment.",
    "Tous les motifs": "All reasons",
    "Créneaux disponibles du %(first)s au %(last)s": "Available slots from %(first)s to %(last)s",
    "Choisissez un horaire pour continuer.": "Choose a time to continue.",
    "Aucun créneau n'est disponible": "No slot is available at the moment. Try again later or contact the town hall.",
    "Lien inconnu": "Unknown link",
    "Ce lien ne correspond": "This link matches no appointment. It may have expired: past appointments are erased.",
    "Prendre un nouveau rendez-vous": "Book a new appointment",
    "Ce créneau n'est pas disponible.": "This slot is not available.",
    "Un rendez-vous pour ce motif": "An appointment for this reason is already booked with this address. Use the link you received by email to move or cancel it.",
    "Ce créneau vient d'être pris. Choisissez-en un autre.": "This slot has just been taken. Please choose another one.",
    "Choisissez un créneau dans la liste.": "Choose a slot from the list.",
}
PLURALS = {
    "Le formulaire contient une erreur": ("The form contains an error", "The form contains %(n)s errors"),
    "%(minutes)s minute": ("%(minutes)s minute", "%(minutes)s minutes"),
}


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lookup(msgid: str) -> str | None:
    if msgid in EN:
        return EN[msgid]
    matches = [v for k, v in EN.items() if len(k) > 12 and msgid.startswith(k)]
    return matches[0] if len(matches) == 1 else None


def main() -> int:
    entries = PO.read_text(encoding="utf-8").split("\n\n")
    missing = []
    out = []
    for entry in entries:
        m = re.search(r'^msgid ((?:".*"\n?)+)', entry, re.M)
        if not m or m.group(1).strip() == '""':
            out.append(entry)
            continue
        msgid = "".join(re.findall(r'"(.*)"', m.group(1))).replace('\\"', '"')
        entry = entry.replace("#, fuzzy\n", "")
        if "msgid_plural" in entry:
            pair = PLURALS.get(msgid)
            if pair is None:
                missing.append(msgid)
            else:
                entry = re.sub(r'msgstr\[0\] (".*"\n?)+', f"msgstr[0] {_string(pair[0])}\n", entry)
                entry = re.sub(r'msgstr\[1\] (".*"\n?)+', f"msgstr[1] {_string(pair[1])}", entry)
        else:
            text = lookup(msgid)
            if text is None:
                missing.append(msgid)
            else:
                entry = re.sub(r'^msgstr (".*"\n?)+', f"msgstr {_string(text)}", entry, flags=re.M)
        out.append(entry.rstrip("\n"))
    PO.write_text("\n\n".join(out).rstrip("\n") + "\n", encoding="utf-8")
    subprocess.run(["msgfmt", "--check", "-o", str(PO.with_suffix(".mo")), str(PO)], check=True)
    for msgid in missing:
        print("missing:", msgid, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
