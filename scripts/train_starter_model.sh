#!/usr/bin/env bash
# Train the starter-model recipe of issue 24 (the 2.0.0 candidate: labels v2, kiosk
# augmentation, zones, 200 epochs; see MODEL_CARD.md and docs/starter_model_selection_rule.md).
# It is NOT how the bundled model (wds-unet-starter 1.0.0) was made: that one is described in
# MODEL_CARD.md ("Training"), and this recipe's 2.0.0 candidate failed the selection rule.
#
#   bash scripts/train_starter_model.sh            # ~1 h on 2 shared CPU cores (no GPU)
#   INSTALL=1 bash scripts/train_starter_model.sh  # ... and replace the bundled model
#
# One command, fixed seed, nothing but the project's own CLI (the same commands a kiosk
# maker runs on their own photos): frames -> label --auto -> train -> eval on held-out
# faces -> export (-> install as the bundled default model with INSTALL=1, only for a model
# that passed the selection rule). Work files go to $WORK
# (default runs/starter, git-ignored); the reference data is read in place from
# $WDS_EDGE_SHARED (default ../shared) and never copied into the repository.
#
# Environment: WDS_EDGE_SHARED, WORK, WDS_EDGE (the CLI, default .venv/bin/wds-edge; may be
# a command with arguments, e.g. "/path/to/python -m wds_edge.cli" to run a git worktree's
# code with another checkout's venv), PYTHON (default .venv/bin/python), EPOCHS (default 200),
# BASE (U-Net width, default 16), AUTO_VERSION (weak labeler generation, default 2),
# ZONE_WEIGHT (loss weight of a wrinkle predicted on a lid margin, brow, hairline, ...: the
# labeler's zones/, default 1 = off; see `wds-edge train --zone-weight`), REGION_BALANCE=1
# (weight each facial region's labels alike in the loss: `wds-edge train --region-balance`),
# STEM (none, default, or space_to_depth: the U-Net at half resolution, `wds-edge train --stem`),
# INSTALL=1 to install the exported model as the bundled default (default 0: it is left in
# $WORK; install only a model that passed docs/starter_model_selection_rule.md), FROM_STEP=N
# to continue a run in $WORK from step N (FROM_STEP=4 resumes an interrupted training run;
# FROM_STEP=5 after the training finished, i.e. wrote run/metrics.json, but a later step
# failed), TO_STEP=N to stop after step N (TO_STEP=4: train only, never touching the held-out
# faces).
# Seeded end to end; expected to repeat on one machine with the same torch version and
# thread count (not verified), not bit-exact across CPUs / thread counts / torch versions
# (see MODEL_CARD.md).
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED="$(cd "${WDS_EDGE_SHARED:-../shared}" && pwd)"
WORK="${WORK:-runs/starter}"
read -ra WDS <<< "${WDS_EDGE:-.venv/bin/wds-edge}"
PY="${PYTHON:-.venv/bin/python}"
# This checkout's wds_edge wins over an installed copy (python -c / -m also put cwd first);
# the desktop packages (wds_edge_train, ...) resolve through the install (scripts/setup.sh).
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
SEED=7
EPOCHS="${EPOCHS:-200}"
BASE="${BASE:-16}"
AUTO_VERSION="${AUTO_VERSION:-2}"
ZONE_WEIGHT="${ZONE_WEIGHT:-1}"
REGION_BALANCE="${REGION_BALANCE:-0}"
STEM="${STEM:-none}"
LANDMARKER="$SHARED/models/face_landmarker.task"
FACES="$SHARED/data/faces"
FACES_PD="$SHARED/data/faces_pd"
VIDEO="$SHARED/data/video/portrait_motion_720p.mp4"
# Never trained on, never used to select anything: the selection rule's faces (issue 24,
# docs/starter_model_selection_rule.md), 11 public-domain portraits chosen by age and sex.
HELD_OUT_PD=(C001131.jpg M001199.jpg S001218.jpg B000740.jpg C001066.jpg Z000018.jpg
  H001072.jpg B001285.jpg B001301.jpg D000096.jpg W000187.jpg)
# Public-domain photos only (US federal works, NASA, US Navy): no FFHQ image (CC BY-NC-SA 4.0)
# is trained on, so the bundled weights carry no non-commercial condition (MODEL_CARD.md).
TRAIN_PHOTOS=(astronaut.png biden.jpg biden2.jpg obama.jpg obama2.jpg obama3.jpg obama_and_biden.jpg)
TRAIN_PD=(K000391.jpg L000583.jpg E000235.jpg M001211.jpg N000190.jpg B000668.jpg H000273.jpg
  B001260.jpg B001291.jpg grace_hopper.jpg D000216.jpg W000808.jpg H000874.jpg)

