#!/bin/sh
# Ofelia stand-in (see Dockerfile): log a start line to stdout and to the save folder, then idle
# until stopped.
msg="$(date -u '+%Y-%m-%dT%H:%M:%SZ') ofelia stand-in started: $* (jobs are not run by the stand-in)"
echo "$msg"
dir="${OFELIA_SAVE_FOLDER:-/tmp/logs}"
if [ -d "$dir" ]; then echo "$msg" >> "$dir/ofelia-standin.log" 2>/dev/null || true; fi
trap 'echo "ofelia stand-in stopping"; exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
