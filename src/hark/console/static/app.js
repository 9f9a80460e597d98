// The Hark console: hash-routed views over Hark's public HTTP API (see docs/console.md).
import { ApiError, apiUrl, fetchBlob, request, session, uploadFile } from "./api.js";
import { el, clock, duration, toast } from "./ui.js";
import { transcriptView } from "./transcript.js";
import { liveView } from "./live.js";

const main = document.getElementById("main");
const header = document.querySelector("header.top");
let leaveView = () => {};

// -- sign in ------------------------------------------------------------------------------

function signInView() {
  header.hidden = true;
  const input = el("input", {
    id: "api-key", type: "password", autocomplete: "current-password", required: true,
    "data-testid": "api-key-input", "aria-describedby": "sign-in-help sign-in-error",
  });
  const error = el("p", { id: "sign-in-error", class: "error", role: "alert" });
  const button = el("button", { type: "submit", class: "primary", "data-testid": "sign-in" }, "Sign in");
  const form = el("form", { class: "card sign-in" },
    el("h1", {}, el("img", { src: "/console/icon.svg", alt: "", width: 32, height: 32 }), " Hark"),
    el("p", { class: "muted" }, "Upload recordings, follow their transcription, read, correct and export transcripts."),
    el("label", { for: "api-key" }, "API key"),
    input,
    el("p", { id: "sign-in-help", class: "hint" },
      "Create one with ", el("code", {}, "hark keys create"),
      ". It is kept in this tab only, until you sign out."),
    error, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    button.disabled = true;
    const key = input.value.trim();
    try {
      await request("/models", { key });
      session.key = key;
      location.hash = "#/jobs";
      route();
    } catch (e) {
      error.textContent = e.status === 401
        ? "That API key was not accepted. Check it and try again."
        : e.message;
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.replaceChildren(el("div", { class: "centered" }, form));
  input.focus();
}

// -- upload -------------------------------------------------------------------------------

let modelsPromise;
function models() {
  modelsPromise ??= request("/models").then((body) =>
    body.models.filter((m) => m.transcription_mode === "async"));
  return modelsPromise;
}

function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2)}`;
  control.id = id;
  const wrap = control.type === "checkbox"
    ? el("div", { class: "field check" }, control, el("label", { for: id }, label))
    : el("div", { class: "field" }, el("label", { for: id }, label), control);
  if (hint) wrap.append(el("p", { class: "hint" }, hint));
  return wrap;
}

function uploadPanel(onQueued) {
  const fileInput = el("input", {
    type: "file", multiple: true, accept: "audio/*,video/*,.ogg,.opus,.flac,.m4a,.wav,.mp3,.webm",
    id: "upload-input", "data-testid": "upload-input", class: "visually-hidden",
  });
  const model = el("select", { id: "opt-model" });
  const hints = el("input", { id: "opt-hints", placeholder: "e.g. en, es", autocomplete: "off" });
  const diarize = el("input", { type: "checkbox", id: "opt-diarize", "data-testid": "upload-diarize" });
  const minSpk = el("input", { type: "number", min: 1, max: 64, id: "opt-min", inputmode: "numeric" });
  const maxSpk = el("input", { type: "number", min: 1, max: 64, id: "opt-max", inputmode: "numeric" });
  const channels = el("input", { type: "checkbox", id: "opt-channels" });
  const translation = el("select", { id: "opt-translation" }, el("option", { value: "" }, "No translation"));
  const terms = el("textarea", { id: "opt-terms", rows: 2, placeholder: "Names and terms, one per line" });
  const speakerBounds = el("div", { class: "bounds", hidden: true },
    field("Fewest", minSpk), field("Most", maxSpk));
  diarize.addEventListener("change", () => { speakerBounds.hidden = !diarize.checked; });

  models().then((list) => {
    for (const m of list) model.append(el("option", { value: m.id }, m.name || m.id));
    const m = list[0];
    if (!m) return;
    for (const t of m.translation_targets) {
      translation.append(el("option", { value: `one_way:${t.target_language}` },
        `Translate into ${t.target_language} (from ${t.source_languages.join(", ")})`));
    }
    for (const pair of m.two_way_translation_pairs) {
      const [a, b] = pair.split(":");
      translation.append(el("option", { value: `two_way:${a}:${b}` }, `Translate both ways ${a} ⇄ ${b}`));
    }
    translation.disabled = translation.options.length === 1;
  }).catch((e) => toast(e.message, true));

  const queue = el("ul", { class: "upload-queue", "aria-label": "Uploads" });
  const drop = el("label", { class: "drop", for: "upload-input" },
    el("strong", {}, "Drop audio files here"), el("span", {}, " or "),
    el("span", { class: "link" }, "choose files"),
    el("span", { class: "hint" }, "Several at once; each becomes a transcription with the options below."));

  function options() {
    const body = { model: model.value };
    const langs = hints.value.split(/[\s,]+/).filter(Boolean);
    if (langs.length) body.language_hints = langs;
    if (diarize.checked) {
      body.enable_speaker_diarization = true;
      if (minSpk.value) body.min_speakers = Number(minSpk.value);
      if (maxSpk.value) body.max_speakers = Number(maxSpk.value);
    }
    if (channels.checked) body.enable_separate_recognition_per_channel = true;
    const [type, a, b] = translation.value.split(":");
    if (type === "one_way") body.translation = { type, target_language: a };
    if (type === "two_way") body.translation = { type, language_a: a, language_b: b };
    const termList = terms.value.split("\n").map((t) => t.trim()).filter(Boolean);
    if (termList.length) body.context = { terms: termList };
    return body;
  }

  async function send(files) {
    const body = options();
    await Promise.all([...files].map(async (file) => {
      const bar = el("progress", { max: 1, value: 0, "aria-label": `Upload of ${file.name}` });
      const state = el("span", { class: "state" }, "uploading");
      const item = el("li", {}, el("span", { class: "name" }, file.name), bar, state);
      queue.append(item);
      try {
        const stored = await uploadFile(file, (p) => { bar.value = p; state.textContent = `${Math.round(p * 100)}%`; });
        bar.value = 1;
        state.textContent = "starting";
        await request("/transcriptions", { method: "POST", body: { ...body, file_id: stored.id } });
        state.textContent = "queued";
        onQueued();
        setTimeout(() => item.remove(), 5000); // the job's row below takes over
      } catch (e) {
        state.textContent = "failed";
        state.classList.add("error");
        toast(`${file.name}: ${e.message}`, true);
      }
    }));
  }

  fileInput.addEventListener("change", () => { send(fileInput.files); fileInput.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) send(e.dataTransfer.files);
  });

  return el("section", { class: "card upload", "aria-labelledby": "upload-title" },
    el("h2", { id: "upload-title" }, "New transcription"),
    fileInput, drop,
    el("details", { class: "options" },
      el("summary", {}, "Options"),
      el("div", { class: "grid" },
        field("Model", model),
        field("Language hints", hints, "Language codes, comma separated"),
        field("Translation", translation, "Only the pairs this server has models for"),
        el("fieldset", { class: "speakers" },
          el("legend", {}, "Speakers and channels"),
          field("Tell speakers apart", diarize),
          speakerBounds,
          field("Transcribe each channel separately", channels)),
        el("div", { class: "wide" }, field("Context terms", terms, "Help the model spell names and jargon")))),
    queue);
}

// -- jobs -----------------------------------------------------------------------------------

const PAGE = 20;
const seen = new Map(); // job id -> first {t, progress} seen while processing (client-side ETA)

function eta(job) {
  if (job.status === "queued") {
    return job.queue_position != null ? `#${job.queue_position} in queue` : "waiting";
  }
  if (job.status !== "processing") return "";
  if (job.eta_seconds != null) return `about ${duration(job.eta_seconds * 1000)} left`;
  const now = Date.now();
  const first = seen.get(job.id);
  if (!first) { seen.set(job.id, { t: now, p: job.progress }); return "estimating…"; }
  const rate = (job.progress - first.p) / (now - first.t);
  if (rate <= 0) return "estimating…";
  return `about ${duration((1 - job.progress) / rate)} left`;
}

