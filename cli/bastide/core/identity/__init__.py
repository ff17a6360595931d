"""Identity: the syndicat's directory of people (OpenLDAP) and what bastide puts in it."""
