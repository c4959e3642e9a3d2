/** The console's HTML shell: everything else is the bundled script and stylesheet it names. */
export function pageHtml(entry: { script: string; style: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>Framewire console</title>
<link rel="icon" href="/app/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/app/${entry.style}">
<script type="module" src="/app/${entry.script}"></script>
</head>
<body>
<div id="root"><noscript><p>The Framewire console needs JavaScript. The API itself does not: see <a href="/docs">/docs</a>.</p></noscript></div>
</body>
</html>
`;
}

/** The mark: a frame with a play wedge, in the console's accent colour. */
export const faviconSvg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="2" y="5" width="28" height="22" rx="5" fill="#4f46e5"/><path d="M13 11v10l9-5z" fill="#fff"/></svg>`;
