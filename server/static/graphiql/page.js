// GraphiQL on plan-archive's own /graphql, from files this server serves itself (no CDN):
// the query (q) and its variables are kept in the page's URL, so a link shares them.
"use strict";

const parameters = new URLSearchParams(window.location.search);

function remember(name, value) {
  if (value) {
    parameters.set(name, value);
  } else {
    parameters.delete(name);
  }
  const search = parameters.toString();
  history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
}

const EXAMPLE = `# plan-archive's GraphQL API: Ctrl-Enter runs the query, Ctrl-Space completes.
{
  fiscalYears { year measureCount }
  measures(first: 5) {
    totalCount
    edges { node { fiscalYear number title departments { name } } }
  }
}
`;

const fetcher = GraphiQL.createFetcher({ url: `${window.location.origin}/graphql` });
const explorer = GraphiQLPluginExplorer.explorerPlugin();

function Page() {
  const [query, setQuery] = React.useState(parameters.get("q") || EXAMPLE);
  return React.createElement(GraphiQL, {
    fetcher,
    query,
    variables: parameters.get("variables") || undefined,
    plugins: [explorer],
    defaultEditorToolsVisibility: true,
    onEditQuery(value) {
      setQuery(value);
      remember("q", value);
    },
    onEditVariables(value) {
      remember("variables", value);
    },
  });
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
