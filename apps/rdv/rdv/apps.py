from django.apps import AppConfig


class RdvConfig(AppConfig):
    name = "rdv"
    verbose_name = "Rendez-vous"
