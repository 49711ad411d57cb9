"""The hub: the neutral request/response/event model every dialect and provider converts to and from."""
