"""Client dialects: parse a client's request into the hub; render hub responses and events back."""
