#!/bin/sh
# A tiny service for the single-command demo: it leaves orphans behind (which Vigil reaps),
# reports ready, and shuts down gracefully on SIGTERM.
echo "app: started as pid $$"
for i in 1 2 3 4 5; do
  (sleep 0.2 &)  # The subshell exits at once: each sleep becomes an orphan of PID 1.
done
trap 'echo "app: SIGTERM received, finishing in-flight work"; exit 0' TERM
echo "app: ready"
while :; do
  sleep 1 &
  wait $!
done
