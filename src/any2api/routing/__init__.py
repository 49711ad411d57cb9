"""Model routing (aliases, fallback chains), account selection, retries."""
