// The GraphiQL page's own script (web/graphiql.py): GraphiQL with the explorer plugin, the
// query and variables kept in the address (?q=…&variables=…), the request headers (e.g.
// Authorization: Bearer <token>) in the Headers tab.
"use strict";

const EXAMPLE_QUERY = `# 全国校外教育培训监管与服务综合平台 GraphQL
#
# 不登录即可查询公开信息，例如：
{ region(code: "440106") { name level parent { name } } }
#
# 登录后把 token 填入下方 Headers：{"Authorization": "Bearer <token>"}
# mutation { login(username: "edu-440106", password: "Demo#2026") { token } }
#
# 运行：Ctrl-Enter（或点击运行按钮）；补全：Ctrl-Space
`;

const parameters = {};
for (const entry of window.location.search.slice(1).split("&")) {
  const eq = entry.indexOf("=");
  if (eq >= 0) {
    parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(entry.slice(eq + 1));
  }
}

function updateURL(data) {
  Object.assign(parameters, data);
  const search = Object.keys(parameters)
    .filter((key) => Boolean(parameters[key]))
    .map((key) => encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]))
    .join("&");
  history.replaceState(null, null, "?" + search);
}

const fetcher = GraphiQL.createFetcher({ url: window.location.href.split("?")[0] });

function Page() {
  const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
  const [variables, setVariables] = React.useState(parameters.variables);
  const explorer = GraphiQLPluginExplorer.explorerPlugin();
  return React.createElement(GraphiQL, {
    fetcher,
    plugins: [explorer],
    query,
    variables,
    defaultEditorToolsVisibility: true,
    onEditQuery: (value) => { setQuery(value); updateURL({ q: value }); },
    onEditVariables: (value) => { setVariables(value); updateURL({ variables: value }); },
    inputValueDeprecation: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  });
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
