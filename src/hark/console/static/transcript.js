// The transcript view: the audio, the words by speaker turn, corrections, exports.
import { el, clock, duration, toast } from "./ui.js";

const LOW_CONFIDENCE = 0.6;
const SKIP_SECONDS = 5;
const EXPORTS = ["txt", "srt", "vtt", "json", "docx"];
const PARAGRAPH_WORDS = 80; // without speakers, a new paragraph after a sentence past this

const isTranslation = (t) => t.translation_status === "translation";
const endsSentence = (text) => /[.?!…。？！]["')\]”’»]*\s*$/.test(text);

/** Group tokens (keeping their indexes) into turns: a new one when the speaker changes, or,
 *  without speakers, after a sentence once a paragraph is long. Translations go with the
 *  turn they translate. */
function turnsOf(tokens) {
  const turns = [];
  tokens.forEach((token, index) => {
    let turn = turns[turns.length - 1];
    if (isTranslation(token)) {
      if (turn) turn.translation.push(token.text);
      return;
    }
    const speaker = token.speaker ?? null;
    const last = turn && turn.words[turn.words.length - 1];
    const fresh = !turn || turn.speaker !== speaker || (speaker === null && turn.words.length >= PARAGRAPH_WORDS
      && last && endsSentence(last.token.text) && turn.translation.length === 0);
    if (fresh || (turn.translation.length && !isTranslation(token))) {
      turn = { speaker, words: [], translation: [] };
      turns.push(turn);
    }
    turn.words.push({ token, index });
  });
  return turns;
}

export function transcriptView(main, id, params, { request, fetchBlob, apiUrl, signOut }) {
  let alive = true;
  let objectUrl = null;
  let frame = 0;
  const cleanups = [];
  main.replaceChildren(el("p", { class: "muted" }, "Loading transcript…"));

  (async () => {
    let job, transcript;
    try {
      job = await request(`/transcriptions/${id}`);
      if (job.status !== "completed") {
        main.replaceChildren(el("section", { class: "card" },
          el("a", { href: "#/jobs", class: "back" }, "← Transcriptions"),
          el("h1", {}, job.filename),
          el("p", {}, job.status === "error" ? `This transcription failed: ${job.error_message}` : `This transcription is ${job.status}.`)));
        return;
      }
      transcript = await request(`/transcriptions/${id}/transcript`);
    } catch (e) {
      if (e.status === 401) return signOut("Your API key is no longer accepted.");
      main.replaceChildren(el("section", { class: "card" },
        el("a", { href: "#/jobs", class: "back" }, "← Transcriptions"), el("p", { class: "error" }, e.message)));
      return;
    }
    if (!alive) return;
    render(job, transcript);
  })();

  function render(job, transcript) {
    let names = { ...(transcript.speaker_names || {}) };
    const tokens = transcript.tokens;
    const audio = el("audio", { controls: true, preload: "metadata", "data-testid": "audio-player" });
    cleanups.push(() => { audio.pause(); audio.removeAttribute("src"); audio.load(); });
    const audioNote = el("p", { class: "hint" });
    if (job.file_id) {
      fetchBlob(`/files/${job.file_id}/audio`).then((blob) => {
        if (!alive) return;
        objectUrl = URL.createObjectURL(blob);
        audio.src = objectUrl;
      }).catch((e) => { audioNote.textContent = `The audio cannot be played: ${e.message}`; });
    } else {
      audioNote.textContent = "This transcription was made from a URL; its audio is not stored.";
    }

    const stem = job.filename.replace(/\.[^.]+$/, "") || "transcript";
    const exports = el("div", { class: "exports", role: "group", "aria-label": "Export" },
      el("span", { class: "muted" }, "Export"),
      ...EXPORTS.map((format) => {
        const link = el("a", {
          href: apiUrl(`/transcriptions/${id}/export?format=${format}`),
          download: `${stem}.${format}`, class: "chip", "data-testid": `export-${format}`,
        }, format.toUpperCase());
        // A plain link cannot send the key: fetch with it, then save what came back.
        link.addEventListener("click", async (event) => {
          event.preventDefault();
          try {
            const blob = await fetchBlob(`/transcriptions/${id}/export?format=${format}`);
            const url = URL.createObjectURL(blob);
            const save = el("a", { href: url, download: `${stem}.${format}` });
            document.body.append(save);
            save.click();
            save.remove();
            setTimeout(() => URL.revokeObjectURL(url), 10000);
          } catch (e) { toast(e.message, true); }
        });
        return link;
      }));

    const speakerLabel = (speaker) => names[speaker] || `Speaker ${speaker}`;
    const body = el("div", { class: "transcript", lang: job.language_hints?.[0] || "" });
    const timeline = []; // [start_ms, end_ms, span] in order
    const speakerButtons = [];

    for (const turn of turnsOf(tokens)) {
      const first = turn.words.find((w) => w.token.start_ms != null);
      const head = el("div", { class: "turn-head" });
      if (turn.speaker !== null) {
        const button = el("button", {
          type: "button", class: `speaker s${Number(turn.speaker) % 6}`, "data-testid": "speaker-name",
          "data-speaker": turn.speaker, title: "Rename this speaker",
        }, speakerLabel(turn.speaker));
        button.addEventListener("click", () => renameSpeaker(button));
        speakerButtons.push(button);
        head.append(button);
      }
      const start = first ? first.token.start_ms : 0;
      head.append(el("button", {
        type: "button", class: "time", "aria-label": `Play from ${clock(start)}`,
        onclick: () => seek(start, true),
      }, clock(start)));
      const text = el("p", { class: "words" });
      for (const { token, index } of turn.words) {
        const word = token.text.trim();
        if (!word) continue;
        if (/^\s/.test(token.text) && text.childNodes.length) text.append(" ");
        const low = token.confidence != null && token.confidence < LOW_CONFIDENCE;
        const span = el("span", {
          class: low ? "w low" : "w", "data-testid": "transcript-word", "data-index": index,
          "data-start-ms": token.start_ms ?? "", title: low ? `Unsure (${Math.round(token.confidence * 100)}%) — double-click to correct` : null,
        }, word);
        if (token.start_ms != null) timeline.push([token.start_ms, token.end_ms ?? token.start_ms, span]);
        text.append(span);
      }
      const turnEl = el("div", { class: "turn" }, head, text);
      if (turn.translation.length) {
        turnEl.classList.add("translated");
        turnEl.append(el("p", { class: "translation", lang: "" }, turn.translation.join("").trim()));
      }
      body.append(turnEl);
    }

    // -- playing: highlight the word being spoken --
    let current = null;
    function highlight(span, scroll) {
      if (span === current) return;
      current?.classList.remove("now");
      current = span;
      if (!span) return;
      span.classList.add("now");
      if (scroll) {
        const r = span.getBoundingClientRect();
        if (r.top < 120 || r.bottom > innerHeight - 40) span.scrollIntoView({ block: "center", behavior: "smooth" });
      }
    }
    function wordAt(ms) {
      let lo = 0, hi = timeline.length - 1, found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (timeline[mid][0] <= ms) { found = mid; lo = mid + 1; } else hi = mid - 1;
      }
      return found >= 0 && ms <= timeline[found][1] + 400 ? timeline[found][2] : null;
    }
    function tick() {
      highlight(wordAt(audio.currentTime * 1000), !audio.paused);
      if (!audio.paused && alive) frame = requestAnimationFrame(tick);
    }
    audio.addEventListener("play", () => { cancelAnimationFrame(frame); frame = requestAnimationFrame(tick); });
    audio.addEventListener("seeked", tick);

    function seek(ms, play = false) {
      const apply = () => {
        audio.currentTime = ms / 1000;
        if (play) audio.play().catch(() => {});
      };
      if (audio.readyState >= 1) apply();
      else audio.addEventListener("loadedmetadata", apply, { once: true });
    }

    body.addEventListener("click", (event) => {
      const span = event.target.closest("[data-testid=transcript-word]");
      if (!span || span.querySelector("input") || span.dataset.startMs === "") return;
      seek(Number(span.dataset.startMs));
      highlight(span, false);
    });
    body.addEventListener("dblclick", (event) => {
      const span = event.target.closest("[data-testid=transcript-word]");
      if (span && !span.querySelector("input")) editWord(span);
    });

    // -- corrections --
    async function save(edit) {
      const updated = await request(`/transcriptions/${id}/transcript`, { method: "PATCH", body: edit });
      names = { ...(updated.speaker_names || {}) };
      edited.textContent = `· Corrected ${new Date(updated.edited_at).toLocaleString()}`;
      return updated;
    }

    function inlineInput(value, label, testid, onSave, onDone) {
      const input = el("input", { value, "aria-label": label, "data-testid": testid, class: "inline", size: Math.max(4, value.length + 2) });
      let finished = false;
      const finish = async (keep) => {
        if (finished) return;
        finished = true;
        if (keep && input.value.trim() !== value) {
          try { await onSave(input.value.trim()); } catch (e) { toast(e.message, true); }
        }
        onDone();
      };
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") { e.preventDefault(); finish(true); }
        if (e.key === "Escape") { e.preventDefault(); finish(false); }
      });
      input.addEventListener("blur", () => finish(false));
      return input;
    }

    function renameSpeaker(button) {
      const speaker = button.dataset.speaker;
      const input = inlineInput(names[speaker] || "", `Name of speaker ${speaker}`, "speaker-name-input",
        async (name) => {
          await save({ speaker_names: { [speaker]: name } });
          toast(name ? `Speaker ${speaker} is now ${name}` : `Speaker ${speaker} has no name`);
        },
        () => {
          input.replaceWith(button);
          for (const b of speakerButtons) b.textContent = speakerLabel(b.dataset.speaker);
          button.focus();
        });
      input.placeholder = `Speaker ${speaker}`;
      button.replaceWith(input);
      input.focus();
      input.select();
    }

    function editWord(span) {
      const index = Number(span.dataset.index);
      const old = span.textContent;
      const input = inlineInput(old, `Correct the word “${old}”`, "word-input",
        async (text) => {
          const updated = await save({ tokens: { [index]: text } });
          tokens[index] = updated.tokens[index];
          span.textContent = tokens[index].text.trim();
          span.classList.remove("low");
          span.classList.add("edited");
          if (!span.textContent) span.hidden = true;
        },
        () => { if (input.isConnected) input.replaceWith(span); else span.textContent ||= old; });
      span.replaceWith(input);
      input.focus();
      input.select();
    }

    // -- keyboard: space plays or pauses, arrows skip --
    function onKey(event) {
      if (event.target.closest("input, textarea, select, button, a, [contenteditable], audio")) return;
      if (event.key === " ") {
        event.preventDefault();
        if (audio.paused) audio.play().catch(() => {}); else audio.pause();
      } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        const step = (event.shiftKey ? 3 : 1) * SKIP_SECONDS * (event.key === "ArrowLeft" ? -1 : 1);
        audio.currentTime = Math.max(0, audio.currentTime + step);
      }
    }
    document.addEventListener("keydown", onKey);
    cleanups.push(() => document.removeEventListener("keydown", onKey));

    const edited = el("span", { class: "muted" },
      transcript.edited_at ? `· Corrected ${new Date(transcript.edited_at).toLocaleString()}` : "");
    const meta = [job.audio_duration_ms != null ? duration(job.audio_duration_ms) : null, job.model]
      .filter(Boolean).join(" · ");
    main.replaceChildren(
      el("section", { class: "card transcript-card" },
        el("a", { href: "#/jobs", class: "back" }, "← Transcriptions"),
        el("div", { class: "title-row" },
          el("div", {}, el("h1", {}, job.filename), el("p", { class: "meta" }, meta, " ", edited)),
          exports),
        el("div", { class: "player" }, audio, audioNote),
        el("p", { class: "hint" },
          "Click a word to play from there, double-click it to correct it; click a speaker to name them. ",
          el("kbd", {}, "Space"), " plays or pauses, ", el("kbd", {}, "←"), " ", el("kbd", {}, "→"), " skip 5 s."),
        tokens.some((t) => !isTranslation(t) && t.text.trim())
          ? body : el("p", { class: "muted" }, "No speech was found in this recording.")));

    // Arriving from a search hit: land on the word, ready to play from there.
    const at = params.get("at");
    const target = params.get("w") != null
      ? body.querySelector(`[data-index="${CSS.escape(params.get("w"))}"]`) : null;
    if (target) {
      target.classList.add("hit");
      highlight(target, false);
      target.scrollIntoView({ block: "center" });
    }
    if (at != null) seek(Number(at));
  }

  return () => {
    alive = false;
    cancelAnimationFrame(frame);
    cleanups.forEach((f) => f());
    if (objectUrl) URL.revokeObjectURL(objectUrl);
  };
}
