"""Talking with WeChat: the Official Account callback, the outbound API client, who a user is."""
