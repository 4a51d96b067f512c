/**
 * Entry of Meridian's web UI: a header with navigation (Graph, Stores) and a bearer-token field
 * (kept in this browser, sent with API calls when the querier requires one), and hash routing.
 */
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { storedToken, storeToken } from "./api-client.ts";
import { el } from "./format.ts";
import { renderGraphPage } from "./graph-page.ts";
import { renderStoresPage } from "./stores-page.ts";

function header(): HTMLElement {
  const nav = el("nav", "topbar");
  nav.append(el("span", "brand", "Meridian"));
  const graph = el("a", "nav-graph", "Graph");
  graph.href = "#/graph";
  const stores = el("a", "nav-stores", "Stores");
  stores.href = "#/stores";
  const token = el("input", "token");
  token.type = "password";
  token.placeholder = "bearer token (if required)";
  token.value = storedToken();
  token.addEventListener("change", () => storeToken(token.value.trim()));
  nav.append(graph, stores, token);
  return nav;
}

function route(main: HTMLElement): void {
  const page = location.hash.startsWith("#/stores") ? "stores" : "graph";
  document.body.dataset["page"] = page;
  if (page === "stores") void renderStoresPage(main);
  else renderGraphPage(main);
}

const main = el("main", "page");
document.body.append(header(), main);
window.addEventListener("hashchange", () => route(main));
route(main);
