"""The Official Account chat: the responder and the effects it carries out for the pure core
(shared with the mini-program API: archive, notices, commissioners)."""
