import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { mountUi } from "./routes.ts";

describe("UI routes", () => {
  const app = new Hono();
  mountUi(app);

  it("serves the page and its bundled assets with ETags", async () => {
    const page = await app.request("http://x/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain('src="static/app.js"');
    const js = await app.request("http://x/static/app.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await js.text()).length).toBeGreaterThan(100_000); // CodeMirror + uPlot bundled, no CDN
    const etag = js.headers.get("etag")!;
    const again = await app.request("http://x/static/app.js", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    const css = await app.request("http://x/static/app.css");
    expect(await css.text()).toContain(".uplot");
  });

  it("answers unknown assets with 404 and redirects Prometheus paths", async () => {
    expect((await app.request("http://x/static/nope.js")).status).toBe(404);
    const r = await app.request("http://x/stores");
    expect(r.status).toBe(302);
    expect(r.headers.get("location")).toBe("/#/stores");
  });
});
