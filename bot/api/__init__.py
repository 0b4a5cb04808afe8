"""The JSON APIs: the mini-program's (with its OpenAPI document) and the admin API."""
