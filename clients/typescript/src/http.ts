// The HTTP API, typed from the OpenAPI document (`schemas/openapi.json`, the one the server
// serves at /openapi.json) by openapi-typescript; `npm run generate` regenerates the types.

import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { paths } from "./generated/openapi.js";
import type { Platform } from "./protocol.js";

export type { paths } from "./generated/openapi.js";

/** Gives the bearer token; `refresh` asks for a new one (the last was refused as expired). */
export type TokenProvider = (request: { refresh: boolean }) => string | Promise<string>;

export interface HttpOptions {
  /** The API's origin, e.g. `https://im.example.com`. */
  baseUrl: string;
  token: TokenProvider;
  /** The identity headers pulls are filtered by (broadcast audiences). */
  platform?: Platform;
  appVersion?: string;
  coreLevel?: number;
  fetch?: typeof globalThis.fetch;
}

export type TidingsHttp = Client<paths>;

/**
 * A typed client of the v1 API. Every request carries a bearer token from `token`; a 401
 * answer asks `token` for a fresh one and retries the request once.
 */
export function createHttpClient(options: HttpOptions): TidingsHttp {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: fetchImpl });
  const identity: Record<string, string> = {
    ...(options.platform && { platform: options.platform }),
    ...(options.appVersion && { app_version: options.appVersion }),
    ...(options.coreLevel !== undefined && { core_level: String(options.coreLevel) }),
  };
  const originals = new WeakMap<Request, Request>();
  const auth: Middleware = {
    async onRequest({ request }) {
      for (const [name, value] of Object.entries(identity)) {
        if (!request.headers.has(name)) request.headers.set(name, value);
      }
      request.headers.set("Authorization", `Bearer ${await options.token({ refresh: false })}`);
      const retry = request.clone();
      originals.set(request, retry);
      return request;
    },
    async onResponse({ request, response }) {
      const retry = originals.get(request);
      if (response.status !== 401 || !retry) return response;
      retry.headers.set("Authorization", `Bearer ${await options.token({ refresh: true })}`);
      return fetchImpl(retry);
    },
  };
  client.use(auth);
  return client;
}
