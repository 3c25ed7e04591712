/**
 * Server-rendered HTML with escaping by default: every value interpolated into
 * an `html` template is escaped unless it is itself SafeHtml (another template
 * or an explicit `raw`). Arrays are joined; null/undefined/false render nothing.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"'`]/g, (c) => ESC[c]!);

type Value = SafeHtml | string | number | boolean | null | undefined | Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Trusted markup only (never user input). */
export const raw = (s: string): SafeHtml => new SafeHtml(s);

/** A URL safe to put in href/src: http(s) only, anything else (javascript:, data:) becomes undefined. */
export function safeUrl(u: string | null | undefined): string | undefined {
  if (!u) return undefined;
  try {
    const url = new URL(u);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

export interface LayoutOptions {
  title: string;
  body: SafeHtml;
  scripts?: string[];
  /** The name in the top bar: TrustLane by default, the bank's name on a sandbox bank's pages. */
  brand?: string;
}

export function layout({ title, body, scripts = [], brand = 'TrustLane' }: LayoutOptions): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${brand}</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
${scripts.map((s) => html`<script src="${s}" defer></script>`)}
</head>
<body>
<header class="topbar"><span class="brand">${brand}</span></header>
<main class="page">
${body}
</main>
</body>
</html>`.value;
}
