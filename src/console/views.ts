/** The console's page frame: top bar, left panel ("Applications", …) and content. */
import { html, raw, type SafeHtml } from '../http/html.js';

export type NavItem = 'applications' | 'tokens' | 'audit';

export interface ConsolePage {
  title: string;
  body: SafeHtml;
  /** signed-in pages show the left panel */
  nav?: { active: NavItem; email: string; csrf: string };
  scripts?: string[];
}

export function consoleLayout(p: ConsolePage): string {
  const link = (id: NavItem, href: string, label: string) =>
    html`<li><a href="${href}"${p.nav?.active === id ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${p.title} · TrustLane Console</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
${(p.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}
</head>
<body class="console">
<a class="skip" href="#main">Skip to content</a>
<header class="topbar"><a class="brand" href="/console">TrustLane Console</a>
${p.nav ? html`<span class="who"><span class="muted-inv">${p.nav.email}</span>
<form method="post" action="/console/logout" class="inline"><input type="hidden" name="csrf" value="${p.nav.csrf}"><button type="submit" class="link">Sign out</button></form></span>` : raw('')}
</header>
<div class="${p.nav ? 'shell' : 'shell single'}">
${p.nav ? html`<nav class="sidebar" aria-label="Console">
<ul>
${link('applications', '/console/applications', 'Applications')}
${link('tokens', '/console/tokens', 'API tokens')}
${link('audit', '/console/audit', 'Audit log')}
</ul>
</nav>` : raw('')}
<main id="main" class="content">
${p.body}
</main>
</div>
</body>
</html>`.value;
}

export const errorList = (errors: string[]) =>
  errors.length ? html`<div class="card error" role="alert"><ul>${errors.map((e) => html`<li>${e}</li>`)}</ul></div>` : raw('');

export const notice = (text: string | undefined) => (text ? html`<p class="notice" role="status">${text}</p>` : raw(''));
