// kentei leaderboard: sorting, filtering and the item drill-down. No inline handlers, no external
// requests; every string from records is inserted with textContent, never as HTML.
"use strict";

function cellValue(td, type) {
  const v = td.getAttribute("data-value");
  const raw = v !== null ? v : td.textContent.trim();
  if (type === "num") {
    const n = parseFloat(raw);
    return isNaN(n) ? -Infinity : n;
  }
  return raw.toLowerCase();
}

function initSortable(table) {
  const headers = table.querySelectorAll("thead th");
  headers.forEach((th, col) => {
    th.addEventListener("click", () => {
      const type = th.getAttribute("data-type") || "text";
      const desc = !th.classList.contains("sorted-desc");
      headers.forEach((h) => h.classList.remove("sorted-asc", "sorted-desc"));
      th.classList.add(desc ? "sorted-desc" : "sorted-asc");
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = cellValue(a.cells[col], type);
        const y = cellValue(b.cells[col], type);
        if (x < y) return desc ? 1 : -1;
        if (x > y) return desc ? -1 : 1;
        return 0;
      });
      rows.forEach((r) => body.appendChild(r));
    });
  });
}

function initFilters() {
  const box = document.getElementById("filters");
  const table = document.getElementById("board");
  if (!box || !table) return;
  box.querySelectorAll("button[data-filter]").forEach((btn) => {
    btn.addEventListener("click", () => {
      const f = btn.getAttribute("data-filter");
      box.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b === btn));
      Array.from(table.tBodies[0].rows).forEach((r) => {
        const origin = r.getAttribute("data-origin");
        r.classList.toggle("hidden", !(f === "all" || origin === f));
      });
    });
  });
}

function initDrill() {
  const blocks = document.querySelectorAll("script.items-data");
  if (!blocks.length) return;
  const data = {};
  const primary = {};
  blocks.forEach((b) => {
    data[b.getAttribute("data-task")] = JSON.parse(b.textContent);
    primary[b.getAttribute("data-task")] = b.getAttribute("data-primary");
  });
  const el = (id) => document.getElementById(id);
  const fTask = el("f-task"), fCat = el("f-cat"), fOk = el("f-ok"), fQ = el("f-q");
  const body = el("items").tBodies[0];
  const PAGE = 100;
  let page = 0;
  let shown = [];

  function fillCategories() {
    const cats = Array.from(new Set(data[fTask.value].map((r) => r.category))).sort();
    fCat.replaceChildren(new Option("all", ""));
    cats.forEach((c) => fCat.appendChild(new Option(c, c)));
  }

  function cell(tr, text, pre, collapse) {
    const td = document.createElement("td");
    if (collapse && text.length > 160) {
      // Few-shot prompts are long: show the end (the item itself), the rest on demand.
      const d = document.createElement("details");
      const s = document.createElement("summary");
      s.textContent = "…" + text.slice(-160);
      const p = document.createElement("pre");
      p.textContent = text;
      d.appendChild(s);
      d.appendChild(p);
      td.appendChild(d);
    } else if (pre) {
      const p = document.createElement("pre");
      p.textContent = text;
      td.appendChild(p);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
  }

  function render() {
    const t = fTask.value, cat = fCat.value, ok = fOk.value, q = fQ.value.trim().toLowerCase();
    const key = primary[t];
    shown = data[t].filter((r) => {
      if (cat && r.category !== cat) return false;
      const s = r.scores[key];
      if (ok === "right" && !(s >= 1)) return false;
      if (ok === "wrong" && !(s < 1)) return false;
      if (q && !(r.id.toLowerCase().includes(q) || r.prompt.toLowerCase().includes(q) || r.output.toLowerCase().includes(q))) return false;
      return true;
    });
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    page = Math.min(page, pages - 1);
    body.replaceChildren();
    shown.slice(page * PAGE, (page + 1) * PAGE).forEach((r) => {
      const tr = document.createElement("tr");
      tr.setAttribute("data-ok", r.scores[key] >= 1 ? "right" : "wrong");
      cell(tr, r.id);
      cell(tr, r.category);
      cell(tr, r.prompt, true, true);
      cell(tr, r.gold, true);
      cell(tr, r.output, true);
      cell(tr, Object.entries(r.scores).map(([k, v]) => k + " " + (Math.round(v * 1000) / 1000)).join("\n"), true);
      body.appendChild(tr);
    });
    el("f-count").textContent = shown.length + " items";
    el("page").textContent = "page " + (page + 1) + " / " + pages;
  }

  fTask.addEventListener("change", () => { page = 0; fillCategories(); render(); });
  [fCat, fOk].forEach((s) => s.addEventListener("change", () => { page = 0; render(); }));
  fQ.addEventListener("input", () => { page = 0; render(); });
  el("prev").addEventListener("click", () => { if (page > 0) { page -= 1; render(); } });
  el("next").addEventListener("click", () => { if ((page + 1) * PAGE < shown.length) { page += 1; render(); } });
  fillCategories();
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable").forEach(initSortable);
  initFilters();
  initDrill();
});
