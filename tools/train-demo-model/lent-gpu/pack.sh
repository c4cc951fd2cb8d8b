#!/bin/bash
# Packs what a lent GPU machine (no network, no Debian TTS) needs to run
# synth.py and train.py there, into lent-gpu/carry/ (git-ignored; name it in the
# device tool's carry): tts.tar.xz (espeak-ng, flite, festival with its voices,
# sox, and their libraries, English data only), corpus.tar.xz (the Debian texts
# corpus.py reads) and heldout-feats.npz (train.py's held-out check). About
# 31 MB, which leaves room for the repository in a 64 MiB working tree.
# Run on this project's Debian machine, from anywhere: bash lent-gpu/pack.sh
# (PYTHON names a python3 with Debian's torch and numpy if python3 is another).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TD=$(dirname "$HERE")
CARRY=$HERE/carry
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$CARRY" "$WORK/debs" "$WORK/stage"
# The voices' closure, less what any Linux image has (libc, libstdc++, zlib...).
(cd "$WORK/debs" && apt-get download -q espeak-ng espeak-ng-data libespeak-ng1 libpcaudio0 libsonic0 \
  festival festlex-cmu festlex-poslex festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts flite libflite1 \
  libestools2.5 libasound2 libasound2-data libao4 libao-common sox libsox3 libsox-fmt-base libgomp1 libgsm1 \
  libmagic1 libmagic-mgc libopencore-amrnb0 libopencore-amrwb0 libmp3lame0 libmpg123-0 libwavpack1 libsndfile1 \
  libflac12 libogg0 libvorbis0a libvorbisenc2 libvorbisfile3 libopus0 libfftw3-single3 libltdl7 libpulse0 \
  libasyncns0 libdbus-1-3 libx11-6 libx11-data libx11-xcb1 libxau6 libxcb1 libxdmcp6 libsamplerate0 libpng16-16)
for f in "$WORK"/debs/*.deb; do dpkg -x "$f" "$WORK/stage"; done
S=$WORK/stage
rm -rf "$S"/usr/share/{doc,man,lintian,locale,bug,info}
find "$S/usr/lib/x86_64-linux-gnu/espeak-ng-data" -name '*_dict' ! -name en_dict -delete
if [ -d "$S/lib" ]; then  # one tree under /usr, so it merges into a usr-merged image
  cp -a "$S"/lib/. "$S/usr/lib/" && rm -rf "$S/lib"
fi
tar -C "$S" -cf - . | xz -9 -T0 > "$CARRY/tts.tar.xz"
tar -C / -cJf "$CARRY/corpus.tar.xz" usr/share/games/fortunes usr/share/common-licenses usr/share/dict/american-english
cd "$TD"
[ -f work/heldout.jsonl ] || "${PYTHON:-python3}" synth.py heldout 300
"${PYTHON:-python3}" -c "import train; train.load_heldout()"
cp work/heldout-feats.npz "$CARRY/"
du -sh "$CARRY"/*