function jobRow(job, actions) {
  const open = job.status === "completed";
  const name = open
    ? el("a", { href: `#/t/${job.id}`, class: "name" }, job.filename)
    : el("span", { class: "name" }, job.filename);
  const progress = job.status === "processing" || job.status === "queued"
    ? el("progress", { max: 1, value: job.progress || 0, "aria-label": `Progress of ${job.filename}` })
    : null;
  const buttons = el("div", { class: "actions" });
  if (job.status === "queued" || job.status === "processing") {
    buttons.append(el("button", {
      type: "button", class: "quiet", "data-testid": "cancel-job",
      "aria-label": `Cancel ${job.filename}`, onclick: () => actions.cancel(job),
    }, "Cancel"));
  }
  if (job.status !== "processing") {
    buttons.append(el("button", {
      type: "button", class: "quiet danger", "aria-label": `Delete ${job.filename}`,
      onclick: () => actions.remove(job),
    }, "Delete"));
  }
  const error = job.status === "error"
    ? el("span", { class: "error-text", title: job.error_message || "" },
      job.error_type === "cancelled" ? "cancelled" : (job.error_message || job.error_type || ""))
    : null;
  return el("li", { class: `job is-${job.status}`, "data-testid": "job-row", "data-id": job.id },
    el("div", { class: "main" }, name,
      el("span", { class: "meta" },
        job.audio_duration_ms != null ? duration(job.audio_duration_ms) : "",
        " · ", new Date(job.created_at).toLocaleString())),
    el("div", { class: "status" },
      el("span", { class: `badge ${job.status}` }, job.status),
      progress, el("span", { class: "eta" }, eta(job)), error),
    buttons);
}

