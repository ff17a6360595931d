"""Django settings: everything comes from the commune's JSON file and systemd credentials."""

from __future__ import annotations

from pathlib import Path

from rdv import config as _config

CONFIG = _config.get()
BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = _config.credential("secret-key")
HEADER_SECRET = _config.credential("header-secret")
DEBUG = False
# The commune's site, and the host's own checks (bastide verify asks the socket for /sante as
# localhost; nginx always sends the site's name).
ALLOWED_HOSTS = [CONFIG.base_url.split("://", 1)[-1].split("/", 1)[0], "localhost"]
CSRF_TRUSTED_ORIGINS = [CONFIG.base_url]
# nginx terminates TLS and talks to gunicorn over a unix socket.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_COOKIE_SECURE = CONFIG.base_url.startswith("https://")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.postgres",
    "django.contrib.staticfiles",
    "rdv.apps.RdvConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The stylesheet, from the package itself: gunicorn serves no files, and nginx knows no
    # service's files (WhiteNoise, with far-future caching off: the file has no hashed name).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "rdv.middleware.ContentSecurityPolicyMiddleware",  # outside the gate: its 403s get it too
    "rdv.middleware.AgentGateMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # No XFrameOptionsMiddleware: framing is governed by CSP frame-ancestors.
]
# No sessions at all: the public side needs no cookie (it is framed by the commune's website,
# where third-party cookies are often blocked), the language is in the URL (/en/...), and the
# agents' identity comes from the SSO's headers on every request.

ROOT_URLCONF = "rdv.urls"
WSGI_APPLICATION = "rdv.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "rdv.views.commune",
            ],
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": CONFIG.db_name,
        "USER": CONFIG.db_user,
        "PASSWORD": _config.credential("db-password"),
        "HOST": CONFIG.db_host,
        "PORT": CONFIG.db_port,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = CONFIG.time_zone

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static-collected"
# Served from the installed package's static directories: no collectstatic step on the hosts.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MAX_AGE = 3600

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = CONFIG.mail_host
EMAIL_PORT = CONFIG.mail_port
DEFAULT_FROM_EMAIL = CONFIG.mail_from
SERVER_EMAIL = CONFIG.mail_from

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
