// The overview page (#/overview?q=…&fiscalYear=…&department=…&municipality=…, the search
// page's parameters): how many measures per year, by next-year status, by pillar and by
// department, of the whole archive or of every hit of a search, from the API's
// Query.overview. Each count is a small chart (charts.js) with its table beside it.

import { element, eraLabel, nameBarChart, table, yearBarChart } from "./charts.js";

const OVERVIEW = `query Overview($query: String, $filter: MeasureFilter) {
  overview(query: $query, filter: $filter) {
    totalCount
    fiscalYears { fiscalYear label count }
    nextYearStatuses { fiscalYear value count }
    pillars { fiscalYear value count }
    departments { fiscalYear value count }
  }
}`;
const NAMES_CHARTED = 12; // pillars or departments drawn; the table lists every one
const NO_STATUS = "記載なし";
const NO_PILLAR = "体系なし";

// The overview's parameters from the hash's query string; the search page's former names
// (year, dept) are read too, so an old search link gives its overview.
export function parseOverview(search) {
  const params = new URLSearchParams(search);
  const years = [...params.getAll("fiscalYear"), ...params.getAll("year")].filter((y) => /^\d+$/.test(y)).map(Number);
  const departments = [...params.getAll("department"), ...params.getAll("dept")].filter(Boolean);
  return {
    query: (params.get("q") || "").trim(),
    years: [...new Set(years)],
    departments: [...new Set(departments)],
    municipalities: [...new Set(params.getAll("municipality").filter(Boolean))],
  };
}

export function overviewHash({ query, years, departments, municipalities }) {
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  for (const year of years) params.append("fiscalYear", String(year));
  for (const name of departments) params.append("department", name);
  for (const name of municipalities) params.append("municipality", name);
  const text = params.toString();
  return text ? `#/overview?${text}` : "#/overview";
}

// The overview of the search a search page's hash (#/search?…) shows: its query and filters,
// not its page or order.
export function overviewOfSearch(hash) {
  const at = hash.indexOf("?");
  return overviewHash(parseOverview(at < 0 ? "" : hash.slice(at + 1)));
}

function searchHashOf({ query, years, departments, municipalities }) {
  const params = new URLSearchParams();
  params.set("q", query);
  for (const year of years) params.append("fiscalYear", String(year));
  for (const name of departments) params.append("department", name);
  for (const name of municipalities) params.append("municipality", name);
  return `#/search?${params}`;
}

// The link to the overview of the search shown, beside the results' heading.
export function showOverviewLink(hash, shown = true) {
  let box = document.getElementById("overview-link");
  if (!box) {
    box = element("p", null, { id: "overview-link", class: "overview-link" });
    box.append(element("a", "この検索結果の概要（年度・次年度の扱い・体系・担当部課所別の件数）"));
    document.getElementById("results-heading").after(box);
  }
  box.firstChild.href = overviewOfSearch(hash);
  box.hidden = !shown;
}

function section() {
  let found = document.getElementById("overview");
  if (!found) {
    found = element("section", null, { id: "overview", "aria-labelledby": "overview-heading", hidden: "" });
    document.querySelector("main").append(found);
  }
  return found;
}

export function hideOverview() {
  const found = document.getElementById("overview");
  if (found) found.hidden = true;
}

// Renders the overview of `route` (parseOverview's). `app` is the page's own: graphql(query,
// variables, refused), current() (false once another view was asked for), focus(id).
export async function renderOverview(route, app) {
  const root = section();
  root.hidden = true;
  const status = document.getElementById("status");
  status.textContent = "集計しています…";
  const filter = {};
  if (route.years.length) filter.fiscalYears = route.years;
  if (route.departments.length) filter.departments = route.departments;
  if (route.municipalities.length) filter.municipalities = route.municipalities;
  const variables = { query: route.query || null, filter: Object.keys(filter).length ? filter : null };
  const data = await app.graphql(OVERVIEW, variables, "概要を集計できませんでした");
  if (!app.current()) return;
  const found = data.overview;
  const subject = route.query ? `「${route.query}」の検索結果` : "アーカイブ全体";
  document.title = `${subject}の概要 - 施策アーカイブ`;
  status.textContent = `${subject}の概要: 施策 ${found.totalCount}件`;

  const heading = element("h2", `${subject}の概要`, { id: "overview-heading", tabindex: "-1" });
  const parts = [heading, scope(route, found)];
  if (found.totalCount === 0) {
    parts.push(element("p", "該当する施策がないため、集計するものがありません。"));
  } else {
    parts.push(
      perYear(found.fiscalYears),
      byStatus(found.fiscalYears, found.nextYearStatuses),
      byName("体系別の施策数", "体系", found.fiscalYears, found.pillars, NO_PILLAR, false),
      byName("担当部課所別の施策数", "担当部課所", found.fiscalYears, found.departments, null, true),
      element("p", "各施策の数値（達成状況）の年度ごとの推移は、施策のページの「数値の推移」にあります。", { class: "help" }),
    );
  }
  root.replaceChildren(...parts);
  root.hidden = false;
  app.focus("overview-heading");
}

