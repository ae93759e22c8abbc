#!/bin/sh
# An IVR call driven by dialtonectl alone, with no sound card: call someone,
# record the call, play a greeting, collect a four-digit PIN ended by '#',
# read it back as DTMF, and hang up. Prints the PIN (or "none").
#
# Usage: ivr.sh URI GREETING.wav RECORDING.wav
# Exit status: 0 when a PIN was entered, 1 when not (no answer, timeout,
# the other party hung up).
set -eu

if [ $# -ne 3 ]; then
    echo "usage: $0 URI GREETING.wav RECORDING.wav" >&2
    exit 2
fi
uri=$1 greeting=$2 recording=$3

# --wait returns once the call is answered; it fails if nobody answers.
if ! call=$(dialtonectl call "$uri" --wait --timeout 30); then
    echo "no answer from $uri" >&2
    exit 1
fi
# Whatever happens below, the call does not outlive the script.
trap 'dialtonectl hangup "$call" >/dev/null 2>&1 || true' EXIT

dialtonectl record "$call" "$recording"
dialtonectl play "$call" "$greeting" --wait
echo "waiting for the PIN"
if pin=$(dialtonectl wait-dtmf "$call" --count 4 --terminator '#' --timeout 20); then
    echo "PIN: $pin"
    dialtonectl dtmf "$call" "$pin"
    sleep 2  # four digits of 350 ms each reach the other party
    status=0
else
    echo "PIN: none"
    status=1
fi
dialtonectl stop-recording "$call" || true
dialtonectl hangup "$call" || true
trap - EXIT
exit $status
