// A clip of a replay as WebM: a canvas recorded with canvas.captureStream() and MediaRecorder
// (the browser's own VP9/VP8 encoder; no library). Recording runs in real time, so the caller
// draws the frames at the pace the clip should play (the viewer: its playing speed, at least 1×).

/** The WebM types tried, best first. */
const TYPES = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"];

/** The WebM type this browser records, or null. */
export function webmType() {
  if (typeof MediaRecorder === "undefined") return null;
  return TYPES.find((t) => MediaRecorder.isTypeSupported(t)) ?? null;
}

/**
 * Records `canvas` while `draw` runs, and returns the WebM.
 *
 * @param {HTMLCanvasElement} canvas the canvas the frames are drawn on
 * @param {(requestFrame: () => void) => Promise<void>} draw draws the clip's frames, calling
 *   `requestFrame()` after each; the recording stops when it resolves
 * @returns {Promise<Blob>}
 */
export async function recordWebm(canvas, draw) {
  const type = webmType();
  if (type === null) throw new Error("this browser cannot record WebM (no MediaRecorder for video/webm)");
  const stream = canvas.captureStream(0);
  const [track] = /** @type {CanvasCaptureMediaStreamTrack[]} */ (stream.getVideoTracks());
  const recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 4_000_000 });
  /** @type {Blob[]} */
  const parts = [];
  recorder.addEventListener("dataavailable", (event) => {
    if (event.data.size > 0) parts.push(event.data);
  });
  const stopped = new Promise((resolve, reject) => {
    recorder.addEventListener("stop", resolve, { once: true });
    recorder.addEventListener("error", (event) => reject(new Error(`recording failed: ${/** @type {any} */ (event).error?.message ?? "error"}`)), { once: true });
  });
  recorder.start(500);
  try {
    await draw(() => track.requestFrame());
  } finally {
    recorder.stop();
    await stopped;
    track.stop();
  }
  const blob = new Blob(parts, { type: "video/webm" });
  if (blob.size === 0) throw new Error("the recording is empty");
  return blob;
}

/**
 * Has the browser download `blob` as `name`.
 * @param {Blob} blob @param {string} name
 */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
