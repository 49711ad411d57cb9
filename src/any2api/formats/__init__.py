"""Client dialects: one package per dialect (parse a client's request into the hub; render hub responses,
events, model lists and errors back), all registered in ``registry.py``; the interface is ``base.py``."""
