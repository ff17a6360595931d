from django.conf.urls.i18n import i18n_patterns
from django.urls import path

from rdv import agents, views

urlpatterns = [
    path("sante", views.health, name="health"),
    path("agents/", agents.index, name="agents-index"),
    path("agents/<slug:service>/", agents.planning, name="agents-planning"),
    path("agents/<slug:service>/rdv/<uuid:uid>/", agents.set_status, name="agents-status"),
    path("agents/<slug:service>/bloquer/", agents.add_block, name="agents-block"),
    path("agents/<slug:service>/blocs/<int:pk>/supprimer/", agents.remove_block,
         name="agents-unblock"),
]

# French at /, English at /en/: the language is in the URL, so it needs no cookie (the
# pages live in the commune's website's frame) and a link switches it without JavaScript.
urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("motif/<slug:service>/<slug:motive>/", views.motive_slots, name="slots"),
    path("motif/<slug:service>/<slug:motive>/reserver/", views.book, name="book"),
    path("rdv/<str:token>/", views.manage, name="manage"),
    path("rdv/<str:token>/deplacer/", views.move, name="move"),
    prefix_default_language=False,
)
