// The one fetch wrapper behind every generated API function (web/src/api/generated.ts).
//
// Why hand-written: the generated functions stay trivial (method, URL, body), while everything
// that needs judgement lives here once: the bearer token (kept in memory / sessionStorage by the
// session module and never put in a URL), one transparent refresh-and-retry on 401, and turning
// RFC 9457 problem+json answers into typed `ApiError`s the UI can branch on by `code`.

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code: string;
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.name = "ApiError";
    this.status = problem.status;
    this.code = problem.code;
    this.problem = problem;
  }
}

export interface RequestOptions {
  signal?: AbortSignal | undefined;
  /** Send no bearer token even when signed in (public reads). */
  anonymous?: boolean | undefined;
  /** Use this bearer token instead of the session's (e.g. to log out a session already forgotten). */
  token?: string | undefined;
  /** Set on the retry after a refresh so it cannot loop; also disables refreshing. */
  retried?: boolean | undefined;
}

interface RequestInit2 extends RequestOptions {
  json?: unknown;
  form?: FormData | undefined;
  query?: Record<string, string | number | boolean | null | undefined> | undefined;
  responseType?: "json" | "text" | undefined;
}

export interface ClientConfig {
  baseUrl: string;
  /** The current access token, or null when signed out. */
  accessToken: () => string | null;
  /** Called once on a 401 to obtain a fresh access token; resolves false when it could not. */
  refresh: () => Promise<boolean>;
}

const config: ClientConfig = {
  baseUrl: "",
  accessToken: () => null,
  refresh: async () => false,
};

export function configureClient(next: Partial<ClientConfig>): void {
  Object.assign(config, next);
}

function buildUrl(path: string, query?: RequestInit2["query"]): string {
  let url = config.baseUrl + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  return url;
}

async function toProblem(response: Response): Promise<Problem> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body && typeof body === "object" && "status" in body) {
    const p = body as Problem;
    return { ...p, code: typeof p.code === "string" ? p.code : `http_${response.status}` };
  }
  return { status: response.status, title: response.statusText, code: `http_${response.status}` };
}

export async function request<T>(method: string, path: string, init: RequestInit2 = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json, application/problem+json, text/plain" };
  let body: BodyInit | null = null;
  if (init.form) {
    body = init.form;
  } else if (init.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(init.json);
  }
  const token = init.anonymous ? null : (init.token ?? config.accessToken());
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(buildUrl(path, init.query), {
      method,
      headers,
      body,
      signal: init.signal ?? null,
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    if ((err as Error)?.name === "AbortError") throw err;
    throw new ApiError({ status: 0, code: "network_error", title: "Network error", detail: "The server could not be reached." });
  }
  if (response.status === 401 && token && !init.retried && (await config.refresh())) {
    return request<T>(method, path, { ...init, retried: true });
  }
  if (!response.ok) throw new ApiError(await toProblem(response));
  if (response.status === 204) return undefined as T;
  if (init.responseType === "text") return (await response.text()) as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}
