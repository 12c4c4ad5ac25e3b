/**
 * The operator's credential: a JWT (sent as a bearer token) or an API key. It is given in the
 * address fragment (`/dashboard/#token=…` or `#key=…`, never sent to any server and removed from
 * the address bar at once) or pasted into the sign-in form, and kept in sessionStorage: it
 * lives as long as the tab.
 */
import type { RecoupEndpoint } from '../client';

const STORAGE_KEY = 'recoup.dashboard.credential';

export interface Credential {
  kind: 'jwt' | 'apiKey';
  secret: string;
}

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

export function credentialOf(secret: string): Credential | null {
  const trimmed = secret.trim();
  if (!trimmed) return null;
  return { kind: JWT_SHAPE.test(trimmed) ? 'jwt' : 'apiKey', secret: trimmed };
}

/** Takes a credential out of the address fragment, if one is there, and stores it. */
export function takeCredentialFromFragment(): void {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const secret = params.get('token') ?? params.get('key');
  if (secret === null) return;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  const credential = credentialOf(secret);
  if (credential) saveCredential(credential);
}

export function loadCredential(): Credential | null {
  const stored = sessionStorage.getItem(STORAGE_KEY);
  return stored ? credentialOf(stored) : null;
}

export function saveCredential(credential: Credential): void {
  sessionStorage.setItem(STORAGE_KEY, credential.secret);
}

export function clearCredential(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** How client.ts's request() carries the credential (the server accepts either form). */
export function endpointOf(credential: Credential, url: string): RecoupEndpoint {
  return credential.kind === 'jwt' ? { url, token: credential.secret } : { url, apiKey: credential.secret };
}

/** What the graphql-ws connection proves itself with, once, when it opens. */
export function connectionParamsOf(credential: Credential): Record<string, string> {
  return credential.kind === 'jwt' ? { authorization: `Bearer ${credential.secret}` } : { apiKey: credential.secret };
}
