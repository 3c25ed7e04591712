import { html, layout, raw, type SafeHtml } from './html.js';

const DESCRIPTIONS: Record<string, string> = {
  invalid_client: 'The application is not known to TrustLane, or it presented wrong credentials. If you are the developer, check the client_id.',
  invalid_redirect_uri: 'The application asked TrustLane to return you to an address it has not registered, so TrustLane stopped here to keep you safe. If you are the developer, register this Redirect URL for your application.',
  invalid_request: 'The request could not be understood.',
  session_not_found: 'This sign-in has expired or was already finished. Go back to the application and start again.',
  not_found: 'There is nothing at this address.',
  server_error: 'Something went wrong on our side. Please try again in a moment.',
};

export function errorPage(opts: { title?: string; error: string; description?: string | undefined; hint?: SafeHtml }): string {
  const title = opts.title ?? 'Sign-in could not continue';
  return layout({
    title,
    body: html`<section class="card error" role="alert">
  <h1>${title}</h1>
  <p>${opts.description || DESCRIPTIONS[opts.error] || 'The request could not be completed.'}</p>
  <p class="muted">Error code: <code>${opts.error}</code></p>
  ${opts.hint ?? raw('')}
</section>`,
  });
}
