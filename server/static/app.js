// The search page: a form, results with facets and pages, and a measure page with its
// history and charts. It talks to /graphql, and to the exports (/export.csv, .jsonl, .xlsx)
// with the same parameters as its own URL. The state lives in the URL's hash
// (#/search?q=…&fiscalYear=…&department=…&municipality=…&order=…&group=measure&after=…,
// #/measure/<id>), so the back button works and a search or a measure can be bookmarked; the
// old names year= and dept= are still read. Text from the API only ever becomes text nodes
// (never markup); the one exception, <mark> in highlights, is rebuilt as elements.
// The overview (#/overview?…) is overview.js's, the charts charts.js's.

import { eraLabel, measureCharts } from "./charts.js";
import { hideOverview, parseOverview, renderOverview, showOverviewLink } from "./overview.js";

const PAGE_SIZE = 10;
// Grouped by measure, a page holds more hits, so more of a measure's years fall on one page.
const GROUP_PAGE_SIZE = 50;
const FIELD_NAMES = {
  title: "推進事項",
  description: "事業内容",
  achievement: "達成状況",
  departments: "担当部課所",
  pillar: "体系",
  carry_over: "次年度",
  grade: "評価",
  number: "番号",
};
const CHARTS_FAILED = "数値の推移を読み込めませんでした";
const numbers = new Intl.NumberFormat("ja-JP", { maximumFractionDigits: 2 });

const DOCUMENT_FIELD_NAMES = { TITLE: "表題", TEXT: "本文" };
const DOCUMENTS_SHOWN = 5;

// The page's `order` parameter (shared with the exports) and the search's orderBy.
const ORDERS = { relevance: "RELEVANCE", fiscalYear: "FISCAL_YEAR_ASC", "-fiscalYear": "FISCAL_YEAR_DESC" };
const EXPORTS = ["csv", "jsonl", "xlsx"];

