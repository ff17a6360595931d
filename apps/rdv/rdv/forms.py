from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _


class BookingForm(forms.Form):
    name = forms.CharField(
        label=_("Nom et prénom"), max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Adresse électronique"),
        help_text=_("La confirmation et le lien pour annuler ou déplacer y sont envoyés."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Téléphone (facultatif)"), max_length=40, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    creneau = forms.CharField(widget=forms.HiddenInput)

    def clean_phone(self) -> str:
        phone: str = self.cleaned_data["phone"].strip()
        if phone and not all(c.isdigit() or c in " +.-()" for c in phone):
            raise forms.ValidationError(_("Saisissez un numéro de téléphone valide."))
        return phone


class BlockForm(forms.Form):
    counter = forms.ChoiceField(label=_("Guichet"))
    day = forms.DateField(label=_("Jour"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(
        label=_("Début"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    end = forms.TimeField(
        label=_("Fin"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    whole_day = forms.BooleanField(label=_("Toute la journée"), required=False)
    reason = forms.CharField(label=_("Motif du blocage"), max_length=200, required=False)

    def __init__(self, *args: object, counters: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["counter"].choices = counters  # type: ignore[attr-defined]

    def clean(self) -> dict:
        data = super().clean() or {}
        if not data.get("whole_day"):
            start: dt.time | None = data.get("start")
            end: dt.time | None = data.get("end")
            if start is None or end is None or start >= end:
                raise forms.ValidationError(
                    _("Indiquez une heure de début et une heure de fin, ou toute la journée.")
                )
        return data
