// imagepipe's web page: pick or drop images, upload each as one job (POST image), follow its status live on
// GET image/{id}/events (Server-Sent Events read with fetch(), which, unlike EventSource, can send the API key),
// then fetch the original's and every output's bytes and show them side by side with their dimensions and
// sizes, ready to download. Plain JavaScript, no build step; every URL is relative to the page.
"use strict";

(() => {
  /** Uploads sent at once (each also holds one of the browser's six HTTP/1.1 connections to the gateway). */
  const UPLOADS_AT_ONCE = 2;
  /** Live status streams open at once; jobs beyond wait for a free one (see docs/api.md, "The web page"). */
  const STREAMS_AT_ONCE = 3;
  /** Times a status stream is reopened when it ends before the job is final (a restart, a network blip). */
  const STREAM_RETRIES = 8;
  /** Times an upload refused for load (503 overloaded or queue_full) is sent again after its Retry-After. */
  const UPLOAD_RETRIES = 5;
  /** How often the page asks the gateway about its load (readyz) while the load notice shows. */
  const LOAD_POLL_MS = 5000;
  const KEY_STORAGE = "imagepipe.apiKey";
  const OPTIONS_STORAGE = "imagepipe.options";
  const FINAL = new Set(["done", "failed"]);

  const $ = (selector, root = document) => root.querySelector(selector);
  const maxUploadBytes = Number($('meta[name="imagepipe-max-upload-bytes"]').content) || Infinity;

  // ----- Small helpers -------------------------------------------------------------------------------------

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child !== undefined && child !== null && child !== false) node.append(child);
    }
    return node;
  }

  function formatBytes(bytes) {
    if (!Number.isFinite(bytes)) return "?";
    if (bytes < 1024) return `${bytes} B`;
    const units = ["KB", "MB", "GB"];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
  }

  /** `bytes` against `limit`, exact when rounding would show the same figure for both. */
  function formatOverLimit(bytes, limit) {
    const [size, max] = [formatBytes(bytes), formatBytes(limit)];
    if (size !== max) return [size, max];
    return [`${bytes.toLocaleString("en")} bytes`, `${limit.toLocaleString("en")} bytes`];
  }

  function formatSeconds(ms) {
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** A counting semaphore: `run(task)` waits for one of `size` slots. */
  function limiter(size) {
    let free = size;
    const waiting = [];
    return async function run(task) {
      if (free > 0) free -= 1;
      else await new Promise((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else free += 1;
      }
    };
  }
  const uploadSlot = limiter(UPLOADS_AT_ONCE);
  const streamSlot = limiter(STREAMS_AT_ONCE);

  function authHeaders() {
    const key = $("#api-key").value.trim();
    return key ? { Authorization: `Bearer ${key}` } : {};
  }

  /** The API's `{"code", "message"}` error body as words, whatever came back. */
  async function errorOf(response) {
    let code = `http_${response.status}`;
    let message = response.statusText || "the gateway refused the request";
    try {
      const body = await response.json();
      if (body && body.message) message = body.message;
      if (body && body.code) code = body.code;
    } catch {
      // Not JSON (a proxy's page): keep the status line.
    }
    return { code, message, status: response.status };
  }

  // ----- Options -------------------------------------------------------------------------------------------

  const form = $("#options");

  function optionPairs() {
    const pairs = [];
    for (const name of ["width", "height", "fit", "format", "quality"]) {
      const value = form.elements[name].value.trim();
      if (value) pairs.push([name, value]);
    }
    if (form.elements.fit.value === "cover") pairs.push(["gravity", form.elements.gravity.value]);
    const variants = [...form.querySelectorAll('input[name="preset"]:checked')].map((box) => box.value);
    const more = form.elements.variants.value.trim();
    if (more) variants.push(...more.split(",").map((part) => part.trim()).filter(Boolean));
    if (variants.length) pairs.push(["variants", variants.join(",")]);
    return pairs;
  }

  function saveOptions() {
    const saved = {};
    for (const element of form.elements) {
      if (!element.name) continue;
      if (element.type === "checkbox") saved[`${element.name}:${element.value}`] = element.checked;
      else saved[element.name] = element.value;
    }
    try {
      localStorage.setItem(OPTIONS_STORAGE, JSON.stringify(saved));
    } catch {
      // Storage may be disabled; the options still work for this visit.
    }
  }

  function restoreOptions() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(OPTIONS_STORAGE) || "{}") || {};
    } catch {
      saved = {};
    }
    for (const element of form.elements) {
      if (!element.name) continue;
      if (element.type === "checkbox") {
        const key = `${element.name}:${element.value}`;
        if (key in saved) element.checked = Boolean(saved[key]);
      } else if (element.name in saved) {
        element.value = saved[element.name];
      }
    }
    syncGravity();
  }

  function syncGravity() {
    form.elements.gravity.disabled = form.elements.fit.value !== "cover";
  }

  // ----- One upload ----------------------------------------------------------------------------------------

  /** One file's card: its upload, its job's live status, then the original and the outputs. */
  class Upload {
    constructor(file, pairs) {
      this.file = file;
      this.pairs = pairs;
      this.jobId = null;
      this.view = null;
      this.startedAt = performance.now();
      this.originalUrl = URL.createObjectURL(file);
      this.objectUrls = [this.originalUrl];
      this.build();
    }

    build() {
      this.badge = el("span", { class: "badge" });
      this.detail = el("span", { class: "detail" });
      this.progress = el("progress", { max: 1, value: 0 });
      this.errorBox = el("p", { class: "error", role: "alert", hidden: true });
      this.figures = el("div", { class: "figures" });
      this.timeline = el("ol", { class: "timeline", hidden: true });
      const options = this.pairs.map(([name, value]) => `${name}=${value}`).join(" · ") || "no options";
      this.card = el(
        "article",
        { class: "card" },
        el(
          "header",
          {},
          el("div", { class: "title" }, el("h3", { title: this.file.name }, this.file.name), el("span", { class: "meta" }, `${formatBytes(this.file.size)} · ${options}`)),
          el("div", { class: "state" }, this.badge, this.detail),
        ),
        this.progress,
        this.errorBox,
        this.figures,
        this.timeline,
      );
      this.figures.append(this.originalFigure());
      this.setState("waiting", "waiting to upload");
    }

    setState(state, detail = "") {
      this.state = state;
      this.card.dataset.state = state;
      this.badge.textContent = state;
      this.badge.className = `badge ${state}`;
      this.detail.textContent = detail;
      this.progress.hidden = !["waiting", "uploading", "queued", "processing"].includes(state);
    }

    fail(state, headline, error) {
      this.setState(state, headline);
      this.errorBox.hidden = false;
      this.errorBox.replaceChildren(el("strong", {}, `${headline}: `), error.message, " ", el("code", {}, error.code));
      this.card.dataset.errorCode = error.code;
      // Refused before it became a job: the card is only its name and the reason.
      if (!this.jobId) this.figures.hidden = true;
    }

    get finished() {
      return ["done", "failed", "rejected", "error"].includes(this.state);
    }

    /** The uploaded file, shown from the browser's own copy (it is byte for byte what the gateway keeps). */
    originalFigure() {
      const image = el("img", { alt: `original of ${this.file.name}`, class: "original", src: this.originalUrl });
      const size = el("span", { class: "dims" }, "…");
      image.addEventListener("load", () => {
        size.textContent = `${image.naturalWidth} × ${image.naturalHeight}`;
      });
      image.addEventListener("error", () => {
        image.replaceWith(el("div", { class: "no-preview" }, "no preview in this browser"));
        size.textContent = "size unknown";
      });
      return el(
        "figure",
        { class: "figure original" },
        el("div", { class: "frame" }, image),
        el(
          "figcaption",
          {},
          el("span", { class: "name" }, "original"),
          size,
          el("span", { class: "bytes" }, formatBytes(this.file.size)),
          el("a", { href: this.originalUrl, download: this.file.name }, "download"),
        ),
      );
    }

    async start() {
      if (this.file.size > maxUploadBytes) {
        const [size, limit] = formatOverLimit(this.file.size, maxUploadBytes);
        this.fail("rejected", "Too large", {
          code: "payload_too_large",
          message: `the file is ${size}, more than this gateway's limit of ${limit}`,
        });
        return;
      }
      if (this.file.size === 0) {
        this.fail("rejected", "Empty file", { code: "empty_image", message: "the file holds no bytes" });
        return;
      }
      await uploadSlot(() => this.upload());
      if (this.jobId) await streamSlot(() => this.follow());
    }

    /** POST image with XMLHttpRequest, the one browser API that reports upload progress. A refusal for load
     * is sent again after the gateway's Retry-After, up to UPLOAD_RETRIES times. */
    upload() {
      this.busyRetries ??= 0;
      return new Promise((resolve) => {
        const query = new URLSearchParams([...this.pairs, ["filename", this.file.name]]);
        const request = new XMLHttpRequest();
        request.open("POST", `image?${query}`);
        for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
        // A raw body: the gateway sniffs the format from the bytes, so a file that is no image is refused in
        // words (415 unsupported_image_format), whatever its name or type says.
        request.setRequestHeader("Content-Type", this.file.type.startsWith("image/") ? this.file.type : "application/octet-stream");
        request.responseType = "text";
        this.setState("uploading", "0%");
        request.upload.addEventListener("progress", (event) => {
          if (!event.lengthComputable) return;
          this.progress.value = event.loaded / event.total / 2;
          this.detail.textContent = `${Math.round((event.loaded / event.total) * 100)}%`;
        });
        request.addEventListener("load", async () => {
          const response = new Response(request.responseText, { status: request.status, statusText: request.statusText });
          if (request.status === 202) {
            const view = await response.json();
            this.jobId = view.id;
            this.card.dataset.jobId = view.id;
            this.show(view);
          } else {
            const error = await errorOf(response);
            const retry = request.getResponseHeader("Retry-After");
            const busy = request.status === 503 && ["overloaded", "queue_full"].includes(error.code);
            if (busy && retry && this.busyRetries < UPLOAD_RETRIES) {
              // The pipeline is behind: wait as the gateway asks, then send the file again.
              this.busyRetries += 1;
              refreshLoad();
              this.setState("waiting", `the pipeline is busy; sending again in ${retry} s`);
              setTimeout(() => this.upload().then(resolve), Number(retry) * 1000);
              return;
            }
            if (retry) error.message += ` (the gateway suggests retrying in ${retry} s)`;
            this.fail("rejected", "Not accepted", error);
          }
          resolve();
        });
        const broken = (what) => () => {
          this.fail("error", "Upload failed", { code: "network", message: `${what}; is the gateway running?` });
          resolve();
        };
        request.addEventListener("error", broken("the connection to the gateway failed"));
        request.addEventListener("timeout", broken("the upload timed out"));
        request.send(this.file);
      });
    }

    /** Reads GET image/{id}/events until the job is final, reopening the stream if it ends early. */
    async follow() {
      for (let attempt = 0; attempt <= STREAM_RETRIES && !this.finished; attempt += 1) {
        if (attempt > 0) await sleep(Math.min(500 * 2 ** attempt, 8000));
        try {
          const response = await fetch(`image/${encodeURIComponent(this.jobId)}/events`, {
            headers: { Accept: "text/event-stream", ...authHeaders() },
            cache: "no-store",
          });
          if (!response.ok) {
            const error = await errorOf(response);
            if (response.status >= 500) continue;
            this.fail("error", "Lost track of the job", error);
            return;
          }
          for await (const event of readEvents(response.body)) {
            if (event.type === "status") this.show(JSON.parse(event.data));
            else if (event.type === "error") {
              this.fail("error", "Lost track of the job", JSON.parse(event.data));
              return;
            }
          }
        } catch (error) {
          // The connection dropped: try again below.
          this.detail.textContent = `reconnecting (${error.message || error})`;
        }
      }
      if (!this.finished) {
        this.fail("error", "Lost track of the job", { code: "stream_ended", message: `the live status stopped before the job finished; see image/${this.jobId}/status` });
      }
    }

    /** Shows a status document. */
    show(view) {
      this.view = view;
      if (Array.isArray(view.timeline)) this.showTimeline(view.timeline);
      switch (view.status) {
        case "queued":
          this.progress.value = 0.5;
          this.setState("queued", "waiting for a transformer");
          break;
        case "processing":
          this.progress.value = 0.75;
          this.setState("processing", "resizing and encoding");
          break;
        case "done":
          this.setState("done", `in ${formatSeconds(performance.now() - this.startedAt)}`);
          this.showOutputs(view);
          break;
        case "failed":
          this.fail("failed", "The job failed", view.error || { code: "failed", message: "no reason given" });
          break;
        default:
          this.setState(view.status, "");
      }
    }

    /** The outputs, fetched with the API key and shown from their bytes. */
    async showOutputs(view) {
      if (this.outputsShown) return;
      this.outputsShown = true;
      const outputs = view.outputs && view.outputs.length ? view.outputs : view.result ? [{ name: "default", ...view.result }] : [];
      const figures = outputs.map((output) => this.outputFigure(output));
      this.figures.append(...figures.map(([figure]) => figure));
      await Promise.all(figures.map(([, loaded]) => loaded));
      this.card.dataset.ready = "true";
    }

    outputFigure(output) {
      const frame = el("div", { class: "frame" }, el("div", { class: "no-preview" }, "loading…"));
      const link = el("a", { class: "download", hidden: true }, "download");
      const extension = output.format === "jpeg" ? "jpg" : output.format;
      const stem = this.file.name.replace(/\.[^.]+$/, "");
      const figure = el(
        "figure",
        { class: "figure output", dataset: { name: output.name } },
        frame,
        el(
          "figcaption",
          {},
          el("span", { class: "name" }, output.name),
          el("span", { class: "dims" }, `${output.width} × ${output.height}`),
          el("span", { class: "bytes" }, `${formatBytes(output.bytes)} ${output.format.toUpperCase()}`),
          el("span", { class: "ratio" }, this.file.size ? `${Math.round((output.bytes / this.file.size) * 100)}% of the original` : ""),
          link,
        ),
      );
      const loaded = this.fetchOutput(output.name).then(
        (blob) => {
          const url = URL.createObjectURL(blob);
          this.objectUrls.push(url);
          const image = el("img", { class: "output", alt: `${output.name} of ${this.file.name}`, src: url });
          const ready = new Promise((resolve) => {
            image.addEventListener("load", resolve, { once: true });
            image.addEventListener("error", resolve, { once: true });
          });
          frame.replaceChildren(image);
          link.href = url;
          link.download = `${stem}.${output.name}.${extension}`;
          link.hidden = false;
          return ready;
        },
        (error) => {
          frame.replaceChildren(el("div", { class: "no-preview error" }, `could not load: ${error.message}`));
        },
      );
      return [figure, loaded];
    }

    /** GET image/{id}/{name}, waiting while the gateway answers 202 (another replica's job not yet stored). */
    async fetchOutput(name) {
      for (let attempt = 0; attempt < 20; attempt += 1) {
        const response = await fetch(`image/${encodeURIComponent(this.jobId)}/${encodeURIComponent(name)}`, { headers: authHeaders() });
        if (response.status === 200) return response.blob();
        if (response.status !== 202) throw new Error((await errorOf(response)).message);
        await sleep(1000 * (Number(response.headers.get("Retry-After")) || 1));
      }
      throw new Error("the output was not ready in time");
    }

    /** The job's timeline (`[{event, at, by, …}]`): the first step's clock time, then each step's delay. */
    showTimeline(entries) {
      const times = entries.map((entry) => new Date(entry.at).getTime());
      const clock = { hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3, hour12: false };
      this.timeline.replaceChildren(
        ...entries.map((entry, index) => {
          const known = Number.isFinite(times[index]) && Number.isFinite(times[0]);
          let when = "";
          if (known) when = index === 0 ? new Date(times[0]).toLocaleTimeString([], clock) : `+${formatSeconds(times[index] - times[0])}`;
          return el(
            "li",
            {},
            el("time", { datetime: entry.at || false }, when),
            el("span", { class: "what" }, String(entry.event ?? "?")),
            entry.by ? el("span", { class: "who", title: "the replica that did it" }, `by ${entry.by}`) : null,
          );
        }),
      );
      this.timeline.hidden = entries.length === 0;
    }

    remove() {
      this.card.remove();
      for (const url of this.objectUrls) URL.revokeObjectURL(url);
    }
  }

  /**
   * Parses a `text/event-stream` body into `{type, data}` events: blank-line separated blocks of `field: value`
   * lines, `data` lines joined by newlines, comment lines (`:`, the keep-alives) skipped.
   */
  async function* readEvents(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (!line || line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") type = text;
          else if (field === "data") data.push(text);
        }
        if (data.length) yield { type, data: data.join("\n") };
      }
    }
  }

  // ----- The page ------------------------------------------------------------------------------------------

  const uploads = [];
  const list = $("#uploads");

  function addFiles(files) {
    const pairs = optionPairs();
    for (const file of files) {
      const upload = new Upload(file, pairs);
      uploads.push(upload);
      list.append(upload.card);
      upload.start();
    }
    $("#uploads-head").hidden = uploads.length === 0;
  }

  function init() {
    $("#limit").textContent = Number.isFinite(maxUploadBytes) ? formatBytes(maxUploadBytes) : "the gateway's limit";
    const key = $("#api-key");
    try {
      key.value = localStorage.getItem(KEY_STORAGE) || "";
    } catch {
      key.value = "";
    }
    if (key.value) $("details.key").open = true;
    key.addEventListener("change", () => {
      try {
        if (key.value.trim()) localStorage.setItem(KEY_STORAGE, key.value.trim());
        else localStorage.removeItem(KEY_STORAGE);
      } catch {
        // Storage disabled: the key works for this visit.
      }
    });

    restoreOptions();
    form.addEventListener("change", () => {
      syncGravity();
      saveOptions();
    });
    form.addEventListener("submit", (event) => event.preventDefault());

    const input = $("#files");
    input.addEventListener("change", () => {
      addFiles([...input.files]);
      input.value = "";
    });
    const drop = $("#drop");
    drop.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        input.click();
      }
    });
    for (const type of ["dragenter", "dragover"]) {
      drop.addEventListener(type, (event) => {
        event.preventDefault();
        drop.classList.add("over");
      });
    }
    for (const type of ["dragleave", "drop"]) {
      drop.addEventListener(type, () => drop.classList.remove("over"));
    }
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      addFiles([...event.dataTransfer.files]);
    });
    // A file dropped beside the zone would make the browser navigate away to it.
    window.addEventListener("dragover", (event) => event.preventDefault());
    window.addEventListener("drop", (event) => event.preventDefault());

    $("#clear").addEventListener("click", () => {
      for (let index = uploads.length - 1; index >= 0; index -= 1) {
        if (uploads[index].finished) {
          uploads[index].remove();
          uploads.splice(index, 1);
        }
      }
      $("#uploads-head").hidden = uploads.length === 0;
    });
  }

  // ----- The pipeline's load ---------------------------------------------------------------------------------

  let loadTimer = null;

  /** Asks the gateway about its load (readyz) and shows a notice while it is overloaded, asking again every
   * LOAD_POLL_MS until it is not. */
  async function refreshLoad() {
    clearTimeout(loadTimer);
    const notice = $("#load");
    let report = null;
    try {
      const response = await fetch("readyz", { cache: "no-store" });
      report = await response.json();
    } catch {
      return;
    }
    const load = report && report.load;
    const overloaded = report && report.status === "overloaded" && load;
    notice.hidden = !overloaded;
    if (!overloaded) return;
    const mib = (bytes) => (bytes / 1048576).toFixed(0);
    const full = load.limit_bytes !== undefined && load.queued_bytes >= load.limit_bytes;
    const until = full
      ? `the jobs waiting hold ${mib(load.queued_bytes)} MiB; the gateway takes new uploads again under ${mib(load.limit_bytes)} MiB`
      : `the gateway takes new uploads again once jobs wait less than ${load.limit_secs} s`;
    notice.textContent = `The pipeline is overloaded: ${load.queued} jobs are waiting for a transformer, the oldest for ${load.oldest_wait_secs} s (${until}). Your uploads wait and are sent again on their own.`;
    loadTimer = setTimeout(refreshLoad, LOAD_POLL_MS);
  }

  init();
  refreshLoad();
})();
