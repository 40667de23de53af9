// The kiosk page's logic: one WebSocket for the live results, two fetches for the capture.
// A token, when the service has one, is passed in the page address: /#token=SECRET.
"use strict";

// The token of "#token=SECRET" exactly as typed: a '+' stays a '+' (URLSearchParams would
// read it as a space, so the service would refuse a token such as "a+b"); %XX escapes are
// decoded (for a token with '&' or '#' in it). null when the address has none.
function tokenFromHash(hash) {
  for (const part of hash.replace(/^#/, "").split("&")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq) !== "token") continue;
    const raw = part.slice(eq + 1);
    try {
      return decodeURIComponent(raw) || null;
    } catch (err) {
      return raw || null; // a lone '%' is part of the token
    }
  }
  return null;
}

const token = tokenFromHash(location.hash);
// JSON is what the service requires for a state change: a page on another site cannot send
// it without a CORS preflight, which the service never grants.
const headers = { "Content-Type": "application/json", ...(token ? { "X-WDS-Token": token } : {}) };
const $ = (id) => document.getElementById(id);
const REGION_NAMES = {
  overall: "overall", forehead: "forehead", glabella: "between the brows",
  left_crows_feet: "left crow's feet", right_crows_feet: "right crow's feet",
  left_under_eye: "left under-eye", right_under_eye: "right under-eye",
};
const IDLE_TEXT = "Press capture and hold still for a moment.";
const RUNNING_PAUSED = "live score paused while the capture runs";

// A capture is named by the service's run and its id: ids start at 1 again when the service
// restarts, the run changes (so a page open across a restart does not take the new capture 1
// for the one it showed before).
const keyOf = (capture) => `${capture.run}/${capture.id}`;
// The capture this page follows: one it started, or one it saw running (another tab, the API,
// a reload mid-capture). Its result is shown when it ends; the buttons wait for it.
let following = null;
let handled = null; // the key of the last finished capture dealt with (shown or passed over)
let lastCapture = null; // the newest capture state the stream sent
let refused = null; // the key of a capture whose 409 "still running" stays shown until it ends
let posting = false; // a POST /v1/capture is under way
let cameraNote = false; // the capture text tells of a camera that is down: gone with its frames
let fresh = false; // a new connection: its first message says whether the service restarted
let lastError = null; // the service's last error message on this stream (its reason to close)
let refusal = null; // the service refused the stream (4400-4499): what the page says and does

// The service closes the stream with 4400-4499 for reasons a reconnect does not change (no
// camera, a missing or wrong token, options it refuses): the page says why and asks again
// only every REFUSED_RETRY_MS (a service restarted with a camera or that token is found),
// instead of every second. Capture cannot work without a camera or the token: its buttons
// stay off until the stream is accepted.
const REFUSED_RETRY_MS = 30000;
const REFUSALS = {
  4401: { badge: "token refused", buttonsOff: true,
    text: "the service refused this page's token: open the page as /#token=YOUR_TOKEN" },
  4409: { badge: "no camera", buttonsOff: true,
    text: "no camera: capture is not available on this service" },
  4410: { badge: "camera failed", buttonsOff: true,
    text: "the camera has failed: capture is not available until the service is restarted" },
};

// The live rate the page asks for: 10 messages a second, or the service's maximum when that is
// lower (its /healthz says; a rate above it is refused with 4400). Without an answer the page
// asks for none: the service's default rate.
const WANTED_FPS = 10;
let streamFps = null;

async function pickStreamFps() {
  if (streamFps !== null) return streamFps;
  try {
    const response = await fetch("/healthz", { headers: token ? { "X-WDS-Token": token } : {} });
    const body = await response.json();
    const max = Number(body.stream_max_fps);
    if (response.ok && Number.isFinite(max) && max > 0) streamFps = Math.min(WANTED_FPS, max);
  } catch (err) {
    // not reachable now: the stream's own close says so; asked again at the next connect
  }
  return streamFps;
}

async function connect() {
  const fps = await pickStreamFps();
  openStream(fps);
}

function openStream(fps) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ image: "overlay" });
  if (fps !== null) query.set("fps", String(fps));
  if (token) query.set("token", token);
  const ws = new WebSocket(`${scheme}://${location.host}/v1/stream?${query}`);
  ws.onopen = () => {
    fresh = true;
    lastError = null;
    if (refusal === null) setConnection("live", true); // else: once a result comes
  };
  ws.onclose = (event) => {
    if (event.code >= 4400 && event.code <= 4499) {
      showRefusal(event.code);
      setTimeout(connect, REFUSED_RETRY_MS);
      return;
    }
    if (refusal !== null) { // the service was not there: the refusal's reason still holds
      setTimeout(connect, REFUSED_RETRY_MS);
      return;
    }
    setConnection("reconnecting...", false);
    setTimeout(connect, 1000);
  };
  ws.onmessage = (event) => onMessage(JSON.parse(event.data));
}

