"""Citizens' appointment booking, seen from the administration machine: the embed snippet for a
commune's website, the record of processing (registre des traitements) and the statistics."""