// Documents archived without structure (no measures read from them) are searched too, on
// the first page of a search without a department or municipality (they have none), and
// listed apart. With years chosen, a second search without them gives the year facet its
// counts, so every year stays there to be added.
const SEARCH = `query Search($query: String!, $filter: MeasureFilter, $first: Int, $after: String,
                             $orderBy: SearchOrder!, $yearless: MeasureFilter, $withYearless: Boolean!,
                             $withHistory: Boolean!,
                             $documentFilter: DocumentSearchFilter, $withDocuments: Boolean!) {
  search(query: $query, filter: $filter, first: $first, after: $after, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    facets { fiscalYears { value count } departments { value count } }
    edges {
      cursor
      matchedBy
      node {
        id fiscalYear number title departments { name } departmentsOthers
        history @include(if: $withHistory) { id fiscalYear number title }
      }
      highlights { field fragments }
    }
  }
  yearless: search(query: $query, filter: $yearless, first: 1) @include(if: $withYearless) {
    facets { fiscalYears { value count } }
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

// Wide screens show the facets beside the results; a phone folds them away, results first.
const WIDE = window.matchMedia("(min-width: 40rem)");

// The conditions (years, department, order, grouping) apply when the form is submitted, never
// on change (a select that searched on every arrow key would break keyboard use). Until then
// this notice stands beside the 検索 button, so the results are never taken for the form's.
const PENDING = "条件を変更しました。検索を押すと反映されます。";
const ASK_FOR_QUERY = "検索語を入力してください。";

// A request that failed in a way the reader should see: `message` is the readable line, `code`
// the API's error code (extensions.code), if any.
class ApiError extends Error {
  constructor(message, code = null) {
    super(message);
    this.code = code;
  }
}

// Every message on the page is Japanese. The page asks the API for Japanese
// (Accept-Language: ja); a refusal still in English is put in Japanese here: the known
// one-line reasons of the search syntax and the exports by their wording, anything else by
// its error code (extensions.code), so nothing English reaches the reader.
const HAS_JAPANESE = /[\u3040-\u30ff\u3400-\u9fff]/;
const ENGLISH_WORDS = /[A-Za-z]+\s+[A-Za-z]+\s+[A-Za-z]+/; // an English sentence quoting 令和x is English
const KNOWN_REASONS = [
  [/a search is limited to (\d+) characters/, (m) => `検索語は${m[1]}文字までです。短くしてください。`],
  [/a quotation mark \("\) is not closed/, () => '引用符（"）が閉じていません。語句は "…" のように前後を囲んでください。'],
  [/^(OR|AND) needs a term on each side/, (m) => `${m[1]} の前後には語が必要です（例: 防災 ${m[1]} 避難所）。`],
  [/OR cannot join an excluded term/, () => "OR で除外する語（-…）はつなげません。"],
  [/the search has no terms/, () => "検索する語がありません。"],
  [/at least one term that is not excluded/, () => "除外（-…）ではない語を一つ以上入れてください。"],
  [/^(\w+):? needs a value/, (m) => `「${m[1]}:」の直後に値を書いてください（例: department:秘書課）。`],
  [/^fiscalYear:(.*) runs backwards/, (m) => `年度の範囲「${m[1]}」が逆順です。fiscalYear:2019..2021 のように古い年度から書いてください。`],
  [/^fiscalYear:(.*) is not a year/, (m) => `「${m[1]}」は年度として読めません。fiscalYear:2020 や fiscalYear:2019..2021 のように書いてください。`],
  [/holds (\d+) measures, more than this server's (\d+)/, (m) => `この検索は${m[1]}件あり、このサーバーが一度に書き出せる${m[2]}件を超えています。年度や担当部課所で絞り込んでください。`],
  [/exports already/, () => "サーバーがほかの書き出しを処理中です。しばらくしてからもう一度お試しください。"],
  [/must be a Western year|unknown parameter|give \w+ once|must not contain NUL|q is empty|order must be/, () => "書き出しの条件を読み取れませんでした。検索し直してから書き出してください。"],
];
const CODE_MESSAGES = {
  INDEX_UNAVAILABLE: "検索索引がまだありません（管理者は plan-archive reindex を実行してください）。",
  SEARCH_TIMEOUT: "検索が時間内に終わりませんでした。語を足すか、年度などで絞り込んでください。",
  TIMEOUT: "時間内に処理できませんでした。時間をおいてもう一度お試しください。",
  BAD_USER_INPUT: "検索条件を読み取れませんでした。検索語を見直してください。",
  CURSOR_EXPIRED: "検索結果が変わったため、このページは開けません。",
  NOT_FOUND: "見つかりません。",
  INTERNAL: "サーバー内部でエラーが起きました。時間をおいてもう一度お試しください。",
};
const UNKNOWN_REFUSAL = "サーバーが要求を受け付けませんでした。";

function inJapanese(message, code = null) {
  const text = (message || "").trim();
  if (HAS_JAPANESE.test(text) && !ENGLISH_WORDS.test(text)) return text;
  for (const [pattern, say] of KNOWN_REASONS) {
    const found = pattern.exec(text);
    if (found) return say(found);
  }
  return CODE_MESSAGES[code] || UNKNOWN_REFUSAL;
}

const $ = (id) => document.getElementById(id);
const yearLabels = new Map(); // 2020 → 令和2年度
let currentRender = 0; // answers to an older render are dropped
let lastSearch = "#/";
let shownMeasure = null; // the measure on screen, so Back can focus the result that opened it
let firstRender = true;
let askForQuery = false; // the form was sent with only blanks: home says what is missing

// `refused` opens the line shown when the API refuses the request ("検索できませんでした: …").
async function graphql(query, variables = {}, refused = "検索できませんでした") {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "accept-language": "ja" },
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
    const code = (error.extensions && error.extensions.code) || null;
    if (code === "INDEX_UNAVAILABLE") throw new ApiError(CODE_MESSAGES.INDEX_UNAVAILABLE, code);
    throw new ApiError(`${refused}: ${inJapanese(error.message, code)}`, code);
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

// The API's label of an archived year, else the same era form (a year in a link that no
// report has: 1999 → 平成11年度).
function yearLabel(year) {
  return yearLabels.get(Number(year)) || eraLabel(Number(year));
}

// ---- the URL ----------------------------------------------------------------------------

const unique = (values) => [...new Set(values)];

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
    const order = params.get("order");
    return {
      kind: "search",
      query: (params.get("q") || "").trim(), // only blanks: no search
      years: unique([...params.getAll("fiscalYear"), ...params.getAll("year")]) // year=: old links
        .filter((year) => /^\d+$/.test(year)) // "fiscalYear=" is no year, not year 0
        .map(Number)
        .sort((a, b) => a - b),
      departments: unique([...params.getAll("department"), ...params.getAll("dept")].filter(Boolean)),
      municipalities: unique(params.getAll("municipality").filter(Boolean)),
      order: Object.hasOwn(ORDERS, order || "") ? order : "relevance",
      group: params.get("group") === "measure",
      trail: params.getAll("after"), // the cursors of the pages before this one
    };
  }
  if (["", "/", "/search"].includes(hash)) return { kind: "home" };
  return { kind: "unknown" };
}

// The parameters shared with the exports: q, fiscalYear, department, municipality, order.
function sharedParams({ query, years, departments, municipalities, order }) {
  const params = new URLSearchParams();
  params.set("q", query);
  for (const year of years) params.append("fiscalYear", String(year));
  for (const name of departments) params.append("department", name);
  for (const name of municipalities) params.append("municipality", name);
  if (order !== "relevance") params.set("order", order);
  return params;
}

function searchHash(route) {
  const params = sharedParams(route);
  if (route.group) params.set("group", "measure");
  for (const cursor of route.trail) params.append("after", cursor);
  return `#/search?${params}`;
}