function jobsView() {
  const list = el("ul", { class: "jobs", "aria-live": "polite", "aria-label": "Transcriptions" });
  const filter = el("select", { id: "status-filter" },
    ...["", "queued", "processing", "completed", "error"].map((s) =>
      el("option", { value: s }, s ? s[0].toUpperCase() + s.slice(1) : "All statuses")));
  const more = el("button", { type: "button", class: "quiet", hidden: true }, "Show older");
  const empty = el("p", { class: "muted empty", hidden: true }, "No transcriptions yet. Upload a recording above.");
  let jobs = [];
  let cursor = null;
  let pages = 1;
  let timer = null;
  let delay = 1000;
  let alive = true;

  const actions = {
    async cancel(job) {
      try {
        await request(`/transcriptions/${job.id}/cancel`, { method: "POST" });
        toast(`Cancelling ${job.filename}…`);
      } catch (e) { toast(e.message, true); }
      refresh(true);
    },
    async remove(job) {
      if (!confirm(`Delete the transcription of ${job.filename} and its audio?`)) return;
      try {
        await request(`/transcriptions/${job.id}`, { method: "DELETE" });
        if (job.file_id) await request(`/files/${job.file_id}`, { method: "DELETE" }).catch(() => {});
        toast(`Deleted ${job.filename}`);
      } catch (e) { toast(e.message, true); }
      refresh(true);
    },
  };

  function render() {
    list.replaceChildren(...jobs.map((j) => jobRow(j, actions)));
    empty.hidden = jobs.length > 0;
    more.hidden = !cursor;
  }

  async function load(count) {
    const status = filter.value ? `&status=${filter.value}` : "";
    let items = [];
    let next = null;
    for (let i = 0; i < count; i++) {
      const body = await request(`/transcriptions?limit=${PAGE}${status}${next ? `&cursor=${encodeURIComponent(next)}` : ""}`);
      items = items.concat(body.transcriptions);
      next = body.next_page_cursor;
      if (!next) break;
    }
    return { items, next };
  }

  async function refresh(soon = false) {
    clearTimeout(timer);
    if (!alive) return;
    let changed = true;
    try {
      const { items, next } = await load(pages);
      changed = JSON.stringify(items) !== JSON.stringify(jobs);
      jobs = items;
      cursor = next;
      render();
    } catch (e) {
      if (e.status === 401) return signOut("Your API key is no longer accepted.");
      toast(e.message, true);
    }
    // Poll quickly while something moves, backing off (to 15 s) while nothing does.
    const busy = jobs.some((j) => j.status === "queued" || j.status === "processing");
    delay = soon || (busy && changed) ? 1000 : Math.min(delay * 1.6, busy ? 5000 : 15000);
    if (alive) timer = setTimeout(refresh, delay);
  }

  filter.addEventListener("change", () => { pages = 1; refresh(true); });
  more.addEventListener("click", () => { pages += 1; refresh(true); });
  main.replaceChildren(
    uploadPanel(() => refresh(true)),
    el("section", { class: "card", "aria-labelledby": "jobs-title" },
      el("div", { class: "section-head" },
        el("h2", { id: "jobs-title" }, "Transcriptions"),
        el("label", { for: "status-filter", class: "visually-hidden" }, "Filter by status"),
        filter),
      list, empty, more));
  refresh(true);
  return () => { alive = false; clearTimeout(timer); };
}

