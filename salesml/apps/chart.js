// A plotly chart drawn from the model's `figure_json` with Plotly.react.
//
// plotly.js (about 5 MB) is not part of this module: anywidget must initialise a
// model within 2 s, which a 5 MB module misses on a busy page ("Failed to initialize
// model"). The first chart on a page asks its kernel for plotly.js by a custom
// message once the view exists; every chart of the page then shares that copy.
//
// anywidget drops every kernel message to a model that missed its 2 s start on a busy
// page ("Failed to initialize model"; its `ready` stays rejected), even though the view
// renders. Each view pings its kernel; a view that hears no pong within STALL_MS says
// "stalled" (sending still works) and the kernel puts a fresh chart in its place.

const TIMEOUT_MS = 120000;
const STALL_MS = 15000;
const MISSED_START = "[anywidget] Failed to initialize model";

if (!globalThis.__salesmlStartWatch) {
  // the missed start is handled (the chart is replaced), so it is a warning, not an error
  globalThis.__salesmlStartWatch = true;
  globalThis.addEventListener?.("unhandledrejection", (e) => {
    const reason = e.reason && e.reason.message ? e.reason.message : "";
    if (!reason.startsWith(MISSED_START)) return;
    e.preventDefault();
    console.warn(`salesml: ${reason} (a chart that hears nothing is replaced)`);
  });
}

function loadPlotly(model) {
  if (globalThis.__salesmlPlotly) return globalThis.__salesmlPlotly;
  let stop;
  const loading = new Promise((resolve, reject) => {
    const timer = setTimeout(() => stop(), TIMEOUT_MS);
    stop = () => {
      clearTimeout(timer);
      model.off("msg:custom", onMessage);
      reject(new Error(model.get("missing_text") || "plotly.js did not arrive from the kernel"));
    };
    function onMessage(msg, buffers) {
      if (!msg || msg.kind !== "plotly.js" || !buffers || buffers.length !== 1) return;
      clearTimeout(timer);
      model.off("msg:custom", onMessage);
      try {
        const source = new TextDecoder().decode(buffers[0]);
        const mod = { exports: {} };
        new Function("module", "exports", "define", source)(mod, mod.exports, undefined);
        resolve(mod.exports);
      } catch (e) {
        reject(e);
      }
    }
    model.on("msg:custom", onMessage);
    model.send({ kind: "plotly.js?" });
  });
  globalThis.__salesmlPlotly = loading;
  // a model that hears nothing gives up its request, so the chart replacing it asks
  globalThis.__salesmlPlotlyAsker = { model, stop };
  // a failed load is tried again by the next chart, not remembered
  loading.catch(() => {
    if (globalThis.__salesmlPlotly === loading) globalThis.__salesmlPlotly = undefined;
  });
  return loading;
}

function watchHearing(model, isClosed) {
  let heard = false;
  const onPong = (msg) => {
    if (!msg || msg.kind !== "pong") return;
    heard = true;
    model.off("msg:custom", onPong);
  };
  model.on("msg:custom", onPong);
  model.send({ kind: "ping" });
  const timer = setTimeout(() => {
    model.off("msg:custom", onPong);
    if (heard || isClosed()) return;
    const asker = globalThis.__salesmlPlotlyAsker;
    if (asker && asker.model === model) asker.stop();
    model.send({ kind: "stalled" });
  }, STALL_MS);
  return () => {
    clearTimeout(timer);
    model.off("msg:custom", onPong);
  };
}

function render({ model, el }) {
  const div = document.createElement("div");
  div.className = "salesml-plot";
  el.appendChild(div);
  let closed = false;
  let queue = Promise.resolve();
  // each draw reads the model's latest figure, in order, so no update is lost
  const draw = () => {
    queue = queue
      .then(() => loadPlotly(model))
      .then((Plotly) => {
        if (closed) return;
        const fig = JSON.parse(model.get("figure_json") || "{}");
        return Plotly.react(div, fig.data || [], fig.layout || {}, {
          displaylogo: false,
          responsive: true,
        });
      })
      .catch((e) => {
        const reason = e && e.message ? e.message : String(e);
        div.textContent = (model.get("failed_text") || "chart: {reason}").replace("{reason}", reason);
      });
  };
  const unwatch = watchHearing(model, () => closed);
  draw();
  model.on("change:figure_json", draw);
  // a chart first drawn in a hidden tab gets its size when the tab is shown
  let width = el.offsetWidth;
  const resized = new ResizeObserver(() => {
    const now = el.offsetWidth;
    if (now === width) return;
    width = now;
    if (now > 0 && div.classList.contains("js-plotly-plot")) {
      globalThis.__salesmlPlotly?.then((Plotly) => Plotly.Plots.resize(div)).catch(() => {});
    }
  });
  resized.observe(el);
  return () => {
    closed = true;
    unwatch();
    resized.disconnect();
    model.off("change:figure_json", draw);
    globalThis.__salesmlPlotly?.then((Plotly) => Plotly.purge(div)).catch(() => {});
  };
}

export default { render };