// The CSV has the page's Japanese column names (header=ja); the workbook always has them, and
// JSON Lines keys are English by design.
function exportHref(route, format) {
  const params = sharedParams(route);
  if (format === "csv") params.set("header", "ja");
  return `/export.${format}?${params}`;
}

function withoutFilters(route) {
  return { ...route, years: [], departments: [], municipalities: [], trail: [] };
}

function go(hash) {
  if (location.hash === hash) render(); // the same search again: no hashchange comes
  else location.hash = hash;
}

// ---- the form ---------------------------------------------------------------------------

const SEVERAL = "*"; // the department choice that stands for several chosen by facets
const HOME = { query: "", years: [], departments: [], municipalities: [], order: "relevance", group: false, trail: [] };
// The search in the URL, or none: a new search from the form keeps its municipalities (no
// control of the form shows them; their chips do) and its several departments.
function currentSearch() {
  const route = parseRoute();
  return route.kind === "search" ? route : HOME;
}

function formState() {
  const years = [...document.querySelectorAll("#years input:checked")].map((box) => Number(box.value));
  const chosen = $("department").value;
  return {
    query: $("query").value.trim(),
    years,
    departments: chosen === SEVERAL ? currentSearch().departments : chosen ? [chosen] : [],
    municipalities: currentSearch().municipalities,
    order: $("order").value,
    group: $("group").checked,
    trail: [],
  };
}

function fillForm(state) {
  $("query").value = state.query;
  for (const box of document.querySelectorAll("#years input")) {
    box.checked = state.years.includes(Number(box.value));
  }
  const select = $("department");
  const several = [...select.options].find((o) => o.value === SEVERAL);
  if (several) several.remove();
  const [only] = state.departments;
  if (state.departments.length > 1) {
    select.append(element("option", `選択中の${state.departments.length}件（${state.departments.join("、")}）`, { value: SEVERAL }));
    select.value = SEVERAL;
  } else {
    if (only && ![...select.options].some((o) => o.value === only)) {
      select.append(element("option", only, { value: only }));
    }
    select.value = only || "";
  }
  $("order").value = state.order;
  $("group").checked = state.group;
  $("pending").textContent = "";
}

// Whether the conditions in the form differ from the search on screen.
function conditionsChanged() {
  const route = parseRoute();
  if (!(route.kind === "search" && route.query)) return false;
  const form = formState();
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  return !(
    same(form.years, route.years) &&
    same(form.departments, route.departments) &&
    form.order === route.order &&
    form.group === route.group
  );
}