// What is counted, and the ways to the results and to the whole archive.
function scope(route, found) {
  const box = element("div", null, { class: "overview-scope" });
  const conditions = [
    ...route.years.map((year) => eraLabel(year)),
    ...route.departments,
    ...route.municipalities,
  ];
  const counted = `施策 ${found.totalCount}件を集計${conditions.length ? `（条件: ${conditions.join("、")}）` : ""}`;
  box.append(element("p", counted, { class: "meta" }));
  const links = element("p", null, { class: "overview-links" });
  if (route.query) links.append(element("a", "検索結果の一覧に戻る", { href: searchHashOf(route) }));
  if (route.query || conditions.length) links.append(element("a", "アーカイブ全体の概要", { href: "#/overview" }));
  if (links.childElementCount) box.append(links);
  return box;
}

function part(title, id, ...content) {
  const out = element("section", null, { class: "overview-part", "aria-labelledby": id });
  out.append(element("h3", title, { id }), ...content);
  return out;
}

function pair(chartNode, tableNode) {
  const box = element("div", null, { class: "chart-and-table" });
  const scroller = element("div", null, { class: "table-scroll" });
  scroller.append(tableNode);
  box.append(chartNode, scroller);
  return box;
}

function figure(caption, svg) {
  const out = element("figure", null, { class: "chart-figure" });
  out.append(element("figcaption", caption), svg);
  return out;
}

function perYear(years) {
  const chart = yearBarChart({ name: "年度別の施策数", unit: "件", bars: years.map((y) => ({ year: y.fiscalYear, value: y.count })) });
  const rows = years.map((y) => [y.label, `${y.count}件`]);
  const total = years.reduce((sum, y) => sum + y.count, 0);
  rows.push(["計", `${total}件`]);
  return part(
    "年度別の施策数",
    "overview-years",
    pair(figure("施策数（件）", chart), table("年度別の施策数", ["年度", "施策数"], rows, { class: "data-table" })),
  );
}

// Next-year status: one small chart per status (one series each, all on the axis of the
// largest), and the table of years by status.
function byStatus(years, counts) {
  const statuses = [...new Set(counts.map((c) => c.value))];
  const count = (year, status) => {
    const hit = counts.find((c) => c.fiscalYear === year && c.value === status);
    return hit ? hit.count : 0;
  };
  const charts = element("div", null, { class: "small-multiples" });
  const largest = Math.max(0, ...counts.map((c) => c.count));
  for (const status of statuses) {
    const bars = years.map((y) => ({ year: y.fiscalYear, value: count(y.fiscalYear, status) }));
    const name = `次年度「${status ?? NO_STATUS}」の施策数`;
    charts.append(figure(`${status ?? NO_STATUS}（件）`, yearBarChart({ name, unit: "件", bars, width: 220, height: 150, largest })));
  }
  const head = ["年度", ...statuses.map((s) => s ?? NO_STATUS), "計"];
  const rows = years.map((y) => [y.label, ...statuses.map((s) => String(count(y.fiscalYear, s))), String(y.count)]);
  const tableNode = table("年度別・次年度の扱い別の施策数（件）", head, rows, { class: "data-table" });
  const scroller = element("div", null, { class: "table-scroll" });
  scroller.append(tableNode);
  const note = element("p", "次年度の扱いは報告書のタグ（[R3継続] など）のとおり。記載なし: タグのない施策。", { class: "help" });
  return part("年度別・次年度の扱い別の施策数", "overview-statuses", charts, scroller, note);
}

// Pillars or departments: a bar per name over the years counted (the most first, at most
// NAMES_CHARTED), and the table of every name by year.
function byName(title, what, years, counts, none, several) {
  const totals = new Map();
  for (const c of counts) totals.set(c.value, (totals.get(c.value) || 0) + c.count);
  // Pillars keep the reports' order (the API's); departments go by count, the most first.
  const names = [...totals.keys()];
  if (several) names.sort((a, b) => totals.get(b) - totals.get(a) || String(a).localeCompare(String(b), "ja"));
  const label = (name) => name ?? none;
  const charted = [...names].sort((a, b) => totals.get(b) - totals.get(a)).slice(0, NAMES_CHARTED);
  const chartRows = names.filter((n) => charted.includes(n)).map((n) => ({ label: label(n), value: totals.get(n) }));
  const caption = names.length > NAMES_CHARTED ? `施策数（件）、多い${NAMES_CHARTED}件` : "施策数（件）";
  const chart = figure(caption, nameBarChart({ name: title, unit: "件", rows: chartRows }));
  const head = [what, ...years.map((y) => y.label), "計"];
  const count = (year, name) => {
    const hit = counts.find((c) => c.fiscalYear === year && c.value === name);
    return hit ? hit.count : 0;
  };
  const rows = names.map((n) => [label(n), ...years.map((y) => String(count(y.fiscalYear, n))), String(totals.get(n))]);
  const tableNode = table(`${title}（件）`, head, rows, { class: "data-table" });
  const id = several ? "overview-departments" : "overview-pillars";
  const content = [pair(chart, tableNode)];
  if (several) content.push(element("p", "2つ以上の担当部課所をもつ施策は、それぞれに数えています（合計は施策数を超えることがあります）。", { class: "help" }));
  return part(title, id, ...content);
}
