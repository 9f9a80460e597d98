// The Live view: the microphone, streamed to /transcribe-websocket (Soniox's realtime
// protocol) with a temporary key; it shows whatever the socket sends.
import { el, toast } from "./ui.js";

const KEY_SECONDS = 300;

export function liveView(main, { request }) {
  const start = el("button", { type: "button", class: "primary", "data-testid": "live-start" }, "Start listening");
  const stop = el("button", { type: "button", "data-testid": "live-stop", disabled: true }, "Stop and transcribe");
  const state = el("p", { class: "muted", role: "status", "data-testid": "live-state" }, "Not listening.");
  const output = el("div", { class: "live-output", "aria-live": "polite", "data-testid": "live-output" });
  const log = el("pre", { class: "live-log", "data-testid": "live-log" });
  let socket = null;
  let context = null;
  let stream = null;

  function show(message) {
    log.textContent = `${JSON.stringify(message)}\n${log.textContent}`.slice(0, 20000);
    if (message.error_message) {
      state.textContent = `Error ${message.error_code}: ${message.error_message}`;
      return;
    }
    const text = (message.tokens || []).map((t) => t.text).join("");
    if (text) output.append(el("span", {}, text));
    if (message.finished) {
      state.textContent = "Done. Start again to transcribe more.";
      if (!output.textContent.trim()) output.append(el("p", { class: "muted" }, "No speech was heard."));
    }
  }

  async function begin() {
    start.disabled = true;
    output.replaceChildren();
    log.textContent = "";
    try {
      const models = await request("/models");
      const model = models.models.find((m) => m.transcription_mode === "real_time") || models.models[0];
      const { api_key: key } = await request("/auth/temporary-api-key", {
        method: "POST", body: { usage_type: "transcribe_websocket", expires_in_seconds: KEY_SECONDS },
      });
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
      context = new AudioContext();
      await context.audioWorklet.addModule("/console/pcm-worklet.js");
      const source = context.createMediaStreamSource(stream);
      const writer = new AudioWorkletNode(context, "pcm-writer");
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      // The temporary key travels as a WebSocket subprotocol, never in the URL.
      socket = new WebSocket(`${scheme}://${location.host}/transcribe-websocket`, ["soniox-api-key", key]);
      socket.onopen = () => {
        socket.send(JSON.stringify({
          model: model.id, audio_format: "pcm_s16le", sample_rate: context.sampleRate, num_channels: 1,
        }));
        writer.port.onmessage = (e) => { if (socket?.readyState === WebSocket.OPEN) socket.send(e.data); };
        source.connect(writer);
        state.textContent = "Listening… speak, then press Stop to get the transcript.";
        stop.disabled = false;
      };
      socket.onmessage = (e) => show(JSON.parse(e.data));
      socket.onerror = () => { state.textContent = "The connection to Hark failed."; };
      socket.onclose = () => { finishAudio(); start.disabled = false; stop.disabled = true; socket = null; };
    } catch (e) {
      finishAudio();
      start.disabled = false;
      state.textContent = e.name === "NotAllowedError"
        ? "The browser did not allow the microphone." : `Could not start: ${e.message}`;
    }
  }

  function finishAudio() {
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    context?.close().catch(() => {});
    context = null;
  }

  function end() {
    stop.disabled = true;
    finishAudio();
    if (socket?.readyState === WebSocket.OPEN) {
      socket.send(""); // end of audio: the server transcribes what it received
      state.textContent = "Transcribing…";
    }
  }

  start.addEventListener("click", () => begin().catch((e) => toast(e.message, true)));
  stop.addEventListener("click", end);
  main.replaceChildren(el("section", { class: "card" },
    el("h2", {}, "Live"),
    el("p", { class: "muted" },
      "Transcribe the microphone through Hark's realtime socket with a temporary key. "
      + "This server transcribes what it heard when you stop."),
    el("div", { class: "row buttons" }, start, stop), state, output,
    el("details", {}, el("summary", {}, "What the socket sent"), log)));
  return () => { finishAudio(); socket?.close(); };
}
