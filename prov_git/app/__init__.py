"""One orchestrator per user action (record, diff, verify, read, hooks, ...): each takes a
repository handle and plain values, calls capture/, record/, diff/ and store/, and returns data.
Commands render what these return; nothing here prints or exits."""