// -- search -------------------------------------------------------------------------------

function searchView(query) {
  const input = el("input", {
    type: "search", id: "search", "data-testid": "search-input", value: query || "",
    placeholder: "Words someone said", autocomplete: "off",
  });
  const results = el("ol", { class: "hits", "aria-live": "polite" });
  const note = el("p", { class: "muted" });
  let pending = 0;

  async function run() {
    const q = input.value.trim();
    history.replaceState(null, "", q ? `#/search?q=${encodeURIComponent(q)}` : "#/search");
    if (!/\w/.test(q)) { results.replaceChildren(); note.textContent = ""; return; }
    const mine = ++pending;
    try {
      const body = await request(`/search?q=${encodeURIComponent(q)}&limit=50`);
      if (mine !== pending) return;
      note.textContent = body.hits.length ? "" : "No transcript contains these words.";
      results.replaceChildren(...body.hits.map((hit) => {
        const [a, b] = hit.highlight;
        const at = hit.start_ms ?? 0;
        return el("li", { "data-testid": "search-hit" },
          el("a", { href: `#/t/${hit.transcription_id}?at=${at}&w=${hit.token_index}` },
            el("span", { class: "name" }, hit.filename),
            el("span", { class: "time" }, clock(at)),
            el("span", { class: "snippet" },
              hit.snippet.slice(0, a), el("mark", {}, hit.snippet.slice(a, b)), hit.snippet.slice(b))));
      }));
    } catch (e) {
      if (mine === pending) note.textContent = e.message;
    }
  }

  let debounce;
  input.addEventListener("input", () => { clearTimeout(debounce); debounce = setTimeout(run, 250); });
  const form = el("form", { role: "search", class: "search-form" },
    el("label", { for: "search" }, "Search every transcript"), input);
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  main.replaceChildren(el("section", { class: "card" }, el("h2", {}, "Search"), form, note, results));
  input.focus();
  if (query) run();
}

// -- routing --------------------------------------------------------------------------------

function signOut(message) {
  session.key = null;
  modelsPromise = undefined;
  location.hash = "#/";
  route();
  if (message) toast(message, true);
}

function route() {
  leaveView();
  leaveView = () => {};
  if (!session.key) return signInView();
  header.hidden = false;
  const [path, query] = location.hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const [, view, id] = path.split("/");
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === (view === "t" ? "jobs" : view || "jobs")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (view === "t" && id) {
    leaveView = transcriptView(main, id, params, { request, fetchBlob, apiUrl, signOut }) || leaveView;
  } else if (view === "search") {
    searchView(params.get("q"));
  } else if (view === "live") {
    leaveView = liveView(main, { request }) || leaveView;
  } else {
    leaveView = jobsView();
  }
}

document.getElementById("sign-out").addEventListener("click", () => signOut());
// The transcript's player sticks just below the header, however tall it wraps.
new ResizeObserver(() => {
  document.documentElement.style.setProperty("--header-height", `${header.offsetHeight}px`);
}).observe(header);
window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (e) => {
  if (e.reason instanceof ApiError) { e.preventDefault(); toast(e.reason.message, true); }
});
route();
