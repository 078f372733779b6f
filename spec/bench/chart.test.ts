// The chart (bench/svg.ts): well-formed SVG, one panel per scenario in the
// results, each with axis labels that carry units, and a legend entry per
// target. Whether it reads well was checked by eye (chromium screenshot).
import t, { type Test } from "tap";
import { notRun, type ScenarioResult } from "../../bench/result.ts";
import { compact, renderSvg } from "../../bench/svg.ts";
import { everyScenario, TARGETS } from "./support/results.ts";

interface Element {
  name: string;
  attributes: Record<string, string>;
  children: Element[];
  text: string;
}

/**
 * A strict little XML reader, enough for this SVG: it throws on an unclosed
 * or crossed tag, an unquoted or repeated attribute, a stray `<` or `&`.
 */
function parseXml(source: string): Element {
  const root: Element = { name: "#root", attributes: {}, children: [], text: "" };
  const stack = [root];
  const entity = /&(?:#\d+|#x[0-9a-fA-F]+|amp|lt|gt|quot|apos);/g;
  const checkText = (raw: string, where: string): string => {
    if (/[<&]/.test(raw.replace(entity, ""))) throw new Error(`stray < or & in ${where}: ${raw.slice(0, 60)}`);
    return raw;
  };
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>/y;
  let at = source.startsWith("<?xml") ? source.indexOf("?>") + 2 : 0;
  while (at < source.length) {
    const open = source.indexOf("<", at);
    const textEnd = open < 0 ? source.length : open;
    stack.at(-1)!.text += checkText(source.slice(at, textEnd), `text of <${stack.at(-1)!.name}>`);
    if (open < 0) break;
    tag.lastIndex = open;
    const match = tag.exec(source);
    if (!match) throw new Error(`malformed tag at ${open}: ${source.slice(open, open + 60)}`);
    const [whole, closing, name, attributeText, selfClosing] = match;
    if (closing) {
      const top = stack.pop()!;
      if (top.name !== name) throw new Error(`</${name}> closes <${top.name}>`);
    } else {
      const attributes: Record<string, string> = {};
      for (const [, key, value] of attributeText.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) {
        if (key in attributes) throw new Error(`<${name}> repeats ${key}`);
        attributes[key] = checkText(value, `${name}@${key}`);
      }
      const element: Element = { name, attributes, children: [], text: "" };
      stack.at(-1)!.children.push(element);
      if (!selfClosing) stack.push(element);
    }
    at = open + whole.length;
  }
  if (stack.length !== 1) throw new Error(`<${stack.at(-1)!.name}> never closed`);
  if (root.children.length !== 1 || root.text.trim()) throw new Error("not exactly one root element");
  return root.children[0];
}

const all = (element: Element): Element[] => [element, ...element.children.flatMap(all)];
const byClass = (element: Element, name: string): Element[] =>
  all(element).filter((node) => (node.attributes.class ?? "").split(" ").includes(name));
const textOf = (element: Element): string =>
  all(element)
    .map((node) => node.text)
    .join("")
    .replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));

function check(t: Test, results: ScenarioResult[], what: string): void {
  const svg = parseXml(renderSvg(results));
  t.equal(svg.name, "svg", `${what}: an <svg> document`);
  const scenarios = [...new Set(results.map((result) => result.scenario))];
  const panels = byClass(svg, "panel");
  t.same(
    panels.map((panel) => panel.attributes["data-scenario"]),
    scenarios,
    `${what}: one panel per scenario, in order`,
  );
  for (const panel of panels) {
    const name = panel.attributes["data-scenario"];
    const [y] = byClass(panel, "y");
    const [x] = byClass(panel, "x");
    t.match(textOf(y ?? panel), /\((ms|s|KB|msg\/s)\b[^)]*\)$/, `${what}: ${name} y axis says its unit: ${y && textOf(y)}`);
    t.ok(x && textOf(x), `${what}: ${name} has an x axis label`);
    t.ok(byClass(panel, "tick").length >= 2, `${what}: ${name} has ticks`);
    t.ok(textOf(byClass(panel, "title")[0]).startsWith(name), `${what}: ${name} panel titled`);
  }
  const targets = [...new Set(results.map((result) => result.target))];
  t.same(
    byClass(svg, "legend-entry").map((entry) => textOf(entry)),
    targets,
    `${what}: a legend entry per target`,
  );
}

t.test("every scenario, five targets", async (t) => {
  const results = everyScenario();
  check(t, results, "all");
  const svg = parseXml(renderSvg(results));
  const cluster = byClass(svg, "panel").find((panel) => panel.attributes["data-scenario"] === "cluster")!;
  t.match(textOf(cluster), /skipped/, "a target that did not run says so in its place");
  const bars = byClass(svg, "panel").find((panel) => panel.attributes["data-scenario"] === "fanout")!;
  t.same(byClass(bars, "target").map(textOf), TARGETS, "bars are labelled with their target");
  t.match(textOf(bars), /17\.42M/, "bars carry their value");
});

t.test("a few scenarios, or one target, give as many panels", async (t) => {
  const results = everyScenario();
  check(
    t,
    results.filter((result) => ["fanout", "latency"].includes(result.scenario)),
    "fanout+latency",
  );
  check(
    t,
    results.filter((result) => result.target === "ours-bun" && result.scenario !== "connect"),
    "one target",
  );
  check(
    t,
    results.filter((result) => result.scenario === "stepup"),
    "stepup only",
  );
  const skipped = ["fanout", "stepup"].map((scenario) => notRun(scenario, "redis", "skipped", "redis-server is not installed"));
  check(t, skipped, "nothing ran");
  t.match(renderSvg(skipped), />skipped</, "the panel says why it is empty");
});

t.test("the checker rejects what is not well-formed", async (t) => {
  t.throws(() => parseXml("<svg><g></svg></g>"), /closes/);
  t.throws(() => parseXml("<svg><text>a < b</text></svg>"), /malformed|stray/);
  t.throws(() => parseXml("<svg><text>R&D</text></svg>"), /stray/);
  t.throws(() => parseXml('<svg a="1" a="2"/>'), /repeats/);
  t.throws(() => parseXml("<svg><g></svg>"), /closes|never closed/);
  t.same(parseXml('<svg><text x="1">a &amp; &#60;b&#62;</text></svg>').children[0].attributes, { x: "1" });
});

t.test("tick labels", async (t) => {
  t.same([0, 0.1, 2.5, 12.25, 250, 4500, 45_000, 17_420_000].map(compact), ["0", "0.1", "2.5", "12.3", "250", "4500", "45k", "17.42M"]);
});
