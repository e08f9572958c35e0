// kwiff_scrapy dashboard: live updates (server-sent events), the board's choices and the
// event page's charts (uPlot). Every piece of HTML it inserts was rendered, and escaped, by
// the server; everything else goes in as text.
"use strict";

(function () {
  const page = document.body.dataset.page;
  const live = document.getElementById("live");
  const banner = document.getElementById("banner");

  function setLive(state, text) {
    if (!live) return;
    live.className = "live " + state;
    live.textContent = text;
  }

  function showBanner(text, kind) {
    banner.textContent = text;
    banner.className = "banner " + kind;
    banner.hidden = false;
  }

  function flash(element) {
    element.classList.remove("flash");
    void element.offsetWidth; // restart the animation
    element.classList.add("flash");
  }

  function fromHTML(html) {
    // The server's own rendering of a row (escaped by its templates).
    const body = document.createElement("tbody");
    body.innerHTML = html;
    return body.firstElementChild;
  }

  // -- the board ---------------------------------------------------------------------
  function chooseMove(key) {
    document.body.dataset.move = key;
    document.querySelectorAll("button[data-move]").forEach((b) => {
      b.classList.toggle("active", b.dataset.move === key);
    });
    try { localStorage.setItem("kwiff-move", key); } catch (e) { /* private mode */ }
  }

  function boardSetup() {
    document.querySelectorAll("button[data-move]").forEach((b) => {
      b.addEventListener("click", () => chooseMove(b.dataset.move));
    });
    let saved = null;
    try { saved = localStorage.getItem("kwiff-move"); } catch (e) { /* private mode */ }
    if (saved && document.querySelector(`button[data-move="${CSS.escape(saved)}"]`)) chooseMove(saved);
    const form = document.getElementById("filters");
    ["competition", "in-play"].forEach((id) => {
      const field = document.getElementById(id);
      if (field) field.addEventListener("change", () => form.submit());
    });
  }

  function boardRows(rows) {
    rows.forEach((row) => {
      const old = document.getElementById("event-" + row.event_id);
      if (!old) return; // not on this page (filtered out, or new: on the next reload)
      const fresh = fromHTML(row.html);
      const before = {};
      old.querySelectorAll("td.price[data-key]").forEach((cell) => {
        before[cell.dataset.key] = cell.dataset.odds + "|" + cell.dataset.status;
      });
      old.replaceWith(fresh);
      fresh.querySelectorAll("td.price[data-key]").forEach((cell) => {
        if (before[cell.dataset.key] !== cell.dataset.odds + "|" + cell.dataset.status) flash(cell);
      });
    });
  }

  // -- movers and signals ------------------------------------------------------------
  function moversSetup() {
    document.querySelectorAll("button[data-window]").forEach((b) => {
      b.addEventListener("click", () => {
        document.body.dataset.window = b.dataset.window;
        document.querySelectorAll("button[data-window]").forEach((o) => {
          o.classList.toggle("active", o === b);
        });
      });
    });
  }

  let moversDue = false;
  let moversBusy = false;
  function refreshMovers() {
    if (moversBusy) { moversDue = true; return; }
    moversBusy = true;
    moversDue = false;
    fetch("/movers/tables", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.statusText))))
      .then((html) => {
        const holder = document.getElementById("mover-tables");
        const parsed = new DOMParser().parseFromString(html, "text/html");
        holder.replaceChildren(...parsed.body.children);
      })
      .catch(() => { /* the status line says when the history is away */ })
      .finally(() => {
        setTimeout(() => { moversBusy = false; if (moversDue) refreshMovers(); }, 5000);
      });
  }

  function signalRows(rows) {
    const body = document.getElementById("signals");
    if (!body) return;
    const none = document.getElementById("no-signals");
    if (none) none.hidden = true;
    rows.slice().reverse().forEach((row) => {
      if (body.querySelector(`tr[data-signal="${row.id}"]`)) return;
      const fresh = fromHTML(row.html);
      body.prepend(fresh);
      flash(fresh);
    });
  }

  // -- the event page's charts -------------------------------------------------------
  const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  let chartData = null;
  let scale = "odds";
  const charts = [];

  function utcText(seconds) {
    const d = new Date(seconds * 1000);
    return d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  // A time axis label in UTC, 24-hour (with seconds when ticks are under a minute apart),
  // with the date where the day changes.
  function timeTick(seconds, previous, step) {
    const text = new Date(seconds * 1000).toISOString();
    const day = text.slice(5, 10);
    const newDay = previous == null || new Date(previous * 1000).toISOString().slice(5, 10) !== day;
    return text.slice(11, step < 60 ? 19 : 16) + (newDay ? "\n" + day : "");
  }

  function valueText(value) {
    if (value == null) return "–";
    return scale === "probability" ? (value * 100).toFixed(1) + "%" : value.toFixed(2);
  }

  function values(line) {
    return scale === "probability" ? line.probability : line.odds;
  }

  // A market's lines on one time axis: each outcome's price held until its next one.
  function aligned(market) {
    const times = Array.from(new Set(market.series.flatMap((s) => s.times))).sort((a, b) => a - b);
    const columns = [times];
    const states = [];
    market.series.forEach((line) => {
      const own = values(line);
      const full = [];
      const open = [];
      let j = -1;
      times.forEach((t) => {
        while (j + 1 < line.times.length && line.times[j + 1] <= t) j += 1;
        full.push(j >= 0 ? own[j] : null);
        open.push(j >= 0 ? line.open[j] : true);
      });
      // Solid while open (and up to the next change), dashed while suspended.
      const solid = full.map((v, i) => (open[i] || (i > 0 && open[i - 1]) ? v : null));
      const dashed = full.map((v, i) => (!open[i] || (i > 0 && !open[i - 1]) ? v : null));
      columns.push(solid, dashed);
      states.push({ full, open });
    });
    return { columns, states };
  }

  function kickoffPlugin(kickoff) {
    return {
      hooks: {
        draw: [(u) => {
          if (kickoff == null) return;
          const x = u.valToPos(kickoff, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#666";
          ctx.setLineDash([6, 4]);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillStyle = "#444";
          ctx.font = `${11 * devicePixelRatio}px sans-serif`;
          ctx.fillText("kick-off", x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
          ctx.restore();
        }],
      },
    };
  }

  function drawCharts() {
    const holder = document.getElementById("charts");
    charts.forEach((c) => c.plot.destroy());
    charts.length = 0;
    holder.replaceChildren();
    chartData.markets.forEach((market, index) => {
      const box = document.createElement("section");
      box.className = "chart";
      box.dataset.market = String(index);
      const title = document.createElement("h3");
      title.textContent = market.market;
      box.append(title);
      holder.append(box);
      const { columns, states } = aligned(market);
      const series = [{
        label: "Time (UTC)",
        value: (u, v) => (v == null ? "–" : utcText(v)),
      }];
      market.series.forEach((line, i) => {
        const colour = COLOURS[i % COLOURS.length];
        const state = states[i];
        series.push({
          label: line.outcome,
          stroke: colour,
          width: 2,
          paths: uPlot.paths.stepped({ align: 1 }),
          value: (u, v, s, idx) => {
            if (idx == null) return "–";
            const shown = valueText(state.full[idx]);
            return state.open[idx] ? shown : shown + " (suspended)";
          },
        });
        series.push({
          label: line.outcome + " (suspended)",
          stroke: colour,
          width: 2,
          dash: [4, 4],
          paths: uPlot.paths.stepped({ align: 1 }),
          value: () => "",
        });
      });
      const width = Math.max(400, holder.clientWidth - 8);
      const plot = new uPlot({
        width,
        height: 240,
        series,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
        scales: { x: { time: true } },
        axes: [
          {
            values: (u, ticks) => ticks.map((t, i) => timeTick(t, i > 0 ? ticks[i - 1] : null,
              ticks.length > 1 ? ticks[1] - ticks[0] : 3600)),
          },
          {
            values: (u, ticks) => ticks.map((v) => valueText(v)),
            size: 60,
          },
        ],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        plugins: [kickoffPlugin(chartData.kickoff)],
      }, columns, box);
      // Only the solid line of each outcome is named in the legend.
      plot.root.querySelectorAll(".u-legend .u-series").forEach((row, i) => {
        if (i > 0 && i % 2 === 0) row.classList.add("hidden-series");
      });
      charts.push({ plot, market });
    });
  }

  function chartPrices(prices) {
    if (!chartData) return;
    let changed = false;
    prices.forEach((p) => {
      if (p.event_id !== chartData.event_id) return;
      chartData.markets.forEach((market) => {
        market.series.forEach((line) => {
          if (line.key !== p.chart) return;
          line.times.push(p.at);
          line.odds.push(p.odds);
          line.probability.push(p.probability);
          line.open.push(p.status == null);
          changed = true;
        });
      });
    });
    if (changed) drawCharts();
  }

  function eventSetup() {
    const element = document.getElementById("chart-data");
    if (!element || typeof uPlot === "undefined") return;
    chartData = JSON.parse(element.textContent);
    document.querySelectorAll("button[data-scale]").forEach((b) => {
      b.addEventListener("click", () => {
        scale = b.dataset.scale;
        document.querySelectorAll("button[data-scale]").forEach((o) => {
          o.classList.toggle("active", o === b);
        });
        const png = document.getElementById("png");
        if (png) png.href = png.href.split("?")[0] + (scale === "probability" ? "?probability=1" : "");
        drawCharts();
      });
    });
    drawCharts();
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(drawCharts, 200);
    });
  }

  // -- the live stream ---------------------------------------------------------------
  function connect() {
    if (!window.EventSource) return;
    let own = page === "event" && chartData ? "?event=" + chartData.event_id : "";
    if (page === "movers") own = "?page=movers";
    const source = new EventSource("/live" + own);
    source.addEventListener("open", () => setLive("on", "● live"));
    source.addEventListener("error", () => setLive("off", "reconnecting…"));
    source.addEventListener("status", (e) => {
      const status = JSON.parse(e.data);
      if (status.ok) {
        showBanner(status.message, "ok");
        setTimeout(() => { banner.hidden = true; }, 4000);
        setLive("on", "● live");
      } else {
        showBanner(status.message + " Retrying…", "error");
        setLive("off", "history unavailable");
      }
    });
    source.addEventListener("prices", (e) => {
      if (page === "event") chartPrices(JSON.parse(e.data).prices);
    });
    source.addEventListener("moved", () => {
      if (page === "movers") refreshMovers();
    });
    source.addEventListener("board", (e) => {
      if (page === "board") boardRows(JSON.parse(e.data).rows);
    });
    source.addEventListener("signals", (e) => {
      if (page === "movers") signalRows(JSON.parse(e.data).rows);
    });
  }

  if (page === "board") boardSetup();
  if (page === "event") eventSetup();
  if (page === "movers") moversSetup();
  if (page) connect();
})();
