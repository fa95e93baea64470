// Renders /openapi.json as a list of endpoints and their query parameters (served locally, no external assets).
"use strict";
fetch("/openapi.json").then((r) => r.json()).then((api) => {
  document.getElementById("title").textContent = api.info.title;
  document.getElementById("desc").textContent = api.info.description || "";
  const box = document.getElementById("paths");
  for (const [path, ops] of Object.entries(api.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const h = document.createElement("h2");
      h.innerHTML = `<code>${method.toUpperCase()} ${path}</code> — `;
      h.appendChild(document.createTextNode(op.summary || ""));
      box.appendChild(h);
      const params = op.parameters || [];
      if (!params.length) continue;
      const t = document.createElement("table");
      t.className = "p";
      t.innerHTML = "<tr><th>parameter</th><th>required</th><th>default</th><th>description</th></tr>";
      for (const p of params) {
        const tr = document.createElement("tr");
        const d = p.schema && p.schema.default !== undefined ? String(p.schema.default) : "";
        for (const v of [p.name, p.required ? "yes" : "", d, p.description || ""]) {
          const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
        }
        t.appendChild(tr);
      }
      box.appendChild(t);
    }
  }
});
