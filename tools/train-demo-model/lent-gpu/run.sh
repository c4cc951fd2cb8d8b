#!/bin/bash
# One lent-GPU run for the demo model, from the repository root:
#   bash tools/train-demo-model/lent-gpu/run.sh   (carry tools/train-demo-model/lent-gpu/carry)
# Installs the packed voices without overwriting anything the image has, checks
# that every training voice speaks (synth.py check),
# synthesises training speech on most cores (synth.py train, one shard of 500
# utterances every few seconds) from utterance FIRST_UTTERANCE of synth.py's
# stream on, past the utterances earlier runs used (0-431,999 by now), so
# all of it is new to the model; waits for MIN_SHARDS shards so a resumed model
# does not spend its first minutes on a few hours of speech over and over (it
# overfits them: a run that trained on 12 h for 2,500 steps lost 1.8 points), then
# resumes the committed checkpoint in one trainer per entry of RUNS on the same
# growing stream, and ends by TOTAL_SECONDS. An entry is LR:REGULARIZE
# (train.py's --lr and --regularize: 1 adds SpecAugment and dropout). Weights
# come back in $OUT as lr<LR>-reg<R>.npz (+ .json with size and step):
# `export.py lr1e-3-reg1.npz` exports them.
# Env: TOTAL_SECONDS (500), RUNS ("1e-3:1"), MIN_SHARDS (20), SYNTH_WORKERS (12),
# FIRST_UTTERANCE (450000), DEVICE (cuda), BATCH_FRAMES (32000), SHARD_SIZE (500),
# INSTALL (1), and SYNTH_SHARES (synth.py's engine shares; its default unless set).
set -u
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
log() { echo "[$(elapsed)s] $*"; }
TD=$(cd "$(dirname "$0")/.." && pwd)
CARRY=$TD/lent-gpu/carry
TOTAL=${TOTAL_SECONDS:-500}
DEV=${DEVICE:-cuda}
export SYNTH_WORKERS=${SYNTH_WORKERS:-12} PYTHONUNBUFFERED=1
mkdir -p "$OUT"
if [ "${INSTALL:-1}" = 1 ]; then
  mkdir -p /tmp/tts /tmp/corpus
  tar -C /tmp/tts -xJf "$CARRY/tts.tar.xz" && tar -C /tmp/corpus -xJf "$CARRY/corpus.tar.xz" || { log "untar failed"; exit 2; }
  cp -an /tmp/tts/usr /tmp/tts/etc / 2>/dev/null; ldconfig
  export CORPUS_ROOT=/tmp/corpus
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
fi
(cd "$TD" && python3 synth.py check) || { log "stopping before any training"; exit 3; }

mkdir -p "$TD/work/feats"
(cd "$TD" && exec python3 synth.py train 200000 "${SHARD_SIZE:-500}" "${FIRST_UTTERANCE:-450000}") > "$OUT/synth.log" 2>&1 &
SYNTH=$!
shards() { ls "$TD"/work/feats/shard????.npz 2>/dev/null | wc -l; }
until [ "$(shards)" -ge "${MIN_SHARDS:-20}" ] || [ "$(elapsed)" -ge $((TOTAL / 3)) ]; do sleep 2; done
SECONDS_LEFT=$((TOTAL - $(elapsed) - 40))
log "$(shards) shards; training for $SECONDS_LEFT s"
PIDS=""
RUNS=${RUNS:-1e-3:1}
name_of() { echo "lr${1%%:*}-reg${1##*:}"; }
for run in $RUNS; do
  lr=${run%%:*} reg=${run##*:} name=$(name_of "$run")
  dir=/tmp/run-$name
  rm -rf "$dir" && mkdir -p "$dir/work" && cp "$TD"/*.py "$TD/checkpoint.pt" "$dir/"
  ln -s "$TD/work/feats" "$dir/work/feats" && cp "$CARRY/heldout-feats.npz" "$dir/work/"
  (cd "$dir" && exec timeout $((SECONDS_LEFT + 30)) python3 train.py --resume --device "$DEV" --seconds "$SECONDS_LEFT" \
    --batch-frames "${BATCH_FRAMES:-32000}" --regularize "$reg" --eval-every 1000 --lr "$lr") > "$OUT/$name.log" 2>&1 &
  PIDS="$PIDS $!"
done
wait $PIDS
kill $SYNTH 2>/dev/null
log "trained; $(grep -c utterances "$OUT/synth.log") shards synthesised"
for run in $RUNS; do
  name=$(name_of "$run")
  (cd "/tmp/run-$name" && python3 -c "import export; export.save_portable('work/ckpt.pt', '$OUT/$name')" \
    && timeout 60 python3 train.py --eval --device "$DEV" | head -n 1)
  grep "heldout WER" "$OUT/$name.log" | sed 's/  e.g.*//'
done
log "done"
