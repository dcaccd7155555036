"""Storage: one module per aggregate. Every function takes an open connection and the
caller's scope (user id / home id); none of them commits or knows about HTTP or JSON."""