function notePending() {
  const text = conditionsChanged() ? PENDING : "";
  if ($("pending").textContent !== text) $("pending").textContent = text;
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

// ---- the active filters -----------------------------------------------------------------

// Every filter of a search, each with the search without it.
function activeFilters(route) {
  const without = (changes) => searchHash({ ...route, ...changes, trail: [] });
  return [
    ...route.years.map((year) => ({
      kind: "年度",
      value: yearLabel(year),
      href: without({ years: route.years.filter((y) => y !== year) }),
    })),
    ...route.departments.map((name) => ({
      kind: "担当部課所",
      value: name,
      href: without({ departments: route.departments.filter((d) => d !== name) }),
    })),
    ...route.municipalities.map((name) => ({
      kind: "自治体",
      value: name,
      href: without({ municipalities: route.municipalities.filter((m) => m !== name) }),
    })),
  ];
}

// The filters on as chips, each a button that removes it, and one that removes them all;
// hidden when none is on (or off a search).
function renderFilters(route) {
  const filters = route ? activeFilters(route) : [];
  $("active-filters").hidden = filters.length === 0;
  $("filter-chips").replaceChildren(
    ...filters.map(({ kind, value, href }) => {
      // Its name holds its visible text (for voice control) and says what pressing does.
      const button = element("button", null, { type: "button", class: "chip" });
      button.append(
        element("span", `${kind}: `, { class: "chip-kind" }),
        value,
        element("span", "の絞り込みを外す", { class: "visually-hidden" }),
        element("span", " ×", { "aria-hidden": "true" }),
      );
      button.addEventListener("click", () => go(href));
      const item = element("li");
      item.append(button);
      return item;
    }),
  );
}

// ---- a search ---------------------------------------------------------------------------

function measureFilter({ years, departments, municipalities }) {
  const filter = {};
  if (years.length) filter.fiscalYears = years;
  if (departments.length) filter.departments = departments;
  if (municipalities.length) filter.municipalities = municipalities;
  return Object.keys(filter).length ? filter : null;
}

async function renderSearch(route, token, cameFrom) {
  fillForm(route);
  renderFilters(route);
  document.title = `「${route.query}」の検索結果 - 施策アーカイブ`;
  $("status").textContent = "検索しています…";
  const size = route.group ? GROUP_PAGE_SIZE : PAGE_SIZE;
  const variables = {
    query: route.query,
    filter: measureFilter(route),
    first: size,
    after: route.trail.length ? route.trail[route.trail.length - 1] : null,
    orderBy: ORDERS[route.order],
    yearless: measureFilter({ ...route, years: [] }),
    withYearless: route.years.length > 0,
    withHistory: route.group,
    documentFilter: route.years.length ? { fiscalYears: route.years } : null,
    withDocuments: route.trail.length === 0 && !route.departments.length && !route.municipalities.length,
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
  showOverviewLink(location.hash, result.totalCount > 0); // no overview of nothing
  const first = route.trail.length * size + 1;
  const last = route.trail.length * size + result.edges.length;
  $("status").textContent =
    result.totalCount === 0
      ? `「${route.query}」に一致する施策はありません。`
      : `「${route.query}」の検索結果 ${result.totalCount}件（${first}〜${last}件目）`;

  renderNoResults(route, result.totalCount === 0);
  renderFacets(route, result.facets, data.yearless ? data.yearless.facets : null);
  for (const format of EXPORTS) $(`export-${format}`).href = exportHref(route, format);
  $("export-note").hidden = true;
  $("exports").hidden = result.totalCount === 0;
  const hits = $("hits");
  const terms = queryTerms(route.query);
  if (route.group) {
    const groups = groupByMeasure(result.edges);
    hits.replaceChildren(...groups.map((group) => groupItem(group, terms)));
    hits.removeAttribute("start");
    $("group-note").textContent =
      `${first}〜${last}件目を、年度をまたいで同じ施策ごとに${groups.length}件にまとめました` +
      `（同じ施策は各施策の「各年度の同じ施策」のつながりで決め、このページの${size}件の中でまとめます）。`;
  } else {
    hits.replaceChildren(...result.edges.map((edge) => hitItem(edge, terms)));
    hits.setAttribute("start", String(first));
  }
  $("group-note").hidden = !route.group || result.edges.length === 0;
  renderDocuments(data.documents);

  const previous = $("previous");
  previous.hidden = route.trail.length === 0;
  previous.href = searchHash({ ...route, trail: route.trail.slice(0, -1) });
  const next = $("next");
  next.hidden = !result.pageInfo.hasNextPage;
  next.href = searchHash({ ...route, trail: [...route.trail, result.pageInfo.endCursor || ""] });
  const pages = Math.max(1, Math.ceil(result.totalCount / size));
  $("page-number").textContent = `${route.trail.length + 1} / ${pages} ページ`;
  $("pager").hidden = previous.hidden && next.hidden; // one page: no pager
  // On a phone the facets fold away again once chosen, so the results come first.
  if (!WIDE.matches) $("facets-box").open = false;
  show("results");
  // Back from a measure: the focus returns to the result that opened it.
  const opened = cameFrom && hits.querySelector(`a[href="#/measure/${CSS.escape(encodeURIComponent(cameFrom))}"]`);
  if (opened && !firstRender) opened.focus();
  else focusHeading("results-heading");
}

// No hits: say which filters were on, offer the search without each (and without all), and
// keep the syntax tips in view.
function renderNoResults(route, none) {
  $("no-results").hidden = !none;
  if (!none) return;
  const filters = activeFilters(route);
  $("no-results-text").textContent = `「${route.query}」に一致する施策はありません。`;
  const named = $("no-results-filters");
  named.hidden = filters.length === 0;
  named.textContent = `絞り込み（${filters.map((f) => `${f.kind}: ${f.value}`).join("、")}）をかけて検索しました。外すと見つかるかもしれません。`;
  const actions = filters.map(({ kind, value, href }) => {
    const item = element("li");
    item.append(element("a", `${kind}「${value}」を外して検索する`, { href }));
    return item;
  });
  if (filters.length > 1) {
    const item = element("li");
    item.append(element("a", "すべての絞り込みを外して検索する", { href: searchHash(withoutFilters(route)) }));
    actions.push(item);
  }
  $("no-results-actions").replaceChildren(...actions);
}

function hitItem(edge, terms) {
  const measure = edge.node;
  const item = element("li", null, { class: "hit" });
  const heading = element("h3");
  heading.append(element("a", measure.title, { href: `#/measure/${encodeURIComponent(measure.id)}` }));
  item.append(heading);
  item.append(element("p", `${yearLabel(measure.fiscalYear)}・No ${measure.number}・${departmentsText(measure)}`, { class: "meta" }));
  item.append(...excerpts(edge, terms));
  return item;
}

function departmentsText(measure) {
  return measure.departments.map((d) => d.name).join("、") + (measure.departmentsOthers ? " 外" : "");
}

// The highlighted fragments of a hit; a hit with none (it matched by its year, or by a field
// such as department:) gets a line saying why it is there instead.
function excerpts(edge, terms) {
  const lines = [];
  for (const highlight of edge.highlights) {
    for (const fragment of highlight.fragments) {
      const line = element("p", null, { class: "fragment" });
      line.append(element("span", FIELD_NAMES[highlight.field] || highlight.field, { class: "field-name" }));
      line.append(highlighted(fragment));
      lines.push(line);
    }
  }
  if (lines.length > 0) {
    if (edge.matchedBy === "WORDS") lines.push(element("p", "語を分けて一致（語句そのままの一致ではありません）", { class: "reason" }));
    return lines;
  }
  return matchReasons(terms, edge.node).map((reason) => {
    const line = element("p", null, { class: "fragment reason" });
    line.append(element("span", "一致の理由", { class: "field-name" }), reason);
    return line;
  });
}

// The terms of a query, as index/query.py reads them (the excluded ones left out).
function queryTerms(query) {
  const terms = [];
  for (const [, negate, field, quoted, bare] of query.matchAll(/(-?)(?:(\w+):)?(?:"([^"]*)"|(\S+))/g)) {
    if (negate || bare === "OR" || bare === "AND") continue;
    terms.push({ field: field ? field.toLowerCase() : null, value: quoted ?? bare ?? "", quoted: quoted !== undefined });
  }
  return terms;
}

// 令和2年度, R2, 平成30年度, H30 → the Western year (archive/eras.py's forms), else null.
function eraYear(text) {
  const value = text.normalize("NFKC").trim();
  const era = value.match(/^(令和|平成)\s*(元|\d{1,2})\s*年度?$/) || value.toUpperCase().match(/^([RH])\s*(\d{1,2})$/);
  if (!era) return null;
  const number = era[2] === "元" ? 1 : Number(era[2]);
  if (number < 1) return null;
  return (era[1] === "令和" || era[1] === "R" ? 2018 : 1988) + number;
}

const FIELD_REASONS = {
  department: (value) => `担当部課所が「${value}」の施策です。`,
  municipality: (value) => `自治体が「${value}」の施策です。`,
  status: (value) => `次年度の扱いが「${value}」の施策です。`,
  tag: (value) => `「tag:${value}」の条件に当たる施策です。`,
  grade: (value) => `「grade:${value}」の条件に当たる施策です。`,
};

function matchReasons(terms, measure) {
  const reasons = [];
  for (const { field, value, quoted } of terms) {
    if (field === "fiscalyear" || field === "year") {
      reasons.push(`年度の条件「${field === "year" ? "year" : "fiscalYear"}:${value}」に当たる${yearLabel(measure.fiscalYear)}の施策です。`);
    } else if (field && FIELD_REASONS[field]) {
      reasons.push(FIELD_REASONS[field](value));
    } else if (!field && !quoted && eraYear(value) === measure.fiscalYear) {
      reasons.push(`「${value}」は${yearLabel(measure.fiscalYear)}の施策すべてに一致します（本文にこの語はありません）。`);
    }
  }
  if (reasons.length === 0) reasons.push("検索語は、抜粋を表示しない項目で一致しました。");
  return reasons;
}

// "Group by measure across years": the hits of this page whose histories meet (one is in
// the other's Measure.history, directly or through another hit) form one entry, headed by
// the first of them in the page's order, with every year of their histories.
function groupByMeasure(edges) {
  const groupOf = new Map(); // measure id → its group
  const groups = [];
  for (const edge of edges) {
    const members = edge.node.history && edge.node.history.length ? edge.node.history : [edge.node];
    const ids = unique([edge.node.id, ...members.map((m) => m.id)]);
    const met = unique(ids.map((id) => groupOf.get(id)).filter(Boolean));
    const group = met[0] || { edges: [], years: new Map() };
    if (!met[0]) groups.push(group);
    for (const other of met.slice(1)) {
      group.edges.push(...other.edges);
      for (const [id, member] of other.years) group.years.set(id, member);
      for (const [id, owner] of groupOf) if (owner === other) groupOf.set(id, group);
      groups.splice(groups.indexOf(other), 1);
    }
    group.edges.push(edge);
    for (const member of members) group.years.set(member.id, member);
    for (const id of ids) groupOf.set(id, group);
  }
  for (const group of groups) group.edges.sort((a, b) => edges.indexOf(a) - edges.indexOf(b));
  return groups;
}

function groupItem(group, terms) {
  const [head] = group.edges;
  const item = hitItem(head, terms);
  item.classList.add("group");
  const found = new Set(group.edges.map((edge) => edge.node.id));
  const members = [...group.years.values()].sort((a, b) => a.fiscalYear - b.fiscalYear || a.number.localeCompare(b.number));
  const line = element("p", null, { class: "group-years" });
  line.append(element("span", `各年度（うち一致 ${found.size}件）`, { class: "field-name" }));
  members.forEach((member, index) => {
    if (index > 0) line.append("、");
    const text = `${yearLabel(member.fiscalYear)} No ${member.number}`;
    const link = element("a", found.has(member.id) ? `${text}（一致）` : text, {
      href: `#/measure/${encodeURIComponent(member.id)}`,
      title: member.title,
    });
    if (found.has(member.id)) link.classList.add("matched");
    line.append(link);
  });
  item.querySelector(".meta").after(line);
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

// The year facet counts the search without its years (`yearless`), so every year stays to be
// added or removed, several at once; a department facet adds or removes that department. A
// chosen value the search no longer finds stays, at 0, so it can be removed here too. An
// empty facet hides with its heading.
function renderFacets(route, facets, yearless) {
  const toggle = (list, value) => (list.includes(value) ? list.filter((v) => v !== value) : [...list, value]);
  const yearCounts = new Map((yearless || facets).fiscalYears.map(({ value, count }) => [Number(value), count]));
  for (const year of route.years) if (!yearCounts.has(year)) yearCounts.set(year, 0);
  const years = [...yearCounts].sort(([a], [b]) => a - b).map(([year, count]) =>
    facetItem(`${yearLabel(year)}（${count}件）`, route.years.includes(year), () =>
      go(searchHash({ ...route, years: toggle(route.years, year).sort((a, b) => a - b), trail: [] })),
    ),
  );
  const departmentCounts = new Map(facets.departments.map(({ value, count }) => [value, count]));
  for (const name of route.departments) if (!departmentCounts.has(name)) departmentCounts.set(name, 0);
  const departments = [...departmentCounts].map(([name, count]) =>
    facetItem(`${name}（${count}件）`, route.departments.includes(name), () =>
      go(searchHash({ ...route, departments: toggle(route.departments, name), trail: [] })),
    ),
  );
  $("facet-years").replaceChildren(...years);
  $("facet-departments").replaceChildren(...departments);
  $("facet-years").hidden = $("facet-years-heading").hidden = years.length === 0;
  $("facet-departments").hidden = $("facet-departments-heading").hidden = departments.length === 0;
  $("facets-box").hidden = years.length === 0 && departments.length === 0;
}

function facetItem(text, chosen, onClick) {
  const button = element("button", text, { type: "button", "aria-pressed": String(chosen) });
  button.addEventListener("click", onClick);
  const item = element("li");
  item.append(button);
  return item;
}

// ---- exports ----------------------------------------------------------------------------

// An export link downloads exactly the search on screen. It is checked first with a HEAD
// request (the export's search and count, no rows), so a refusal is said here, in Japanese,
// rather than as a plain-text English tab.
async function startExport(event) {
  event.preventDefault();
  const link = event.currentTarget;
  const href = link.href;
  const note = $("export-note");
  note.hidden = true;
  let head;
  try {
    head = await fetch(href, { method: "HEAD", headers: { "accept-language": "ja" } });
  } catch {
    showExportNote(`${link.dataset.format}で書き出せませんでした: サーバーに接続できません。`);
    return;
  }
  if (head.ok) {
    await head.text(); // done with the check before the download starts
    location.assign(href); // an attachment: the page stays
    return;
  }
  showExportNote(`${link.dataset.format}で書き出せません: ${await exportRefusal(href, head.status)}`);
}

async function exportRefusal(href, status) {
  if (status === 404) return "このサーバーはこの形式の書き出しにまだ対応していません。";
  if (status === 503) return "サーバーが混み合っているか、検索索引の準備中です。しばらくしてからもう一度お試しください。";
  if (status !== 400) return `サーバーがエラーを返しました（HTTP ${status}）。`;
  // A HEAD answer has no body: the one-line reason comes from the same request as a GET,
  // which the export refuses before it writes any row.
  let reason = "";
  try {
    const response = await fetch(href, { headers: { "accept-language": "ja" } });
    if (response.ok) await response.body.cancel();
    else reason = await response.text();
  } catch {
    reason = "";
  }
  return inJapanese(reason.split("\n")[0], "BAD_USER_INPUT");
}

function showExportNote(message) {
  const note = $("export-note");
  note.textContent = message;
  note.hidden = false;
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
    if (!(route.kind === "search" && route.query)) renderFilters(null);
    if (route.kind === "overview") {
      // The form says what the overview counts: its query and filters (none for the whole
      // archive), not the search shown before it.
      fillForm({ query: route.query, years: route.years, departments: route.departments, order: "relevance", group: false });
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
    } else if (route.kind === "unknown") {
      show("none");
      document.title = "ページが見つかりません - 施策アーカイブ";
      showError("このアドレスのページはありません。", { text: "検索のはじめに戻る", href: "#/" });
    } else {
      // Home (the site name's link) is a fresh start: no query, no filter left on. A search
      // of only blanks comes here too, so no older result or error stays under an empty box.
      // The first render finds the form as the page made it, but for what the visitor typed
      // while the choices loaded: that stays, or their Enter would search for nothing.
      if (!firstRender) fillForm(HOME);
      show("none");
      $("status").textContent = askForQuery ? ASK_FOR_QUERY : "";
      if (askForQuery) $("query").focus();
      askForQuery = false;
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
    else {
      askForQuery = true;
      go("#/");
    }
  });
  $("search-form").addEventListener("change", notePending);
  window.addEventListener("hashchange", () => render());
  // Home clears the form even when the URL is home already (no hashchange then).
  document.querySelector("header.site a").addEventListener("click", () => {
    if (location.hash === "#/") render();
  });
  $("clear-filters").addEventListener("click", () => go(searchHash(withoutFilters(currentSearch()))));
  for (const format of EXPORTS) $(`export-${format}`).addEventListener("click", startExport);
  // Wide screens show the conditions and the facets; a phone folds them away, so the
  // results come first.
  $("options").open = WIDE.matches;
  $("facets-box").open = WIDE.matches;
  WIDE.addEventListener("change", () => {
    $("facets-box").open = WIDE.matches; // its summary shows only on narrow screens
  });
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
