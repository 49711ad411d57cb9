"""Wire formats: the maps, usage codecs and error codecs of one wire format each, shared by the client
dialect (``formats/``) and the upstream (``providers/``) that speak it. Imports only ``core``."""
