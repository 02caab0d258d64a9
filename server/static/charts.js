// Charts that cannot mislead (#18 point 6), drawn as plain SVG: one labelled series per
// chart, its value written at every point or bar, a y axis from 0 with ticks at round
// numbers, and years as reports print them (R2 on the axis, 令和2年度 in tables) with the
// Western year on hover (an SVG <title>). Figures that cannot be one labelled series (no
// label, or two values in one year) are tables, never lines. No chart library: the three
// shapes here (line over years, bars over years, bars by name) are a few dozen lines each,
// and the page loads nothing but its own files.
//
// Every drawing is hidden from assistive technology (aria-hidden); its table is its text
// alternative: visible beside it on the overview, visually hidden on a measure's page.

const SVG = "http://www.w3.org/2000/svg";
const ALIASES_PER_REQUEST = 10; // below the API's alias limit (15)
const plain = new Intl.NumberFormat("ja-JP", { maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat("ja-JP", { notation: "compact", maximumFractionDigits: 1 });

export function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

export function svgElement(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// 11050 → 11,050; 530000 → 53万 (a tick or a label stays short). `scale`: the largest value
// of the axis, so every number of one chart is written alike (50,000 beside 10万 would not).
export function formatNumber(value, scale = value) {
  return Math.abs(scale) >= 100000 ? compact.format(value) : plain.format(value);
}

// ---- years as reports print them ---------------------------------------------------------

// 2020 → 令和2年度, 2019 → 令和元年度, 2018 → 平成30年度 (a fiscal year starts in April, so
// FY2019 is 令和元年度 throughout); before 平成, the Western year.
export function eraLabel(year) {
  if (year >= 2019) return `令和${year === 2019 ? "元" : year - 2018}年度`;
  if (year >= 1989) return `平成${year === 1989 ? "元" : year - 1988}年度`;
  return `${year}年度`;
}

// The short form of an axis: R2, R1, H30, as the next-year tags print it ([R3継続]).
export function eraShort(year) {
  if (year >= 2019) return `R${year - 2018}`;
  if (year >= 1989) return `H${year - 1988}`;
  return String(year);
}

export function yearHover(year) {
  return `${eraLabel(year)}（${year}年度）`;
}

// ---- axes --------------------------------------------------------------------------------

// Ticks from 0 at a round step (1, 2 or 5 × 10^n), about four of them, the last at or above
// the largest value; counts (integer) never get a tick at 0.5.
export function ticks(largest, integer = false) {
  if (!(largest > 0)) return [0, 1];
  const rough = largest / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  if (integer) step = Math.max(1, Math.ceil(step));
  const out = [];
  for (let value = 0; value < largest + step; value += step) {
    out.push(Number(value.toPrecision(12)));
    if (value >= largest) break;
  }
  return out;
}

function yAxis(svg, scale, pad, width, unit) {
  const top = scale.ticks[scale.ticks.length - 1];
  for (const tick of scale.ticks) {
    const y = scale.y(tick);
    svg.append(svgElement("line", { class: tick === 0 ? "axis" : "grid", x1: pad.left, y1: y, x2: width - pad.right, y2: y }));
    svg.append(svgElement("line", { class: "axis", x1: pad.left - 4, y1: y, x2: pad.left, y2: y }));
    svg.append(svgElement("text", { class: "tick", x: pad.left - 6, y: y + 4, "text-anchor": "end" }, formatNumber(tick, top)));
  }
  svg.append(svgElement("line", { class: "axis", x1: pad.left, y1: pad.top, x2: pad.left, y2: scale.y(0) }));
  if (unit) svg.append(svgElement("text", { class: "unit", x: pad.left - 6, y: pad.top - 8, "text-anchor": "end" }, `（${unit}）`));
}

// A year's tick: R2 below the axis, with the Western year on hover.
function yearTick(svg, year, x, y) {
  const group = svgElement("g", { class: "year-tick" });
  group.append(svgElement("title", {}, yearHover(year)));
  group.append(svgElement("line", { class: "axis", x1: x, y1: y, x2: x, y2: y + 4 }));
  group.append(svgElement("text", { class: "tick", x, y: y + 17, "text-anchor": "middle" }, eraShort(year)));
  svg.append(group);
}

function frame(width, height, name) {
  const svg = svgElement("svg", {
    class: "chart",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    "aria-hidden": "true",
    focusable: "false",
  });
  svg.append(svgElement("title", {}, name));
  return svg;
}

function scaleFor(values, pad, height, integer, largest = 0) {
  const list = ticks(Math.max(largest, ...values), integer);
  const top = list[list.length - 1];
  const y = (value) => height - pad.bottom - (value / top) * (height - pad.top - pad.bottom);
  return { ticks: list, y };
}

// ---- the three shapes ----------------------------------------------------------------------

// One figure over the years: points joined only between neighbouring years that both have a
// value (a year without one leaves a gap, not a line across it), each value written above its
// point. `points`: [{ year, value, approximate, text }], one per year at most.
export function lineChart({ name, unit, points, years }) {
  const width = 320;
  const height = 190;
  const pad = { left: 56, right: 16, top: 30, bottom: 28 };
  const span = years.length > 1 ? years.length - 1 : 1;
  const x = (year) => {
    const at = years.indexOf(year);
    return years.length > 1 ? pad.left + 12 + (at / span) * (width - pad.left - pad.right - 24) : (pad.left + width - pad.right) / 2;
  };
  const scale = scaleFor(points.map((p) => p.value), pad, height, false);
  const svg = frame(width, height, name);
  yAxis(svg, scale, pad, width, unit);
  for (const year of years) yearTick(svg, year, x(year), scale.y(0));
  const byYear = new Map(points.map((p) => [p.year, p]));
  for (let i = 1; i < years.length; i += 1) {
    const [before, after] = [byYear.get(years[i - 1]), byYear.get(years[i])];
    if (before && after) {
      svg.append(svgElement("line", { class: "series", x1: x(before.year), y1: scale.y(before.value), x2: x(after.year), y2: scale.y(after.value) }));
    }
  }
  for (const p of points) {
    const group = svgElement("g", { class: "point" });
    group.append(svgElement("title", {}, `${yearHover(p.year)}: ${p.text || formatNumber(p.value)}`));
    group.append(svgElement("circle", { cx: x(p.year), cy: scale.y(p.value), r: 4 }));
    const written = (p.approximate ? "約" : "") + plain.format(p.value); // exact, not 9万 for 90,300
    // The first year's value starts at its point and the last year's ends at it, so a long
    // value (約650,000) neither crosses the y axis nor runs past the chart's right edge.
    const at = years.indexOf(p.year);
    const [anchor, shift] = years.length < 2 ? ["middle", 0] : at === 0 ? ["start", -4] : at === years.length - 1 ? ["end", 4] : ["middle", 0];
    group.append(svgElement("text", { class: "value", x: x(p.year) + shift, y: scale.y(p.value) - 9, "text-anchor": anchor }, written));
    svg.append(group);
  }
  return svg;
}

// Counts over the years, a bar each, the count written above it. `largest`: draw the axis up
// to at least this, so small multiples share one scale.
export function yearBarChart({ name, unit, bars, width = 320, height = 170, largest = 0 }) {
  const pad = { left: 44, right: 10, top: 26, bottom: 28 };
  const scale = scaleFor(bars.map((b) => b.value), pad, height, true, largest);
  const svg = frame(width, height, name);
  yAxis(svg, scale, pad, width, unit);
  const slot = (width - pad.left - pad.right) / Math.max(1, bars.length);
  const barWidth = Math.min(36, slot * 0.6);
  bars.forEach((bar, i) => {
    const middle = pad.left + slot * (i + 0.5);
    const group = svgElement("g", { class: "bar" });
    group.append(svgElement("title", {}, `${yearHover(bar.year)}: ${bar.value}${unit}`));
    const top = scale.y(bar.value);
    group.append(svgElement("rect", { x: middle - barWidth / 2, y: top, width: barWidth, height: scale.y(0) - top }));
    group.append(svgElement("text", { class: "value", x: middle, y: top - 5, "text-anchor": "middle" }, plain.format(bar.value)));
    svg.append(group);
    yearTick(svg, bar.year, middle, scale.y(0));
  });
  return svg;
}

// Counts by name (a pillar, a department): one row each, the name above its bar and the
// count at the bar's end, so long Japanese names never need a rotated axis. The axis runs
// along the top with its ticks; the unit is the caption's (施策数（件）).
export function nameBarChart({ name, unit, rows }) {
  const width = 320;
  const row = 38;
  const pad = { left: 8, right: 40, top: 24, bottom: 6 };
  const height = pad.top + rows.length * row + pad.bottom;
  const list = ticks(Math.max(0, ...rows.map((r) => r.value)), true);
  const top = list[list.length - 1];
  const x = (value) => pad.left + (value / top) * (width - pad.left - pad.right);
  const svg = frame(width, height, name);
  for (const tick of list) {
    svg.append(svgElement("line", { class: tick === 0 ? "axis" : "grid", x1: x(tick), y1: pad.top - 4, x2: x(tick), y2: height - pad.bottom }));
    svg.append(svgElement("text", { class: "tick", x: x(tick), y: pad.top - 8, "text-anchor": "middle" }, formatNumber(tick, top)));
  }
  rows.forEach((item, i) => {
    const y = pad.top + i * row;
    const group = svgElement("g", { class: "bar" });
    group.append(svgElement("title", {}, `${item.label}: ${item.value}${unit}`));
    group.append(svgElement("text", { class: "name", x: pad.left + 2, y: y + 13 }, clip(item.label, 24)));
    group.append(svgElement("rect", { x: pad.left, y: y + 18, width: Math.max(1, x(item.value) - pad.left), height: 14 }));
    group.append(svgElement("text", { class: "value", x: x(item.value) + 4, y: y + 30 }, plain.format(item.value)));
    svg.append(group);
  });
  return svg;
}

function clip(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

// A table: `head` the column headings, `rows` arrays of cells (the first a row heading).
export function table(caption, head, rows, attributes = {}) {
  const out = element("table", null, attributes);
  out.append(element("caption", caption));
  const headRow = element("tr");
  for (const cell of head) headRow.append(element("th", cell, { scope: "col" }));
  out.append(element("thead"));
  out.tHead.append(headRow);
  const body = element("tbody");
  for (const cells of rows) {
    const line = element("tr");
    cells.forEach((cell, i) => line.append(element(i === 0 ? "th" : "td", cell, i === 0 ? { scope: "row" } : {})));
    body.append(line);
  }
  out.append(body);
  return out;
}

// ---- a measure's figures over the years ------------------------------------------------------

export function seriesName({ label, unit }) {
  return `${label}（${unit || "比率"}）`;
}

// The measure page's charts: one per labelled figure of this measure, its series over the
// years from the API's indicatorSeries (same label and unit). A figure without a label, or
// one whose series has two values in a year, is no series: those are listed in a table of
// their years instead. `graphql(query, variables, refused)` asks the API; returns the nodes
// to show (empty when the measure has no figures).
export async function measureCharts(measure, graphql, refused) {
  const seen = new Map();
  for (const figure of measure.indicators) {
    const key = JSON.stringify([figure.label, figure.unit]);
    if (!seen.has(key)) seen.set(key, { label: figure.label, unit: figure.unit });
  }
  const wanted = [...seen.values()];
  if (wanted.length === 0) return [];
  const series = [];
  for (let start = 0; start < wanted.length; start += ALIASES_PER_REQUEST) {
    const chunk = wanted.slice(start, start + ALIASES_PER_REQUEST);
    const parameters = chunk.map((_, i) => `$l${i}: String, $u${i}: String`).join(", ");
    const fields = chunk
      .map((_, i) => `s${i}: indicatorSeries(label: $l${i}, unit: $u${i}) { label fiscalYear value unit approximate text }`)
      .join("\n");
    const variables = { id: measure.id };
    chunk.forEach((wish, i) => {
      variables[`l${i}`] = wish.label;
      variables[`u${i}`] = wish.unit;
    });
    const data = await graphql(
      `query Series($id: ID!, ${parameters}) { node(id: $id) { ... on Measure { ${fields} } } }`,
      variables,
      refused,
    );
    // Without a label the API matches every figure of the unit: keep only the figures of
    // this one's label (none), so figures of different things are never mixed.
    chunk.forEach((wish, i) =>
      series.push({
        ...wish,
        points: data.node[`s${i}`]
          .filter((p) => p.label === wish.label)
          .map((p) => ({ year: p.fiscalYear, value: p.value, unit: p.unit, approximate: p.approximate, text: p.text })),
      }),
    );
  }
  const years = [...new Set([...measure.history.map((m) => m.fiscalYear), measure.fiscalYear])].sort((a, b) => a - b);
  const charted = [];
  const listed = [];
  for (const one of series) {
    const oneEach = new Set(one.points.map((p) => p.year)).size === one.points.length;
    if (one.label && oneEach) charted.push(one);
    else listed.push(...one.points.map((p) => ({ ...p, label: one.label })));
  }
  const shown = charted.map((one) => figureChart(one, years));
  if (listed.length > 0) shown.push(unchartedTable(listed));
  return shown;
}

function figureChart(series, historyYears) {
  const name = seriesName(series);
  const years = [...new Set([...historyYears, ...series.points.map((p) => p.year)])].sort((a, b) => a - b);
  const points = [...series.points].sort((a, b) => a.year - b.year);
  const figure = element("figure", null, { class: "chart-figure" });
  const svg = lineChart({ name: `${name}の推移`, unit: series.unit || "比率", points, years });
  const rows = years.map((year) => {
    const p = points.find((q) => q.year === year);
    return [eraLabel(year), p ? (p.approximate ? "約" : "") + plain.format(p.value) : "記載なし", p ? p.text : "—"];
  });
  const alternative = table(`${name}の推移`, ["年度", "値", "原文"], rows, { class: "visually-hidden" });
  figure.append(element("figcaption", name), svg, alternative);
  return figure;
}

// Figures that are no labelled series, year by year: what the text says, never a line.
function unchartedTable(points) {
  const sorted = [...points].sort((a, b) => a.year - b.year || (a.unit || "").localeCompare(b.unit || ""));
  const rows = sorted.map((p) => [
    eraLabel(p.year),
    p.label || "—",
    (p.approximate ? "約" : "") + plain.format(p.value),
    p.unit || "（比率）",
    p.text,
  ]);
  const box = element("div", null, { class: "uncharted" });
  const why = "項目名がない数値や、同じ年度に同じ項目が複数ある数値は、別々のものを一本の線でつながないよう、グラフにせず表にしています。";
  const scroller = element("div", null, { class: "table-scroll" });
  scroller.append(table("グラフにしない数値", ["年度", "項目", "値", "単位", "原文"], rows, { class: "data-table" }));
  box.append(element("p", why, { class: "help" }), scroller);
  return box;
}
