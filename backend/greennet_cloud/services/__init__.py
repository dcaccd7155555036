"""Services: the use cases. They take plain values and a `Principal`, open transactions,
call storage and raise `DomainError`s; they know nothing of HTTP or JSON."""
