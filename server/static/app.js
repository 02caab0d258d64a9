// The search page: a form, results with facets and pages, and a measure page with its
// history and charts. It talks only to /graphql. The state lives in the URL's hash
// (#/search?q=…&year=…&dept=…&after=…, #/measure/<id>), so the back button works and a
// search or a measure can be bookmarked. Text from the API only ever becomes text nodes
// (never markup); the one exception, <mark> in highlights, is rebuilt as elements.
// The overview (#/overview?…) is overview.js's, the charts charts.js's.

import { measureCharts } from "./charts.js";
import { hideOverview, parseOverview, renderOverview, showOverviewLink } from "./overview.js";

const PAGE_SIZE = 10;
const FIELD_NAMES = {
  title: "推進事項",
  description: "事業内容",
  achievement: "達成状況",
  departments: "担当部課所",
  pillar: "体系",
  carry_over: "次年度",
  grade: "評価",
};
const CHARTS_FAILED = "数値の推移を読み込めませんでした";
const numbers = new Intl.NumberFormat("ja-JP", { maximumFractionDigits: 2 });

const DOCUMENT_FIELD_NAMES = { TITLE: "表題", TEXT: "本文" };
const DOCUMENTS_SHOWN = 5;

// Documents archived without structure (no measures read from them) are searched too, on
// the first page of a search without a department (they have none), and listed apart.
const SEARCH = `query Search($query: String!, $filter: MeasureFilter, $first: Int, $after: String,
                             $documentFilter: DocumentSearchFilter, $withDocuments: Boolean!) {
  search(query: $query, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    facets { fiscalYears { value count } departments { value count } }
    edges {
      cursor
      node { id fiscalYear number title departments { name } }
      highlights { field fragments }
    }
  }
  documents: searchDocuments(query: $query, filter: $documentFilter, first: ${DOCUMENTS_SHOWN})
      @include(if: $withDocuments) {
    totalCount
    edges {
      node { id fiscalYear municipality title }
      highlights { field fragments }
    }
  }
}`;

const MEASURE = `query Measure($id: ID!) {
  node(id: $id) {
    ... on Measure {
      id fiscalYear number title description achievement municipality departmentsOthers
      carryOver { tag }
      pillar { number title }
      departments { name }
      document { title }
      history { id fiscalYear number title }
      indicators { label value unit approximate comparison text }
    }
  }
}`;

const SIMILAR = `query Similar($id: ID!) {
  node(id: $id) {
    ... on Measure { similar(first: 5) { score measure { id fiscalYear number title municipality } } }
  }
}`;
const SIMILAR_FAILED = "似ている施策を読み込めませんでした";

const CHOICES = "{ fiscalYears { year label } departments { name } }";

// A request that failed in a way the reader should see: `message` is the readable line, `code`
// the API's error code (extensions.code), if any.
class ApiError extends Error {
  constructor(message, code = null) {
    super(message);
    this.code = code;
  }
}

const $ = (id) => document.getElementById(id);
const yearLabels = new Map(); // 2020 → 令和2年度
let currentRender = 0; // answers to an older render are dropped
let lastSearch = "#/";
let shownMeasure = null; // the measure on screen, so Back can focus the result that opened it
let firstRender = true;

// `refused` opens the line shown when the API refuses the request ("検索できませんでした: …").
async function graphql(query, variables = {}, refused = "検索できませんでした") {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("サーバーに接続できません。時間をおいてもう一度お試しください。");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body && Array.isArray(body.errors) && body.errors.length > 0) {
    const error = body.errors[0];
    const code = error.extensions && error.extensions.code;
    if (code === "INDEX_UNAVAILABLE") {
      throw new ApiError(`検索索引がまだありません（管理者は plan-archive reindex を実行してください）: ${error.message}`, code);
    }
    throw new ApiError(`${refused}: ${error.message}`, code || null);
  }
  if (!response.ok || !body || !body.data) {
    throw new ApiError(`サーバーがエラーを返しました（HTTP ${response.status}）。時間をおいてもう一度お試しください。`);
  }
  return body.data;
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