function showRefusal(code) {
  refusal = REFUSALS[code] || { badge: "refused", buttonsOff: false, text: null };
  setConnection(refusal.badge, false);
  $("prompt").textContent = lastError || `the service refused the live stream (code ${code})`;
  delete $("prompt").dataset.status;
  if (refusal.text) setCaptureText(refusal.text);
  setCaptureButtons(!posting && following === null);
}

function setConnection(text, on) {
  const badge = $("connection");
  badge.textContent = text;
  badge.className = "badge " + (on ? "on" : "off");
}

function setCaptureText(text) {
  $("capture-state").textContent = text;
}

function onMessage(msg) {
  if (msg.type === "error") {
    lastError = msg.error;
    $("prompt").textContent = msg.error;
    return;
  }
  if (refusal !== null) { // accepted again (restarted with a camera, or that token)
    if (refusal.text) setCaptureText(IDLE_TEXT);
    refusal = null;
    setConnection("live", true);
  }
  const capture = msg.capture || null;
  // The capture followed is gone when the service says another run, or (the first message of
  // a new connection) none: the service restarted meanwhile.
  if (following !== null && (capture ? capture.run !== following.run : fresh)) {
    following = null;
    refused = null;
    setCaptureText("the service restarted before the capture ended: press capture again");
  }
  fresh = false;
  if (msg.type === "camera") {
    $("prompt").textContent = msg.state === "lost" ? "camera lost, reconnecting..." : `camera ${msg.state}`;
    onCapture(capture, true);
    return;
  }
  if (msg.image) $("live").src = `data:${msg.image.type};base64,${msg.image.base64}`;
  $("live").dataset.seq = msg.seq;
  const collecting = capture !== null && capture.state === "collecting";
  const prompt = $("prompt");
  // during a capture the big prompt is the capture's own ("please don't smile", "analysing...")
  prompt.textContent = collecting && capture.prompt ? capture.prompt : msg.prompt;
  prompt.dataset.status = msg.status;
  const total = msg.timings_ms && msg.timings_ms.total;
  const overall = msg.scores && msg.scores.overall;
  $("running").textContent = collecting ? RUNNING_PAUSED : overall
    ? `live score ${(100 * overall.wrinkle_ratio).toFixed(2)} % (fused over ${msg.fused_frames} frame${msg.fused_frames === 1 ? "" : "s"})`
    : "";
  $("stats").textContent = `frame ${msg.seq} - ${msg.status} - analysis ${total ? total.toFixed(0) : "?"} ms - age ${msg.age_ms} ms`;
  onCapture(capture, false);
  if (cameraNote && !collecting) { // frames again: the camera is back
    cameraNote = false;
    setCaptureText(IDLE_TEXT);
  }
}

