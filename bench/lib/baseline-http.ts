/**
 * The HTTP stack the baselines drive: undici `request` on one `Agent` per session, tough-cookie for the jar, and
 * redirects followed hop by hop with the jar consulted on each hop (as our cookie and redirect interceptors do).
 */
import { Agent, request } from 'undici';

export interface BaselineResponse {
  statusCode: number;
  url: string;
  body: Buffer;
}

const MAX_REDIRECTS = 10;

/** The two jar methods the loop uses (Crawlee's and ours resolve tough-cookie from different folders). */
export interface Jar {
  getCookieStringSync(url: string): string;
  setCookieSync(cookie: string, url: string, options?: { ignoreError?: boolean }): unknown;
}

export async function fetchWithJar(agent: Agent, jar: Jar, url: string): Promise<BaselineResponse> {
  let target = url;
  for (let hop = 0; ; hop += 1) {
    const cookie = jar.getCookieStringSync(target);
    const response = await request(target, { dispatcher: agent, headers: cookie ? { cookie } : {} });
    const setCookie = response.headers['set-cookie'];
    for (const raw of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      jar.setCookieSync(raw, target, { ignoreError: true });
    }
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      await response.body.dump();
      if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects from ${url}`);
      target = new URL(location, target).href;
      continue;
    }
    return {
      statusCode: response.statusCode,
      url: target,
      body: Buffer.from(await response.body.arrayBuffer()),
    };
  }
}

/** One agent per key (session id), created on first use and closed together. */
export class AgentPerSession {
  readonly #agents = new Map<string, Agent>();

  get(id: string): Agent {
    let agent = this.#agents.get(id);
    if (!agent) {
      agent = new Agent();
      this.#agents.set(id, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents.values()].map((agent) => agent.close()));
    this.#agents.clear();
  }
}
