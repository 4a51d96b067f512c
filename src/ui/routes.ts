/**
 * Serves the bundled web UI: `/` (the page), `/static/*` (script and styles with ETags) and the
 * Prometheus-style `/graph` and `/stores` paths as redirects into the page's hash routes. The
 * assets come from a generated module (see build-assets.mjs), so Workers and Deno serve the very
 * same files as Node. The page itself is public; its API calls carry the bearer token.
 */
import type { Hono } from "hono";
import { UI_ASSETS } from "./generated/ui-assets.ts";

function asset(name: string, req: Request, cache: string): Response {
  const a = UI_ASSETS[name];
  if (!a) return new Response("404 page not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
  const headers = { "content-type": a.type, etag: a.etag, "cache-control": cache };
  if (req.headers.get("if-none-match") === a.etag) return new Response(null, { status: 304, headers });
  return new Response(a.body, { headers });
}

/** Adds the UI routes to `app`. Mount before routes that require authentication. */
export function mountUi(app: Hono): void {
  app.get("/", (c) => asset("index.html", c.req.raw, "no-cache"));
  app.get("/static/:file", (c) => asset(c.req.param("file"), c.req.raw, "public, max-age=300"));
  app.get("/graph", (c) => c.redirect(`/#/graph${new URL(c.req.url).search ? `?${new URL(c.req.url).search.slice(1)}` : ""}`));
  app.get("/stores", (c) => c.redirect("/#/stores"));
}
