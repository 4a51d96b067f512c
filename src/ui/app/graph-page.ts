/**
 * The Graph page: expression editor, Execute, Table/Graph tabs, range and end controls for the
 * graph, dedup and partial-response toggles, warnings and errors. The state lives in the URL hash
 * so a query can be shared as a link.
 */
import type uPlot from "uplot";
import { instantQuery, rangeQuery, type QueryToggles } from "./api-client.ts";
import { defaultStep, el, parseDurationSeconds } from "./format.ts";
import { renderGraph } from "./graph-view.ts";
import { createPromQLEditor } from "./promql-editor.ts";
import { renderTable } from "./table-view.ts";

type Tab = "table" | "graph";

interface PageState {
  expr: string;
  tab: Tab;
  range: string;
  dedup: boolean;
  partialResponse: boolean;
}

function readState(): PageState {
  const p = new URLSearchParams(location.hash.split("?")[1] ?? "");
  return {
    expr: p.get("expr") ?? "",
    tab: p.get("tab") === "table" ? "table" : "graph",
    range: p.get("range") ?? "1h",
    dedup: p.get("dedup") !== "false",
    partialResponse: p.get("partial_response") !== "false",
  };
}

function writeState(s: PageState): void {
  const p = new URLSearchParams({ expr: s.expr, tab: s.tab, range: s.range, dedup: String(s.dedup), partial_response: String(s.partialResponse) });
  history.replaceState(null, "", `#/graph?${p}`);
}

function checkbox(label: string, checked: boolean, name: string): { root: HTMLLabelElement; input: HTMLInputElement } {
  const root = el("label", "toggle");
  const input = el("input");
  input.type = "checkbox";
  input.checked = checked;
  input.name = name;
  root.append(input, document.createTextNode(` ${label}`));
  return { root, input };
}

/** Renders the Graph page into `host`. */
export function renderGraphPage(host: HTMLElement): void {
  const state = readState();
  host.replaceChildren();
  const form = el("div", "query-form");
  const editorHost = el("div", "editor");
  const run = el("button", "execute", "Execute");
  run.type = "button";
  const dedup = checkbox("Deduplication", state.dedup, "dedup");
  const partial = checkbox("Partial response", state.partialResponse, "partial_response");
  const tabs = el("div", "tabs");
  const tableTab = el("button", "tab", "Table");
  const graphTab = el("button", "tab", "Graph");
  tabs.append(tableTab, graphTab);
  const rangeInput = el("input", "range");
  rangeInput.value = state.range;
  rangeInput.title = "Graph range, e.g. 1h, 6h, 1d";
  rangeInput.setAttribute("aria-label", "range");
  const options = el("div", "options");
  options.append(dedup.root, partial.root, el("span", "range-label", "Range"), rangeInput);
  const status = el("div", "status");
  const warnings = el("div", "warnings");
  const error = el("div", "error");
  const output = el("div", "output");
  form.append(editorHost, run);
  host.append(form, options, tabs, status, warnings, error, output);

  let plot: uPlot | undefined;
  let inflight: AbortController | undefined;
  const editor = createPromQLEditor(editorHost, state.expr, () => void execute());

  const setTab = (tab: Tab) => {
    state.tab = tab;
    tableTab.classList.toggle("active", tab === "table");
    graphTab.classList.toggle("active", tab === "graph");
    rangeInput.disabled = tab === "table";
  };
  setTab(state.tab);

  async function execute(): Promise<void> {
    state.expr = editor.value().trim();
    state.range = rangeInput.value.trim() || "1h";
    state.dedup = dedup.input.checked;
    state.partialResponse = partial.input.checked;
    writeState(state);
    error.textContent = "";
    warnings.replaceChildren();
    if (state.expr === "") return;
    inflight?.abort();
    const ac = new AbortController();
    inflight = ac;
    const toggles: QueryToggles = { dedup: state.dedup, partialResponse: state.partialResponse };
    const started = performance.now();
    status.textContent = "Loading…";
    try {
      plot?.destroy();
      plot = undefined;
      const end = Math.floor(Date.now() / 1000);
      if (state.tab === "table") {
        const res = await instantQuery(state.expr, end, toggles, ac.signal);
        renderTable(output, res.data);
        for (const w of res.warnings) warnings.append(el("div", "warning", w));
      } else {
        const range = parseDurationSeconds(state.range);
        if (!Number.isFinite(range) || range <= 0) throw new Error(`invalid range ${JSON.stringify(state.range)}`);
        const step = defaultStep(range);
        const start = end - range;
        const res = await rangeQuery(state.expr, start, end, step, toggles, ac.signal);
        if (res.data.resultType !== "matrix") throw new Error(`unexpected result type ${res.data.resultType}`);
        plot = renderGraph(output, res.data.result, start, end, step);
        for (const w of res.warnings) warnings.append(el("div", "warning", w));
      }
      status.textContent = `Load time: ${Math.round(performance.now() - started)}ms`;
    } catch (err) {
      if (ac.signal.aborted) return;
      output.replaceChildren();
      status.textContent = "";
      error.textContent = err instanceof Error ? err.message : String(err);
    }
  }

  run.addEventListener("click", () => void execute());
  tableTab.addEventListener("click", () => (setTab("table"), void execute()));
  graphTab.addEventListener("click", () => (setTab("graph"), void execute()));
  if (state.expr) void execute();
  editor.focus();
}
