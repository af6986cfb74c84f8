// Hash routing (`#/inbox`, `#/chat/<id>`): the server serves one page at `/`, and a hash never
// reaches the server or its logs. Nothing secret ever goes in a route.

export interface Route {
  name: string;
  params: string[];
}

const listeners = new Set<(r: Route) => void>();

export function parseRoute(hash: string = location.hash): Route {
  const path = hash.startsWith("#/") ? hash.slice(2) : "";
  const parts = path.split("/").filter(Boolean).map((p) => decodeURIComponent(p));
  return { name: parts[0] ?? "", params: parts.slice(1) };
}

export function navigate(path: string, replace = false): void {
  const hash = `#/${path.replace(/^\/+/, "")}`;
  if (location.hash === hash) {
    for (const fn of listeners) fn(parseRoute());
    return;
  }
  if (replace) {
    history.replaceState(history.state, "", `${location.pathname}${location.search}${hash}`);
    for (const fn of listeners) fn(parseRoute());
  } else {
    location.hash = hash;
  }
}

export function onRoute(fn: (r: Route) => void): void {
  listeners.add(fn);
}

window.addEventListener("hashchange", () => {
  if (!location.hash.startsWith("#/") && location.hash !== "") return;
  for (const fn of listeners) fn(parseRoute());
});
