// A plotly chart drawn from the model's `figure_json` with Plotly.react.
//
// plotly.js (about 5 MB) is not part of this module: anywidget must initialise a
// model within 2 s, which a 5 MB module misses on a busy page ("Failed to initialize
// model"). The first chart on a page asks its kernel for plotly.js by a custom
// message once the view exists; every chart of the page then shares that copy.

const TIMEOUT_MS = 120000;

function loadPlotly(model) {
  if (globalThis.__salesmlPlotly) return globalThis.__salesmlPlotly;
  const loading = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      model.off("msg:custom", onMessage);
      reject(new Error(model.get("missing_text") || "plotly.js did not arrive from the kernel"));
    }, TIMEOUT_MS);
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
  // a failed load is tried again by the next chart, not remembered
  loading.catch(() => {
    if (globalThis.__salesmlPlotly === loading) globalThis.__salesmlPlotly = undefined;
  });
  return loading;
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
    resized.disconnect();
    model.off("change:figure_json", draw);
    globalThis.__salesmlPlotly?.then((Plotly) => Plotly.purge(div)).catch(() => {});
  };
}

export default { render };