FROM_STEP="${FROM_STEP:-1}"
TO_STEP="${TO_STEP:-7}"
case "$FROM_STEP" in [1-7]) ;; *) echo "error: FROM_STEP must be 1-7, got $FROM_STEP" >&2; exit 2 ;; esac
case "$TO_STEP" in [1-7]) ;; *) echo "error: TO_STEP must be 1-7, got $TO_STEP" >&2; exit 2 ;; esac
# A training run in $WORK: finished when the loop wrote run/metrics.json (after its last
# epoch); interrupted when it has a last.pt but no metrics.json (step 4 resumes it).
RESUME=""
if [ -e "$WORK/run/last.pt" ] && [ ! -e "$WORK/run/metrics.json" ]; then
  if [ "$FROM_STEP" -lt 4 ]; then
    echo "error: $WORK holds an interrupted training run (run/last.pt, no run/metrics.json):" \
      "FROM_STEP=4 resumes it (same settings: EPOCHS, BASE, ...); or remove $WORK, or set" \
      "WORK=another/folder" >&2
    exit 2
  fi
  if [ "$FROM_STEP" -ge 5 ]; then
    echo "error: FROM_STEP=$FROM_STEP needs a finished training run in $WORK/run" \
      "(run/metrics.json, written after its last epoch); it holds an interrupted one" \
      "(last.pt only): FROM_STEP=4 resumes it, then evaluates and exports it" >&2
    exit 2
  fi
  RESUME=--resume
elif [ "$FROM_STEP" -le 4 ] && [ -e "$WORK/run/last.pt" ]; then
  echo "error: $WORK already holds a finished training run; remove $WORK, set" \
    "WORK=another/folder, or FROM_STEP=5 to evaluate and export it" >&2
  exit 2
elif [ "$FROM_STEP" -ge 5 ] && [ ! -e "$WORK/run/metrics.json" ]; then
  echo "error: FROM_STEP=$FROM_STEP needs a finished training run in $WORK/run" \
    "(run/metrics.json, written after its last epoch); train it first (FROM_STEP=1..4)" >&2
  exit 2