// The API's fragments are HTML-escaped text with the matches in <mark>…</mark>: split on
// exactly those two tags, unescape the rest and add it as text, so nothing else is markup.
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
function unescapeHtml(text) {
  return text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity]);
}

function highlighted(fragment) {
  const out = document.createDocumentFragment();
  const parts = fragment.split(/(<mark>|<\/mark>)/);
  let inside = false;
  for (const part of parts) {
    if (part === "<mark>") inside = true;
    else if (part === "</mark>") inside = false;
    else if (part) out.append(inside ? element("mark", unescapeHtml(part)) : unescapeHtml(part));
  }
  return out;
}

function yearLabel(year) {
  return yearLabels.get(Number(year)) || `${year}年度`;
}

// ---- the URL ----------------------------------------------------------------------------

// A link whose measure id is not valid percent-encoding (#/measure/%E0%A4%A) is "broken".
function parseRoute() {
  const hash = location.hash.replace(/^#/, "");
  const measure = hash.match(/^\/measure\/(.+)$/);
  if (measure) {
    try {
      return { kind: "measure", id: decodeURIComponent(measure[1]) };
    } catch {
      return { kind: "broken" };
    }
  }
  if (hash === "/overview" || hash.startsWith("/overview?")) {
    return { kind: "overview", ...parseOverview(hash.slice("/overview".length).replace(/^\?/, "")) };
  }
  if (hash.startsWith("/search?")) {
    const params = new URLSearchParams(hash.slice("/search?".length));
    return {
      kind: "search",
      query: (params.get("q") || "").trim(), // only blanks: no search
      years: params
        .getAll("year")
        .filter((year) => /^\d+$/.test(year)) // "year=" is no year, not year 0
        .map(Number),
      department: params.get("dept") || "",
      trail: params.getAll("after"), // the cursors of the pages before this one
    };
  }
  return { kind: "home" };
}

function searchHash({ query, years, department, trail }) {
  const params = new URLSearchParams();
  params.set("q", query);
  for (const year of years) params.append("year", String(year));
  if (department) params.set("dept", department);
  for (const cursor of trail) params.append("after", cursor);
  return `#/search?${params}`;
}

function go(hash) {
  if (location.hash === hash) render(); // the same search again: no hashchange comes
  else location.hash = hash;
}

// ---- the form ---------------------------------------------------------------------------

function formState() {
  const years = [...document.querySelectorAll("#years input:checked")].map((box) => Number(box.value));
  return { query: $("query").value.trim(), years, department: $("department").value, trail: [] };
}

function fillForm(state) {
  $("query").value = state.query;
  for (const box of document.querySelectorAll("#years input")) {
    box.checked = state.years.includes(Number(box.value));
  }
  const select = $("department");
  if (state.department && ![...select.options].some((o) => o.value === state.department)) {
    select.append(element("option", state.department, { value: state.department }));
  }
  select.value = state.department;
}

async function loadChoices() {
  const data = await graphql(CHOICES, {}, "年度と担当部課所を読み込めませんでした");
  const years = $("years");
  $("years-empty").remove();
  for (const { year, label } of data.fiscalYears) {
    yearLabels.set(year, label);
    const box = element("input", null, { type: "checkbox", name: "year", value: String(year), id: `year-${year}` });
    const labelNode = element("label", null, { for: `year-${year}` });
    labelNode.append(box, ` ${label}`);
    years.append(labelNode);
  }
  if (data.fiscalYears.length === 0) years.append(element("p", "まだ報告書がありません。", { class: "help" }));
  const select = $("department");
  for (const { name } of data.departments) select.append(element("option", name, { value: name }));
}

// ---- views ------------------------------------------------------------------------------

function show(view) {
  $("results").hidden = view !== "results";
  $("measure").hidden = view !== "measure";
}

// One readable line; `link` ({ text, href }) adds a way out after it.
function showError(message, link = null) {
  const box = $("error");
  box.textContent = message;
  if (link) box.append(" ", element("a", link.text, { href: link.href }));
  box.hidden = false;
  $("status").textContent = "";
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function focusHeading(id) {
  if (firstRender) return; // a page just opened keeps the browser's own focus
  $(id).focus();
}

async function renderSearch(route, token, cameFrom) {
  fillForm(route);
  document.title = `「${route.query}」の検索結果 - 施策アーカイブ`;
  $("status").textContent = "検索しています…";
  const filter = {};
  if (route.years.length) filter.fiscalYears = route.years;
  if (route.department) filter.departments = [route.department];
  const variables = {
    query: route.query,
    filter: Object.keys(filter).length ? filter : null,
    first: PAGE_SIZE,
    after: route.trail.length ? route.trail[route.trail.length - 1] : null,
    documentFilter: route.years.length ? { fiscalYears: route.years } : null,
    withDocuments: route.trail.length === 0 && !route.department,
  };
  let data;
  try {
    data = await graphql(SEARCH, variables);
  } catch (error) {
    // A refused cursor: the results before it changed since the link was made
    // (CURSOR_EXPIRED), or the link was edited (BAD_USER_INPUT).
    const refused = error instanceof ApiError && ["CURSOR_EXPIRED", "BAD_USER_INPUT"].includes(error.code);
    if (!(refused && variables.after !== null)) throw error;
    if (token !== currentRender) return;
    show("none");
    showError("このページは開けません。検索結果が変わったため、検索し直す必要があります。", {
      text: "1ページ目から検索し直す",
      href: searchHash({ ...route, trail: [] }),
    });
    return;
  }
  if (token !== currentRender) return;
  const result = data.search;
  lastSearch = location.hash;
  showOverviewLink(location.hash);
  const first = route.trail.length * PAGE_SIZE + 1;
  const last = route.trail.length * PAGE_SIZE + result.edges.length;
  $("status").textContent =
    result.totalCount === 0
      ? `「${route.query}」に一致する施策はありません。`
      : `「${route.query}」の検索結果 ${result.totalCount}件（${first}〜${last}件目）`;

  renderFacets(route, result.facets);
  const hits = $("hits");
  hits.replaceChildren(...result.edges.map(hitItem));
  hits.setAttribute("start", String(first));
  renderDocuments(data.documents);

  const previous = $("previous");
  previous.hidden = route.trail.length === 0;
  previous.href = searchHash({ ...route, trail: route.trail.slice(0, -1) });
  const next = $("next");
  next.hidden = !result.pageInfo.hasNextPage;
  next.href = searchHash({ ...route, trail: [...route.trail, result.pageInfo.endCursor || ""] });
  const pages = Math.max(1, Math.ceil(result.totalCount / PAGE_SIZE));
  $("page-number").textContent = `${route.trail.length + 1} / ${pages} ページ`;
  show("results");
  // Back from a measure: the focus returns to the result that opened it.
  const opened = cameFrom && hits.querySelector(`a[href="#/measure/${CSS.escape(encodeURIComponent(cameFrom))}"]`);
  if (opened && !firstRender) opened.focus();
  else focusHeading("results-heading");
}

function hitItem(edge) {
  const measure = edge.node;
  const item = element("li", null, { class: "hit" });
  const heading = element("h3");
  heading.append(element("a", measure.title, { href: `#/measure/${encodeURIComponent(measure.id)}` }));
  item.append(heading);
  const departments = measure.departments.map((d) => d.name).join("、");
  item.append(element("p", `${yearLabel(measure.fiscalYear)}・No ${measure.number}・${departments}`, { class: "meta" }));
  for (const highlight of edge.highlights) {
    for (const fragment of highlight.fragments) {
      const line = element("p", null, { class: "fragment" });
      line.append(element("span", FIELD_NAMES[highlight.field] || highlight.field, { class: "field-name" }));
      line.append(highlighted(fragment));
      item.append(line);
    }
  }
  return item;
}

// Documents without structure that match: a separate list, below the measures.
function renderDocuments(documents) {
  const section = $("document-results");
  section.hidden = !documents || documents.totalCount === 0;
  if (section.hidden) return;
  const more = documents.totalCount > documents.edges.length ? `、うち${documents.edges.length}件を表示` : "";
  $("documents-count").textContent = `${documents.totalCount}件${more}`;
  $("document-hits").replaceChildren(...documents.edges.map(documentItem));
}

function documentItem(edge) {
  const found = edge.node;
  const item = element("li", null, { class: "hit document-hit" });
  item.append(element("h4", found.title));
  item.append(element("p", `${yearLabel(found.fiscalYear)}・${found.municipality}`, { class: "meta" }));
  for (const highlight of edge.highlights) {
    for (const fragment of highlight.fragments) {
      const line = element("p", null, { class: "fragment" });
      line.append(element("span", DOCUMENT_FIELD_NAMES[highlight.field] || highlight.field, { class: "field-name" }));
      line.append(highlighted(fragment));
      item.append(line);
    }
  }
  return item;
}

function renderFacets(route, facets) {
  const years = facets.fiscalYears.map(({ value, count }) => {
    const chosen = route.years.length === 1 && route.years[0] === Number(value);
    return facetItem(`${yearLabel(value)}（${count}件）`, chosen, () =>
      go(searchHash({ ...route, years: chosen ? [] : [Number(value)], trail: [] })),
    );
  });
  $("facet-years").replaceChildren(...years);
  const departments = facets.departments.map(({ value, count }) => {
    const chosen = route.department === value;
    return facetItem(`${value}（${count}件）`, chosen, () =>
      go(searchHash({ ...route, department: chosen ? "" : value, trail: [] })),
    );
  });
  $("facet-departments").replaceChildren(...departments);
}

function facetItem(text, chosen, onClick) {
  const button = element("button", text, { type: "button", "aria-pressed": String(chosen) });
  button.addEventListener("click", onClick);
  const item = element("li");
  item.append(button);
  return item;
}

async function renderMeasure(route, token) {
  $("status").textContent = "読み込んでいます…";
  const data = await graphql(MEASURE, { id: route.id }, "施策を表示できませんでした");
  if (token !== currentRender) return;
  const measure = data.node;
  if (!measure || !("history" in measure)) {
    show("none");
    showError("この施策は見つかりません。リンクが古いか、報告書が削除された可能性があります。");
    return;
  }
  const heading = `${yearLabel(measure.fiscalYear)} No ${measure.number} ${measure.title}`;
  document.title = `${heading} - 施策アーカイブ`;
  $("measure-heading").textContent = heading;
  $("back").href = lastSearch;
  $("back").textContent = lastSearch === "#/" ? "検索に戻る" : "検索結果に戻る";

  const departments = measure.departments.map((d) => d.name).join("、") + (measure.departmentsOthers ? " 外" : "");
  const fields = [
    ["年度", yearLabel(measure.fiscalYear)],
    ["番号", `No ${measure.number}`],
    ["自治体", measure.municipality],
    ["報告書", measure.document.title],
    ["体系", measure.pillar ? `${measure.pillar.number} ${measure.pillar.title}` : "—"],
    ["担当部課所", departments],
    ["事業内容", measure.description],
    ["達成状況", measure.achievement],
    ["次年度", measure.carryOver ? measure.carryOver.tag : "記載なし"],
  ];
  $("similar").replaceChildren();
  $("similar-note").hidden = true;
  $("no-similar").hidden = true;
  $("measure-fields").replaceChildren(...fields.flatMap(([name, value]) => [element("dt", name), element("dd", value)]));

  $("history").replaceChildren(
    ...measure.history.map((other) => {
      const text = `${yearLabel(other.fiscalYear)} No ${other.number} ${other.title}`;
      const item = element("li");
      if (other.id === measure.id) item.append(element("span", `${text}（この施策）`, { "aria-current": "page" }));
      else item.append(element("a", text, { href: `#/measure/${encodeURIComponent(other.id)}` }));
      return item;
    }),
  );

  const rows = measure.indicators.map((figure) => {
    const row = element("tr");
    row.append(
      element("td", figure.label || "—"),
      element("td", (figure.approximate ? "約 " : "") + numbers.format(figure.value) + (figure.comparison ? ` ${figure.comparison}` : "")),
      element("td", figure.unit || "（比率）"),
      element("td", figure.text),
    );
    return row;
  });
  $("indicators").tBodies[0].replaceChildren(...rows);
  $("indicators").hidden = rows.length === 0;
  $("no-indicators").hidden = rows.length > 0;

  $("charts").replaceChildren();
  $("charts-section").hidden = true;
  $("status").textContent = "";
  show("measure");
  shownMeasure = measure.id;
  focusHeading("measure-heading");
  // Similar measures are extra too: a failed request leaves a note in their section.
  try {
    await renderSimilar(measure, token);
  } catch (error) {
    if (token !== currentRender) return;
    const reason = error instanceof ApiError ? error.message : String(error);
    $("similar-note").textContent = reason.startsWith(SIMILAR_FAILED) ? reason : `${SIMILAR_FAILED}: ${reason}`;
    $("similar-note").hidden = false;
  }
  // The charts are extra: if their request fails the measure stays, with a note where they go.
  try {
    await renderCharts(measure, token);
  } catch (error) {
    if (token !== currentRender) return;
    const reason = error instanceof ApiError ? error.message : String(error);
    const note = reason.startsWith(CHARTS_FAILED) ? reason : `${CHARTS_FAILED}: ${reason}`;
    $("charts").replaceChildren(element("p", note, { class: "note" }));
    $("charts-section").hidden = false;
  }
}

// The measures of other municipalities or years most alike this one (Measure.similar), each
// linking to its page, with its municipality, year and how alike (0 to 1).
async function renderSimilar(measure, token) {
  const data = await graphql(SIMILAR, { id: measure.id }, SIMILAR_FAILED);
  if (token !== currentRender) return;
  const found = data.node ? data.node.similar : [];
  $("similar").replaceChildren(
    ...found.map(({ score, measure: other }) => {
      const item = element("li");
      const text = `${other.municipality} ${yearLabel(other.fiscalYear)} No ${other.number} ${other.title}`;
      item.append(
        element("a", text, { href: `#/measure/${encodeURIComponent(other.id)}` }),
        element("span", ` 類似度 ${score.toFixed(2)}`, { class: "meta" }),
      );
      return item;
    }),
  );
  $("no-similar").hidden = found.length > 0;
}

// The figures of this measure over the years (charts.js): a chart per labelled figure, a
// table for the rest.
async function renderCharts(measure, token) {
  const shown = await measureCharts(measure, graphql, CHARTS_FAILED);
  if (token !== currentRender || shown.length === 0) return;
  $("charts").replaceChildren(...shown);
  $("charts-section").hidden = false;
}

async function render() {
  const token = ++currentRender;
  const cameFrom = shownMeasure;
  shownMeasure = null;
  clearError();
  try {
    const route = parseRoute();
    if (route.kind !== "overview") hideOverview();
    if (route.kind === "overview") {
      show("none");
      const current = () => token === currentRender;
      await renderOverview(route, { graphql, current, focus: focusHeading });
    } else if (route.kind === "search" && route.query) await renderSearch(route, token, cameFrom);
    else if (route.kind === "measure") await renderMeasure(route, token);
    else if (route.kind === "broken") {
      show("none");
      $("status").textContent = "";
      document.title = "施策アーカイブ検索";
      showError("このリンクは壊れているため開けません（施策の ID を読み取れません）。検索からたどり直してください。");
    } else {
      show("none");
      $("status").textContent = "";
      document.title = "施策アーカイブ検索";
    }
  } catch (error) {
    if (token !== currentRender) return;
    show("none");
    showError(error instanceof ApiError ? error.message : `表示できませんでした: ${error}`);
  } finally {
    firstRender = false;
  }
}

async function start() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const state = formState();
    if (state.query) go(searchHash(state));
  });
  window.addEventListener("hashchange", () => render());
  try {
    await loadChoices();
  } catch (error) {
    showError(error instanceof ApiError ? error.message : `年度と担当部課所を読み込めませんでした: ${error}`);
    const empty = $("years-empty"); // gone if the failure came after the answer
    if (empty) empty.textContent = "年度を読み込めませんでした。";
  }
  if (!$("error").hidden) return;
  await render();
}

start();
