"""The study page's HTML, CSS and vanilla JavaScript (no network, no libraries); ``study_page.write_page`` fills in
``__TITLE__`` and ``__DATA__`` (the embedded study data).

Page behaviour (ranked tiles get a border and a rank badge, never a filter: the rater compares appearance): one case
at a time; click the outputs (or press 1..n) from most to least similar in appearance to the
source; Backspace undoes the last pick, R resets the case, ←/→ (or Enter when ranked) move between cases. Progress is
kept in the browser's localStorage per study id, so a reload does not lose work; "New rater" clears it (raters
sharing a computer). Export downloads the answers JSON
only when a rater name is given and every case is fully ranked; otherwise it names what is missing and jumps to the
first unranked case (incomplete answers would bias the average ranks, so none are exported).
"""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f4;color:#222}
header{background:#fff;padding:10px 18px;border-bottom:1px solid #ccc;display:flex;flex-wrap:wrap;gap:14px;
 align-items:center;position:sticky;top:0;z-index:2}
h1{font-size:18px;margin:0 12px 0 0}
main{padding:14px 18px}
#nav button{min-width:30px;margin:1px;border:1px solid #999;background:#fff;cursor:pointer}
#nav button.done{background:#8c8}#nav button.current{outline:2px solid #36c}
.refs,.outputs{display:flex;flex-wrap:wrap;gap:14px;margin:10px 0}
figure{margin:0;background:#fff;padding:6px;border:1px solid #ccc}
figure img{display:block;width:256px;height:auto;image-rendering:auto}
figcaption{text-align:center;font-size:14px;margin-top:4px}
.tile{cursor:pointer;position:relative;border:3px solid transparent}
.tile:hover{border-color:#36c}.tile.ranked{border-color:#2a2}
.badge{position:absolute;top:8px;left:8px;background:#2a2;color:#fff;font-weight:bold;border-radius:50%;
 width:30px;height:30px;line-height:30px;text-align:center;font-size:17px}
#message{color:#b00;min-height:1.2em;margin:6px 0}
.help{color:#555;font-size:13px}
button{font-size:14px;padding:4px 10px}
#next.ready{background:#2a2;color:#fff}
</style></head>
<body>
__DATA__
<header>
 <h1>__TITLE__</h1>
 <label>Your name <input id="rater" autocomplete="off" placeholder="rater name"></label>
 <span id="progress"></span>
 <button id="export">Export answers</button>
 <button id="new-rater" title="clear all rankings and the name (the next rater on this computer)">New rater</button>
</header>
<main>
 <div id="hint" class="help"></div>
 <div id="nav"></div>
 <h2 id="case-title"></h2>
 <p class="help">Rank the outputs by how similar their <b>appearance</b> (colours, textures, style) is to the
 source image: click them (or press 1&hellip;n) from <b>most</b> to <b>least</b> similar.
 Backspace undoes the last pick, R resets this case, &larr;/&rarr; move between cases.</p>
 <div class="refs" id="refs"></div>
 <div class="outputs" id="outputs"></div>
 <button id="reset">Reset this case</button> <button id="prev">&larr; Previous</button>
 <button id="next">Next &rarr;</button>
 <div id="message"></div>
</main>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("bench-study-key").textContent);
const STORE = "bench-study-" + DATA.study_id;
const $ = (id) => document.getElementById(id);
const now = () => new Date().toISOString();
let state = {rater: "", started_at: now(), current: 0, cases: {}};
try { const saved = JSON.parse(localStorage.getItem(STORE) || "null"); if (saved) state = saved; } catch (e) {}
for (const c of DATA.cases) if (!state.cases[c.id]) state.cases[c.id] = {ranking: [], ranked_at: null};
if (state.current >= DATA.cases.length) state.current = 0;

function save() { try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) {} }
function complete(c) { return state.cases[c.id].ranking.length === c.outputs.length; }
function figure(src, caption, cls) {
  const f = document.createElement("figure"); if (cls) f.className = cls;
  const img = document.createElement("img"); img.src = src; img.alt = caption; f.appendChild(img);
  const cap = document.createElement("figcaption"); cap.textContent = caption; f.appendChild(cap);
  return f;
}
function render() {
  const c = DATA.cases[state.current], answer = state.cases[c.id];
  $("hint").textContent = DATA.raters_hint;
  $("rater").value = state.rater;
  const done = DATA.cases.filter(complete).length;
  $("progress").textContent = done + " / " + DATA.cases.length + " cases ranked";
  $("progress").dataset.done = done;
  const nav = $("nav"); nav.textContent = "";
  DATA.cases.forEach((k, i) => {
    const b = document.createElement("button"); b.textContent = i + 1; b.title = k.id;
    b.className = (complete(k) ? "done " : "") + (i === state.current ? "current" : "");
    b.onclick = () => go(i); nav.appendChild(b);
  });
  $("case-title").textContent = "Case " + (state.current + 1) + " of " + DATA.cases.length;
  $("case-title").dataset.case = c.id;
  const refs = $("refs"); refs.textContent = "";
  refs.appendChild(figure(c.source, "source image"));
  if (c.target) refs.appendChild(figure(c.target, "target layout"));
  const outs = $("outputs"); outs.textContent = "";
  c.outputs.forEach((o, i) => {
    const f = figure(o.image, o.label + "  (key " + (i + 1) + ")", "tile");
    f.dataset.label = o.label;
    const r = answer.ranking.indexOf(o.label);
    if (r >= 0) {
      f.classList.add("ranked");
      const b = document.createElement("span"); b.className = "badge"; b.textContent = r + 1; f.appendChild(b);
    }
    f.onclick = () => pick(o.label); outs.appendChild(f);
  });
  $("next").className = complete(c) && state.current + 1 < DATA.cases.length ? "ready" : "";
}
function pick(label) {
  const c = DATA.cases[state.current], answer = state.cases[c.id];
  if (answer.ranking.includes(label)) return;
  answer.ranking.push(label);
  if (complete(c)) answer.ranked_at = now();
  $("message").textContent = ""; save(); render();
}
function undo() {
  const answer = state.cases[DATA.cases[state.current].id];
  answer.ranking.pop(); answer.ranked_at = null; save(); render();
}
function reset() {
  const answer = state.cases[DATA.cases[state.current].id];
  answer.ranking = []; answer.ranked_at = null; save(); render();
}
function go(i) { if (i >= 0 && i < DATA.cases.length) { state.current = i; save(); render(); window.scrollTo(0, 0); } }
function exportAnswers() {
  state.rater = $("rater").value.trim(); save();
  const missing = DATA.cases.map((c, i) => complete(c) ? null : i).filter((i) => i !== null);
  if (!state.rater) { $("message").textContent = "Enter your name before exporting."; $("rater").focus(); return; }
  if (missing.length) {
    $("message").textContent = "Not exported: rank every case first; unranked: case(s) " +
      missing.map((i) => i + 1).join(", ") + ".";
    go(missing[0]); return;
  }
  const answers = {format: DATA.answers_format, study_id: DATA.study_id, rater: state.rater,
    started_at: state.started_at, exported_at: now(),
    cases: DATA.cases.map((c) => ({case: c.id, ranking: state.cases[c.id].ranking,
                                   ranked_at: state.cases[c.id].ranked_at}))};
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([JSON.stringify(answers, null, 1)], {type: "application/json"}));
  a.download = "study-" + DATA.study_id + "-" + state.rater.replace(/[^A-Za-z0-9_.-]+/g, "_") + ".json";
  document.body.appendChild(a); a.click(); a.remove();
  $("message").textContent = "Exported " + a.download + ": send this file to the study organiser.";
}
$("rater").addEventListener("input", () => { state.rater = $("rater").value.trim(); save(); });
$("reset").onclick = reset;
$("prev").onclick = () => go(state.current - 1);
$("next").onclick = () => go(state.current + 1);
$("export").onclick = exportAnswers;
$("new-rater").onclick = () => {
  if (!confirm("Clear all rankings and the name on this page for the next rater?")) return;
  try { localStorage.removeItem(STORE); } catch (e) {}
  location.reload();
};
document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT" || e.ctrlKey || e.metaKey || e.altKey) return;
  const c = DATA.cases[state.current], n = parseInt(e.key, 10);
  if (n >= 1 && n <= c.outputs.length) pick(c.outputs[n - 1].label);
  else if (e.key === "Backspace") { e.preventDefault(); undo(); }
  else if (e.key === "r" || e.key === "R") reset();
  else if (e.key === "ArrowLeft") go(state.current - 1);
  else if (e.key === "ArrowRight" || (e.key === "Enter" && complete(c))) go(state.current + 1);
});
render();
</script>
</body></html>
"""