fi
mkdir -p "$WORK/photos_train" "$WORK/photos_heldout"
log() { printf '\n== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
step() {
  [ "$1" -ge "$FROM_STEP" ] || { echo "(step $1 skipped: FROM_STEP=$FROM_STEP)"; return 1; }
  [ "$1" -le "$TO_STEP" ] || { echo "(step $1 skipped: TO_STEP=$TO_STEP)"; return 1; }
}

if step 1; then
log "1/7 photos: links to the training faces, every 30th frame of the kiosk clip (0-179)"
for f in "${TRAIN_PHOTOS[@]}"; do ln -sfn "$FACES/$f" "$WORK/photos_train/$f"; done
for f in "${TRAIN_PD[@]}"; do ln -sfn "$FACES_PD/$f" "$WORK/photos_train/$f"; done
for f in "${HELD_OUT_PD[@]}"; do ln -sfn "$FACES_PD/$f" "$WORK/photos_heldout/$f"; done
# The clip is one face (made from biden2.jpg): 6 frames (pose, zoom, light changes) add
# kiosk-like variation without letting one identity outweigh the 6 photos. Frames 180-239
# are blurred or faceless; label --auto would skip them anyway.
"${WDS[@]}" frames "$VIDEO" --out "$WORK/photos_train" --every 30 --stop 180 --force
fi  # step 1

if step 2; then
log "2/7 weak labels v$AUTO_VERSION (regions, exclusion zones, orientation priors, ridge filter, Eq. 2)"
"${WDS[@]}" label --images "$WORK/photos_train" --auto --out "$WORK/labels_train" \
  --landmarker "$LANDMARKER" --crop-size 640 --auto-version "$AUTO_VERSION" --force
"${WDS[@]}" label --images "$WORK/photos_heldout" --auto --out "$WORK/labels_heldout" \
  --landmarker "$LANDMARKER" --crop-size 640 --auto-version "$AUTO_VERSION" --force
fi  # step 2

if step 3; then
log "3/7 training set: images + masks + zones (hard negatives), no fov"
# label --auto also writes fov/ (face skin + regions). With it the loss would ignore hair,
# eyebrows, eyes and background; without it they are negatives, which is what keeps the
# model's wrinkles off hair and brows (the labels are empty there by construction).
# zones/ (lid margins, brows, hairline, outline, nostrils, lips, glasses, hair) weigh a
# wrinkle predicted there ZONE_WEIGHT times (train --zone-weight).
mkdir -p "$WORK/train_data"
ln -sfn ../labels_train/images "$WORK/train_data/images"
ln -sfn ../labels_train/masks "$WORK/train_data/masks"
ln -sfn ../labels_train/zones "$WORK/train_data/zones"
ln -sfn ../labels_train/landmarks "$WORK/train_data/landmarks"  # the regions of --region-balance
cp "$WORK/labels_train/labels.json" "$WORK/train_data/labels.json"  # face data: kiosk augment
fi  # step 3

if step 4; then
log "4/7 train: base $BASE, weighted deep supervision, 320 px random crops of the 640 crops" \
  "${RESUME:+(resuming the interrupted run in $WORK/run)}"
"${WDS[@]}" train ${RESUME:+"$RESUME"} --data "$WORK/train_data" --out "$WORK/run" --recipe project --augment kiosk \
  --loss wds --base "$BASE" --crop-size 320 --batch-size 2 --val-count 4 --epochs "$EPOCHS" \
  --seed "$SEED" --split-seed "$SEED" --zone-weight "$ZONE_WEIGHT" --stem "$STEM" \
  $([ "$REGION_BALANCE" = 1 ] && echo --region-balance)
fi  # step 4

if step 5; then
log "5/7 evaluate on the held-out faces (weak labels; inside their skin mask, then whole crop)"
"${WDS[@]}" eval --checkpoint "$WORK/run/best.pt" --data "$WORK/labels_heldout" --split all --json \
  | tee "$WORK/heldout_eval.json"
mkdir -p "$WORK/heldout_nofov"
ln -sfn ../labels_heldout/images "$WORK/heldout_nofov/images"
ln -sfn ../labels_heldout/masks "$WORK/heldout_nofov/masks"
"${WDS[@]}" eval --checkpoint "$WORK/run/best.pt" --data "$WORK/heldout_nofov" --split all --json \
  | tee "$WORK/heldout_eval_whole_crop.json"
fi  # step 5

if step 6; then
log "6/7 export (texture map + sigmoid in the graph, metadata, parity on held-out faces)"
"${WDS[@]}" export --checkpoint "$WORK/run/best.pt" --out "$WORK/wds_unet_default.onnx" \
  --parity-images "$WORK/photos_heldout" --landmarker "$LANDMARKER"

# Name, version, description and license go into the model's own metadata (annotate keeps
# everything export wrote: training summary, parity, architecture).
"$PY" -c "
from wds_edge_export.onnx_export import annotate_onnx
annotate_onnx('$WORK/wds_unet_default.onnx', fields={
    'model_name': 'wds-unet-starter', 'model_version': '2.0.0',
    'description': 'wds-edge starter model (issues 7, 16, 24): U-Net base $BASE, weighted deep '
    'supervision (WWM with Step 4), trained on weak automatic labels (generation $AUTO_VERSION: '
    'exclusion zones, orientation priors) of 17 public-domain face photos (6 White House '
    'photos, 10 US Congress portraits and Grace Hopper; the labeler skipped 3 faces as too '
    'small) and 6 frames of a clip made from one of them, with kiosk-camera augmentation (small faces, white balance, exposure, grey, noise, '
    'blur, JPEG) and hard-negative zones (lid margins, brows, hairline: weight $ZONE_WEIGHT). '
    'A demo / starting point, not a validated or medical model. See MODEL_CARD.md.',
    'license': 'Apache-2.0 (trained only on public-domain images; see MODEL_CARD.md)',
})
"
fi  # step 6

if [ "${INSTALL:-0}" != "1" ] && [ "$TO_STEP" -ge 7 ]; then
  log "7/7 install skipped: the model is $WORK/wds_unet_default.onnx (INSTALL=1 replaces the" \
    "bundled model with it, for a model that passed docs/starter_model_selection_rule.md)"
elif [ "$TO_STEP" -ge 7 ]; then
  log "7/7 install as the bundled default model (wds_edge/model/weights + sha256 manifest)"
  cp "$WORK/wds_unet_default.onnx" wds_edge/model/weights/wds_unet_default.onnx
  "$PY" -c "
import sys
from wds_edge.model.bundled import write_manifest
write_manifest('wds_edge/model/weights/wds_unet_default.onnx', sys.argv[1])
" "starter model (issues 7, 16, 24): U-Net base $BASE, WDS loss, weak auto labels v$AUTO_VERSION of 17 public-domain photos + 6 video frames, kiosk augmentation, zone weight $ZONE_WEIGHT, seed $SEED; see MODEL_CARD.md"
  cat wds_edge/model/weights/default_model.json
fi
log "done"
