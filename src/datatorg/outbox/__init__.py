"""The outbox: side effects (e-mail) leave after the transaction that caused them commits."""