// cameraDown: the state came in a camera message (no frames): a failure shown now is about
// the camera, and goes when its frames come back.
function onCapture(capture, cameraDown) {
  if (capture !== null) {
    lastCapture = capture;
    const key = keyOf(capture);
    if (capture.state === "collecting") {
      if (following === null || keyOf(following) !== key) {
        following = capture;
        hideResult(); // the last person's scores go as soon as the next capture runs
      }
      cameraNote = false;
      if (refused !== key) {
        setCaptureText(`capturing: ${capture.good_frames} of ${capture.frames_needed} good frames - ${capture.prompt || ""}`);
      }
    } else if (key !== handled) {
      handled = key;
      // a capture that ended before this page saw it run (the last person's, on a page
      // loaded since) is passed over: never shown
      if (following !== null && keyOf(following) === key) {
        following = null;
        refused = null;
        if (!capture.final) {
          hideResult();
          setCaptureText(capture.error || "the capture failed: press capture again");
          cameraNote = cameraDown;
        } else {
          // a capture that timed out but fused frames shows its result with its note
          showResult(capture.final);
          const note = capture.note ? `${capture.note} - ` : "";
          setCaptureText(`done - ${note}press capture for another person`);
        }
      }
    }
  }
  setCaptureButtons(!posting && following === null);
}

function hideResult() {
  $("result").hidden = true;
  $("bars").replaceChildren();
  $("result-note").textContent = "";
}

function showResult(final) {
  const bars = $("bars");
  bars.replaceChildren();
  const entries = Object.entries(final.scores);
  const top = Math.max(0.01, ...entries.map(([, s]) => s.wrinkle_ratio));
  for (const [name, score] of entries) {
    const item = document.createElement("li");
    item.dataset.region = name;
    const percent = (100 * score.wrinkle_ratio).toFixed(1);
    item.innerHTML = `<div class="bar-label"><span></span><span>${percent} %</span></div>` +
      `<div class="bar"><span style="width:${(100 * score.wrinkle_ratio / top).toFixed(1)}%"></span></div>`;
    item.querySelector(".bar-label span").textContent = REGION_NAMES[name] || name;
    bars.appendChild(item);
  }
  const note = final.complete
    ? `fused over ${final.frames_used} frames`
    : `only ${final.frames_used} good frames of ${final.frames_seen}: stand still and try again`;
  const warnings = final.warnings || [];
  let extra = "";
  if (warnings.includes("not_neutral")) extra = " - the face was not neutral: scores are deeper";
  if (final.capture === "raise_brows") {
    extra = warnings.includes("brows_not_raised")
      ? " - raised brows asked for, but the brows were not raised"
      : " - with raised brows: look at the forehead";
  }
  $("result-note").textContent = note + extra;
  $("result").hidden = false;
}

function setCaptureButtons(enabled) {
  const off = !enabled || (refusal !== null && refusal.buttonsOff);
  for (const id of ["capture", "capture-brows"]) $(id).disabled = off;
}

// expression: "neutral" (the wrinkle score of a resting face) or "raise_brows" (the forehead
// lines with raised brows, for a consultation)
async function capture(expression) {
  posting = true;
  setCaptureButtons(false);
  hideResult();
  cameraNote = false;
  setCaptureText(expression === "raise_brows"
    ? "capturing: raise your eyebrows and hold..." : "capturing: hold still...");
  try {
    const response = await fetch("/v1/capture", {
      method: "POST", headers, body: JSON.stringify({ expression }),
    });
    const body = await response.json();
    if ((response.status === 202 || response.status === 409) && body.id != null) {
      following = { id: body.id, run: body.run }; // started, or the one still running
      if (response.status === 409) {
        refused = keyOf(following);
        setCaptureText(body.error);
      }
    } else {
      setCaptureText(body.error || `error ${response.status}`);
      cameraNote = response.status === 409; // no working camera: told until frames come
    }
  } catch (err) {
    setCaptureText(`cannot reach the service: ${err}`);
  }
  posting = false;
  if (following !== null && lastCapture !== null && keyOf(lastCapture) === keyOf(following)) {
    if (lastCapture.state !== "collecting") handled = null; // it ended before the answer came
    onCapture(lastCapture, false);
  }
  setCaptureButtons(following === null);
}

$("capture").addEventListener("click", () => capture("neutral"));
$("capture-brows").addEventListener("click", () => capture("raise_brows"));
connect();
