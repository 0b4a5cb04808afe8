"""Background work: sending notices, nudges and reminders."""
