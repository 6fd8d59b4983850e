# Sourced by the listen tests: a virtual microphone. A user-space PulseAudio daemon in a
# private directory whose default source is module-pipe-source fed from a FIFO (no sound
# hardware or kernel module needed). The pipe source is not clocked: it produces exactly what
# is written to the FIFO, when it is written, so the tests control the audio precisely.
#   vmic_start        starts the daemon (returns 77 = skip when PulseAudio cannot start)
#   vmic_wait_client  waits until a recorder is attached (data written before is dropped)
#   vmic_write FILE   writes a raw s16le 24 kHz mono file into the microphone
#   vmic_zeros SEC    writes SEC seconds of silence
#   vmic_stop
VMIC_DIR=$(mktemp -d)
export PULSE_SERVER=unix:$VMIC_DIR/native
vmic_pa() { HOME=$VMIC_DIR XDG_RUNTIME_DIR=$VMIC_DIR "$@"; }

vmic_start() {
    command -v pulseaudio >/dev/null || { echo "SKIP: pulseaudio is not installed"; return 77; }
    cat >"$VMIC_DIR/default.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1 socket=$VMIC_DIR/native
load-module module-pipe-source source_name=vmic file=$VMIC_DIR/mic.fifo format=s16le rate=24000 channels=1
load-module module-null-sink sink_name=vspk rate=24000 channels=1
set-default-source vmic
set-default-sink vspk
PA
    vmic_pa pulseaudio -n -F "$VMIC_DIR/default.pa" --daemonize=yes --exit-idle-time=-1 \
        --log-target=file:"$VMIC_DIR/pulse.log" || { echo "SKIP: PulseAudio cannot start here"; return 77; }
    for _ in $(seq 50); do
        vmic_pa pactl info >/dev/null 2>&1 && break
        sleep 0.1
    done
    vmic_pa pactl info >/dev/null 2>&1 || { echo "SKIP: PulseAudio does not answer"; return 77; }
    # module-pipe-source creates the FIFO itself.
    grep -q vmic <<<"$(vmic_pa pactl list short sources)" || {
        echo "FAIL: the pipe source did not load:"; cat "$VMIC_DIR/pulse.log"; return 1; }
    # Keep the FIFO open for writing for the whole test (fd 9), so the source never sees EOF.
    exec 9<>"$VMIC_DIR/mic.fifo"
}

vmic_wait_client() {
    for _ in $(seq 600); do # up to 60 s: loading the model on a loaded machine
        [ -n "$(vmic_pa pactl list short source-outputs 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    echo "FAIL: no recorder attached to the virtual microphone"; return 1
}

vmic_write() { cat "$1" >&9; }
vmic_zeros() { head -c "$(awk -v s="$1" 'BEGIN { printf "%d", s * 48000 }')" /dev/zero >&9; }

vmic_stop() {
    exec 9>&- 2>/dev/null || true
    vmic_pa pulseaudio --kill 2>/dev/null || true
    rm -rf "$VMIC_DIR"
}
